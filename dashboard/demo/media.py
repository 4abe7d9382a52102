"""Small real footage files for the demo's owner answers, made with PyAV (ffmpeg's libraries).

Each is what a home camera or recorder hands its owner, in miniature: an MP4 (H.264) clip, a JPEG
still, or a DVR export ZIP holding a proprietary-looking ``.dav`` recording that no browser plays.
The picture is a street in front of a house with somebody walking past, noise on it like a cheap
sensor's, and the camera's clock burnt into the top corner (the recorder's own time in UK local
time, which is what the owner's stated clock difference corrects). The clip's recording time (its
``creation_time``, in UTC as MP4 keeps it) is the same clock.

Everything is a pure function of its arguments (the noise comes from ``seed``), so the same demo
seed writes the same bytes and the same SHA-256 (x264 is deterministic for given settings).
Tiny on purpose (320x240, a few seconds): encoding one clip takes well under a tenth of a second.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import struct
import zipfile
from pathlib import Path

import av
import numpy as np

from dashboard.core.uktime import UK

WIDTH, HEIGHT = 320, 240
FPS = 12  # what home recorders often keep, to save space
# A 3x5 bitmap font for the burnt-in clock (digits and the separators a recorder shows).
_GLYPHS = {
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
    "-": ("000", "000", "111", "000", "000"),
    ":": ("000", "010", "000", "010", "000"),
    " ": ("000", "000", "000", "000", "000"),
    "C": ("111", "100", "100", "100", "111"),
    "H": ("101", "101", "111", "101", "101"),
}
_SCALE = 2


def _glyph_masks() -> dict[str, np.ndarray]:
    out = {}
    for ch, rows in _GLYPHS.items():
        small = np.array([[c == "1" for c in row] for row in rows], dtype=bool)
        out[ch] = np.kron(small, np.ones((_SCALE, _SCALE), dtype=bool))
    return out


_MASKS = _glyph_masks()


def burn_text(img: np.ndarray, text: str, x: int = 6, y: int = 6) -> None:
    """Draw ``text`` (digits, '-', ':', ' ', 'C', 'H') in white on a dark box, in place."""
    w = len(text) * 4 * _SCALE
    img[y - 2 : y + 5 * _SCALE + 2, x - 2 : x + w] = img[y - 2 : y + 5 * _SCALE + 2, x - 2 : x + w] // 4
    for i, ch in enumerate(text):
        mask = _MASKS[ch]
        x0 = x + i * 4 * _SCALE
        img[y : y + mask.shape[0], x0 : x0 + mask.shape[1]][mask] = 235


def _background(view: int) -> np.ndarray:
    """A street as one of a few camera views sees it (sky, house wall, pavement, road, kerb)."""
    img = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    y = np.arange(HEIGHT)[:, None]
    sky = y < 60
    wall = (y >= 60) & (y < 120)
    pavement = (y >= 120) & (y < 150)
    road = y >= 150
    tone = (0, 12, -10, 6)[view % 4]
    img[..., :] = np.where(sky[..., None], np.array([70, 80, 95]) + tone, img)
    img[..., :] = np.where(wall[..., None], np.array([120, 84, 66]) + tone, img)
    img[..., :] = np.where(pavement[..., None], np.array([128, 128, 122]) + tone, img)
    img[..., :] = np.where(road[..., None], np.array([60, 62, 66]) + tone, img)
    img[148:151, :] = 190  # kerb
    img[196:199, 20::60] = 200  # centre line dashes
    for k in range(0, WIDTH, 60):  # windows and a door
        img[72:100, k + 12 : k + 38] = (40, 48, 60)
    img[80:120, 150 + 10 * view : 176 + 10 * view] = (50, 35, 30)
    return img


def _frame(base: np.ndarray, i: int, n: int, rng: np.random.Generator, clock: dt.datetime, walker: int) -> np.ndarray:
    img = base.copy()
    # somebody walking along the pavement (left to right, or back), and a car on the road now and then
    t = i / max(1, n - 1)
    px = int((t if walker % 2 == 0 else 1 - t) * (WIDTH - 24))
    bob = (i // 3) % 2
    img[108 + bob : 142, px + 6 : px + 16] = (28, 30, 36)  # body
    img[100 + bob : 108 + bob, px + 8 : px + 14] = (170, 130, 110)  # head
    if walker >= 2:
        cx = int(((i * 9) % (WIDTH + 120)) - 100)
        x0, x1 = max(0, cx), min(WIDTH, cx + 90)
        if x1 > x0:
            img[165:195, x0:x1] = (150, 150, 160)
    noise = rng.integers(-7, 8, (HEIGHT, WIDTH, 1), dtype=np.int16)
    img = np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    burn_text(img, f"{clock.astimezone(UK):%Y-%m-%d %H:%M:%S}")  # recorders show local time
    burn_text(img, f"CH{walker % 4 + 1:02d}", x=WIDTH - 40, y=HEIGHT - 18)
    return img


def _encode(out, codec_name: str, frames, *, rate: int) -> None:
    stream = out.add_stream(codec_name, rate=rate)
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    stream.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "26"}
    stream.thread_count = 1  # one thread: the same bytes on any machine
    for img in frames:
        for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def _frames(recorded_at: dt.datetime, seconds: float, seed: int, view: int):
    rng = np.random.default_rng(seed)
    base = _background(view)
    n = round(seconds * FPS)
    for i in range(n):
        clock = recorded_at + dt.timedelta(seconds=i // FPS)
        yield _frame(base, i, n, rng, clock, view)


def _creation_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def mp4_clip(path: Path, *, recorded_at: dt.datetime, seconds: float, seed: int, view: int = 0) -> Path:
    """An MP4 (H.264) clip starting at ``recorded_at`` (aware; the camera's clock), faststart."""
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
        out.metadata["creation_time"] = _creation_time(recorded_at)
        _encode(out, "libx264", _frames(recorded_at, seconds, seed, view), rate=FPS)
    return path


def jpeg_still(path: Path, *, taken_at: dt.datetime, seed: int, view: int = 0) -> Path:
    """One picture from the camera (what an app's 'save snapshot' writes)."""
    img = next(_frames(taken_at, 1.0, seed, view))
    with av.open(str(path), mode="w", format="image2", options={"update": "1"}) as out:
        stream = out.add_stream("mjpeg", rate=1)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuvj420p"
        for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuvj420p")):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def dav_bytes(*, recorded_at: dt.datetime, seconds: float, seed: int, view: int = 0) -> bytes:
    """A ``.dav``-like recording: the H.264 pictures each wrapped in a 'DHAV' header and a 'dhav'
    trailer, as Dahua recorders store them. Only like it (not exact enough for the maker's player):
    it stands in for the proprietary formats a browser cannot play, which officers download."""
    raw = io.BytesIO()
    with av.open(raw, mode="w", format="h264") as out:
        _encode(out, "libx264", _frames(recorded_at, seconds, seed, view), rate=FPS)
    data = raw.getvalue()
    # split the Annex B stream at each access unit delimiter-less picture start (SPS or slice NAL)
    starts = [i for i in range(len(data) - 4) if data[i : i + 4] == b"\x00\x00\x00\x01"]
    starts.append(len(data))
    chunks = []
    stamp = int(recorded_at.timestamp())
    for seq, (a, b) in enumerate(zip(starts, starts[1:])):
        payload = data[a:b]
        kind = 0xFD if (payload[4] & 0x1F) in (5, 7, 8) else 0xFC
        header = (
            b"DHAV"
            + struct.pack("<BBBBIII", kind, 0, 0, 0, seq, 24 + len(payload) + 8, stamp + seq // FPS)
            + b"\x00" * 4
        )
        chunks.append(header + payload + b"dhav" + struct.pack("<I", 24 + len(payload) + 8))
    return b"".join(chunks)


def dvr_export_zip(
    path: Path, *, recorded_at: dt.datetime, seconds: float, seed: int, channel: int = 2, view: int = 0
) -> Path:
    """What a recorder's 'export to USB' writes: the channel's recording as a ``.dav`` file and a
    small text log of the export (its checksum included), in one ZIP. The times in the names and
    the log are the recorder's clock; the ZIP's own dates are fixed (the same bytes every time)."""
    dav = dav_bytes(recorded_at=recorded_at, seconds=seconds, seed=seed, view=view)
    start = recorded_at.astimezone(UK)  # a recorder names and logs its files in its local time
    end = start + dt.timedelta(seconds=seconds)
    name = f"ch{channel:02d}_{start:%Y%m%d%H%M%S}_{end:%Y%m%d%H%M%S}.dav"
    log = (
        f"Export log\r\nChannel: {channel}\r\nFrom: {start:%Y-%m-%d %H:%M:%S}\r\n"
        f"To: {end:%Y-%m-%d %H:%M:%S}\r\nFile: {name}\r\nSize: {len(dav)}\r\n"
        f"SHA256: {hashlib.sha256(dav).hexdigest()}\r\n"
    )
    stamp = (start.year, start.month, start.day, start.hour, start.minute, start.second // 2 * 2)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for member, data in ((name, dav), ("export_log.txt", log.encode("ascii"))):
            info = zipfile.ZipInfo(member, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return path
