"""Real media files for tests, made with PyAV (its wheels carry FFmpeg and libx264): no binaries
are downloaded and nothing is shipped in the repository."""
from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_video(path: Path, *, seconds: float = 2.0, width: int = 320, height: int = 240, fps: int = 25,
               codec: str = "libx264", recorded_at: dt.datetime | None = None, noise: bool = False,
               seed: int = 0, bitrate: int | None = None) -> Path:
    """A video of ``seconds`` at ``fps`` (a moving bar; ``noise`` makes it hard to compress, so big),
    with the container's ``creation_time`` set to ``recorded_at`` when given."""
    rng = np.random.default_rng(seed)
    with av.open(str(path), "w") as out:
        if recorded_at is not None:
            out.metadata["creation_time"] = recorded_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if bitrate:
            stream.bit_rate = bitrate
        stream.time_base = Fraction(1, fps)
        for i in range(int(seconds * fps)):
            img = (rng.integers(0, 256, (height, width, 3), dtype=np.uint8) if noise
                   else np.full((height, width, 3), 40, dtype=np.uint8))
            x = (i * 7) % max(1, width - 20)
            img[:, x:x + 20] = (230, 200, 30)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
