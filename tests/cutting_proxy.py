"""A TCP proxy on 127.0.0.1 that can cut a connection in the middle of an upload: a dropped
mobile connection, for tests of resumable uploads. Everything else passes through untouched.

    with CuttingProxy(app_port) as proxy:
        proxy.cut_next_upload_after(2_000_000)  # the next PATCH dies after 2 MB of it has gone through
        ... browse http://127.0.0.1:{proxy.port} ...
        proxy.cut.wait(30)                       # it happened
"""

from __future__ import annotations

import socket
import threading


class CuttingProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.cut = threading.Event()
        self._armed_after: int | None = None
        self._lock = threading.Lock()
        self._closing = False
        self.cut_bytes = 0  # how far into the upload's request the cut came
        self.requests: list[bytes] = []  # the first line of each request seen (for a failing test's message)

    def cut_next_upload_after(self, n_bytes: int) -> None:
        with self._lock:
            self._armed_after, self.cut_bytes = n_bytes, 0
            self.cut.clear()

    def __enter__(self) -> CuttingProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._closing = True
        self.listener.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=30)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        # A keep-alive connection carries several requests; a PATCH's start is where its bytes are counted from.
        counting, seen = False, 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client:
                    if data[:8].split(b" ")[0] in (b"PATCH", b"GET", b"HEAD", b"POST", b"DELETE", b"OPTIONS"):
                        self.requests.append(data.split(b"\r\n", 1)[0][:80])
                    if data.startswith(b"PATCH "):
                        counting, seen = True, 0
                    elif data[:8].split(b" ")[0] in (b"GET", b"HEAD", b"POST", b"DELETE", b"OPTIONS"):
                        counting = False
                    if counting:
                        seen += len(data)
                        with self._lock:
                            due = self._armed_after is not None and seen >= self._armed_after
                            if due:
                                self._armed_after, self.cut_bytes = None, seen
                        if due:  # this chunk never arrives: the connection dies under it
                            self.cut.set()
                            for sock in (src, dst):
                                try:
                                    sock.shutdown(socket.SHUT_RDWR)
                                except OSError:
                                    pass
                            return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass
