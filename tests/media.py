"""Real media made in the test with PyAV (ffmpeg's libraries): no fixtures checked in.

Each maker writes a small file and returns its path; pictures are moving gradients with noise so the
encoders produce frames of realistic size.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import av
import numpy as np

RECORDED_AT = "2026-11-30T21:14:05.000000Z"


def _frames(n: int, width: int, height: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    for i in range(n):
        img = np.zeros((height, width, 3), dtype=np.uint8)
        img[..., 0] = (x * 2 + i * 7) % 256
        img[..., 1] = (y * 3 + i * 5) % 256
        img[..., 2] = rng.integers(0, 64, (height, width), dtype=np.uint8)
        yield av.VideoFrame.from_ndarray(img, format="rgb24")


def make_video(
    path: Path,
    *,
    container: str = "mp4",
    codec: str = "libx264",
    seconds: float = 2.0,
    fps: int = 25,
    width: int = 320,
    height: int = 240,
    recorded_at: str | None = RECORDED_AT,
    faststart: bool = False,
    seed: int = 1,
) -> Path:
    """A ``seconds``-long video; ``recorded_at`` goes into the container's creation_time."""
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), mode="w", format=container, options=options) as out:
        if recorded_at:
            out.metadata["creation_time"] = recorded_at
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast"}
        for frame in _frames(int(seconds * fps), width, height, seed):
            frame = frame.reformat(format=stream.pix_fmt)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def make_jpeg(path: Path, width: int = 640, height: int = 480) -> Path:
    frame = next(_frames(1, width, height))
    with av.open(str(path), mode="w", format="image2", options={"update": "1"}) as out:
        stream = out.add_stream("mjpeg", rate=1)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuvj420p"
        for packet in stream.encode(frame.reformat(format="yuvj420p")):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def truncate_half(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def pe_header() -> bytes:
    """The start of a Windows program: DOS stub 'MZ', e_lfanew pointing at 'PE\\0\\0'."""
    dos = bytearray(b"MZ" + b"\x90\x00" * 29 + b"\x00" * 2)
    dos += b"\x00" * (0x3C - len(dos))
    dos += (0x80).to_bytes(4, "little")
    dos += b"\x00" * (0x80 - len(dos))
    return bytes(dos) + b"PE\x00\x00" + b"\x4c\x01" + b"\x00" * 200


def zip_bomb(path: Path, unpacked_mb: int = 200) -> Path:
    """A ZIP holding ``unpacked_mb`` MB of zeros as 'export.dav' (deflated to a few hundred kB)."""
    block = b"\x00" * (1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("export.dav", "w", force_zip64=True) as f:
            for _ in range(unpacked_mb):
                f.write(block)
    return path


def dvr_zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path
