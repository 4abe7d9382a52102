"""Running the outbox: a background thread in each web process, or ``python -m dashboard outbox run``.

Several senders may run at once (gunicorn's worker processes, the command): each message is claimed
by exactly one (``outbox.claim``). A sender sends whatever is due, then sleeps until woken (``wake()``,
called by the pages and the API after they queue messages in this process) or for ``POLL_S`` seconds
(messages queued by another process, retries coming due).
"""

from __future__ import annotations

import logging
import threading

from dashboard.delivery.outbox import Sender

log = logging.getLogger(__name__)

POLL_S = 3.0
_WAKE = threading.Event()


def wake() -> None:
    """Messages were queued: a sender sleeping in this process starts at once."""
    _WAKE.set()


def sender_for(rt) -> Sender:
    """A sender with the runtime's settings, database and force name."""
    return Sender(rt.settings, rt.sessions, rt.brand.force_name)


class OutboxRunner:
    """Sends until ``stop()``; the message being sent when it is stopped is finished first."""

    def __init__(self, sender: Sender, poll_s: float = POLL_S) -> None:
        self.sender, self.poll_s = sender, poll_s
        self._stop = threading.Event()
        self.handled = 0

    def stop(self) -> None:
        self._stop.set()
        _WAKE.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self, *, once: bool = False) -> int:
        while not self._stop.is_set():
            _WAKE.clear()
            try:
                self.handled += self.sender.run_once(should_stop=self._stop.is_set)
            except Exception:  # a database hiccup: try again at the next poll
                log.exception("the outbox could not be read")
            if once:
                break
            _WAKE.wait(self.poll_s)
        return self.handled


_started: OutboxRunner | None = None
_lock = threading.Lock()


def start_in_background(sender: Sender) -> OutboxRunner:
    """One daemon thread per process (a second call for the same database returns the first runner;
    for another database, as in tests, the first is stopped)."""
    global _started
    with _lock:
        if _started is not None and _started.sender.sessions is not sender.sessions:
            _started.stop()
        if _started is None or _started.stopping:
            runner = OutboxRunner(sender)
            threading.Thread(target=runner.run, name="outbox", daemon=True).start()
            _started = runner
        return _started
