"""Short clips of the codecs and containers people upload, written with PyAV (FFmpeg's encoders).

Run as ``python -m tests.codec_clips FOLDER``, in a process of its own: decord loads its own libvpx into the
process's global symbols, after which FFmpeg's libvpx encoders refuse to start ("ABI version mismatch"), and
any test process has decord loaded by then.  Imports nothing of ``pipeline`` for that reason.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

FRAMES = 24
FPS = 24


@dataclass(frozen=True)
class Clip:
    """One clip: a codec in a container, and what sets it apart."""

    name: str  # the file's name
    codec: str  # FFmpeg's encoder
    options: dict[str, str] = field(default_factory=dict)
    pix_fmt: str = "yuv420p"
    size: tuple[int, int] = (160, 96)  # stored (width, height)
    rotation: int = 0  # display rotation flag, degrees counter-clockwise
    audio: str | None = None  # an audio encoder: the file gets an audio track
    audio_first: bool = False  # the audio stream comes before the video stream
    vfr: bool = False  # frames at irregular times, as phones record in low light
    frames: int = FRAMES


_X264 = {"preset": "ultrafast", "g": "12"}
_X265 = {"preset": "ultrafast", "g": "12", "x265-params": "log-level=error"}

CLIPS = [
    Clip("h264-baseline.mp4", "libx264", {**_X264, "profile": "baseline"}),
    Clip("h264-main-bframes.mp4", "libx264", {**_X264, "profile": "main", "bf": "3"}),
    Clip("h264-high-bframes.mov", "libx264", {**_X264, "profile": "high", "bf": "2"}),
    Clip("h264-high.mkv", "libx264", {**_X264, "profile": "high", "bf": "0"}),
    Clip("h264-high.avi", "libx264", {**_X264, "profile": "high", "bf": "0"}),
    Clip("hevc.mp4", "libx265", {**_X265, "bf": "0"}),
    Clip("hevc-bframes.mov", "libx265", {**_X265, "bf": "3"}),
    Clip("hevc-10bit.mov", "libx265", {**_X265, "bf": "3"}, pix_fmt="yuv420p10le"),
    Clip("hevc-10bit.mkv", "libx265", {**_X265, "bf": "0"}, pix_fmt="yuv420p10le"),
    Clip("vp8.webm", "libvpx", {"g": "12", "deadline": "realtime", "cpu-used": "8"}),
    Clip("vp9.webm", "libvpx-vp9", {"g": "12", "deadline": "realtime", "cpu-used": "8"}),
    Clip("vp9-altref.webm", "libvpx-vp9", {"g": "24", "auto-alt-ref": "1", "lag-in-frames": "16", "cpu-used": "8"}),
    Clip("vp9.mkv", "libvpx-vp9", {"g": "12", "deadline": "realtime", "cpu-used": "8"}),
    Clip("vp9.mp4", "libvpx-vp9", {"g": "12", "deadline": "realtime", "cpu-used": "8"}),
    Clip("av1.mp4", "libsvtav1", {"g": "12", "preset": "12"}),
    Clip("av1.webm", "libsvtav1", {"g": "12", "preset": "12"}),
    Clip("mpeg4.avi", "mpeg4", {"g": "12"}),
    Clip("mpeg4-bframes.mp4", "mpeg4", {"g": "12", "bf": "2"}),
    Clip("mjpeg.avi", "mjpeg", pix_fmt="yuvj420p"),
    Clip("mjpeg.mov", "mjpeg", pix_fmt="yuvj422p"),
    Clip("prores.mov", "prores_ks", {"profile": "2"}, pix_fmt="yuv422p10le"),
    Clip("h264-rotated-90.mp4", "libx264", _X264, rotation=90),
    Clip("h264-rotated-180.mp4", "libx264", _X264, rotation=180),
    Clip("h264-rotated-270.mov", "libx264", {**_X264, "bf": "2"}, rotation=270),
    Clip("h264-vfr.mp4", "libx264", _X264, vfr=True),
    Clip("hevc-vfr-bframes.mov", "libx265", {**_X265, "bf": "3"}, vfr=True),
    Clip("vp9-vfr.webm", "libvpx-vp9", {"g": "12", "deadline": "realtime", "cpu-used": "8"}, vfr=True),
    Clip("h264-322x242.mp4", "libx264", _X264, size=(322, 242)),
    Clip("vp9-odd-161x97.webm", "libvpx-vp9", {"g": "12", "deadline": "realtime", "cpu-used": "8"}, size=(161, 97)),
    Clip("mjpeg-odd-161x97.avi", "mjpeg", pix_fmt="yuvj444p", size=(161, 97)),
    Clip("h264-aac.mp4", "libx264", _X264, audio="aac"),
    Clip("vp9-opus.webm", "libvpx-vp9", {"g": "12", "deadline": "realtime", "cpu-used": "8"}, audio="libopus"),
    Clip("h264-audio-first.mkv", "libx264", _X264, audio="aac", audio_first=True),
    Clip("hevc-audio-first.mp4", "libx265", {**_X265, "bf": "3"}, audio="aac", audio_first=True),
]


def scene(index: int, width: int, height: int) -> np.ndarray:
    """Gradients, a moving block and noise: every frame differs, and a wrong frame or a flipped one shows."""
    y, x = np.mgrid[0:height, 0:width]
    frame = np.stack([x * 255 // width, y * 255 // height, (x + y + index * 9) % 256], axis=-1).astype(np.uint8)
    frame[: height // 4, : width // 4] = (230, 20, 20)  # top-left marker: shows the orientation
    left = index * 5 % width
    frame[height // 2: height // 2 + height // 5, left:left + width // 6] = (240, 220, 30)
    frame += np.random.default_rng(index).integers(0, 24, frame.shape, dtype=np.uint8)
    return frame


def frame_times(clip: Clip) -> list[int]:
    """When each frame is shown, in milliseconds: every 1/FPS s, or irregularly for a VFR clip."""
    if not clip.vfr:
        return [round(i * 1000 / FPS) for i in range(clip.frames)]
    gaps = [round(1000 / FPS * (1 + 0.8 * (i % 3 == 2) + 0.4 * (i % 5 == 0))) for i in range(clip.frames)]
    return [sum(gaps[:i]) for i in range(clip.frames)]


def write(clip: Clip, folder: Path) -> Path:
    import av

    path = folder / clip.name
    width, height = clip.size
    with av.open(str(path), "w") as container:
        audio = container.add_stream(clip.audio, rate=48000) if clip.audio and clip.audio_first else None
        video = container.add_stream(clip.codec, rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, clip.pix_fmt
        video.options = dict(clip.options)
        if clip.vfr:
            video.codec_context.time_base = Fraction(1, 1000)
        if clip.rotation:
            video.set_display_rotation(clip.rotation)
        if clip.audio and audio is None:
            audio = container.add_stream(clip.audio, rate=48000)
        for index, shown in enumerate(frame_times(clip)):
            frame = av.VideoFrame.from_ndarray(scene(index, width, height), format="rgb24")
            if clip.vfr:
                frame.pts, frame.time_base = shown, Fraction(1, 1000)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if audio is not None:
            _write_audio(container, audio, seconds=frame_times(clip)[-1] / 1000 + 1 / FPS)
    return path


def _write_audio(container, stream, seconds: float) -> None:
    import av

    samples = int(seconds * 48000)
    tone = (0.2 * np.sin(np.arange(samples) * 2 * np.pi * 440 / 48000)).astype(np.float32)[None]
    size = stream.codec_context.frame_size or 1024
    for start in range(0, samples, size):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, start:start + size]), format="flt", layout="mono")
        frame.sample_rate, frame.pts = 48000, start
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    for clip in CLIPS:
        write(clip, folder)
