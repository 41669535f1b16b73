"""Reading videos in chunks: decord where it is proven right for the codec, PyAV elsewhere.

* Frames are resized at decode time (faster, and about 5x lighter at 1080p),
  and only the sampled frames of one chunk are ever in memory.
* decord reads only what it is proven to read frame for frame as FFmpeg
  itself does (``tests/test_codecs.py``): 8-bit 4:2:0 H.264 and HEVC of even
  size, upright, without non-reference frames, in MP4/MOV or Matroska.
  Everything else (B-frames, VP8, VP9, AV1, MPEG-4 Part 2, MJPEG, ProRes,
  10-bit, odd sizes, AVI, rotation flags) is read by the PyAV reader of
  :mod:`pipeline.pyav_reader`, which also leaves non-reference frames
  undecoded between sampled frames.  :func:`probe` chooses, once per video,
  and the result records it.
* Phone videos are often stored landscape with a rotation flag.  decord
  0.6 mishandles that flag (at a decode-time size it flips 90-degree videos
  instead of turning them; at native size it returns 4 garbled channels), so
  rotated videos are decoded with PyAV and turned here with ``np.rot90``, the
  way ffmpeg's autorotate does: the model always sees upright frames.
* A file that is not a readable video fails with :class:`UnreadableVideo`, a
  message for people.  Damage inside an otherwise good file only costs the
  frames it hits: they are reported as a gap and the rest goes on.  A frame
  decord fails on is read by PyAV before it is given up: only frames FFmpeg
  itself cannot decode count as damaged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import UnreadableVideo
from .pyav_reader import PacketIndex, PyAVReader, has_nonreference_frames

try:  # decord's own error type is not a RuntimeError
    from decord._ffi.base import DECORDError
except ImportError:  # pragma: no cover - decord always ships it
    DECORDError = RuntimeError

_IMAGE_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "webp_pipe", "gif", "tiff_pipe", "apng"}


@dataclass(frozen=True)
class VideoInfo:
    frame_count: int
    fps: float
    width: int  # as displayed, after rotation
    height: int
    rotation: int  # degrees counter-clockwise applied to stored frames to display them (0, 90, 180, 270)
    codec: str
    reader: str  # "decord" or "pyav"
    size_bytes: int

    @property
    def duration(self) -> float:
        return self.frame_count / self.fps if self.fps else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "duration": self.duration}


def _not_readable(reason: str) -> UnreadableVideo:
    return UnreadableVideo(f"The file is not a readable video ({reason}).")


def probe(path: str | Path) -> VideoInfo:
    """Inspect a file; raise :class:`UnreadableVideo` unless it is a video we can decode."""
    import av

    path = Path(path)
    size = path.stat().st_size if path.exists() else 0
    if size == 0:
        raise _not_readable("the file is empty" if path.exists() else "the file does not exist")
    try:
        with av.open(str(path)) as container:
            if container.format.name in _IMAGE_FORMATS:
                raise _not_readable("it is a still image")
            if not container.streams.video:
                raise _not_readable("it contains no video stream")
            stream = container.streams.video[0]
            first = next(container.decode(stream), None)
            if first is None:
                raise _not_readable("no frame could be decoded")
            codec = stream.codec_context.name
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 0.0
            rotation = int(round(first.rotation or 0)) % 360
            stored_w, stored_h = first.width, first.height
            decord_proven = _decord_proven(container.format.name, codec, first.format.name, stored_w, stored_h)
    except UnreadableVideo:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, StopIteration):
        # in words: the exception's class name ("InvalidDataError") means nothing to the person who sent the file
        raise _not_readable("FFmpeg could not make sense of its contents") from None
    reader, frame_count, fps = _reader_for(path, decord_proven, rotation, fps)
    if frame_count < 2 or not fps or not math.isfinite(fps):
        raise _not_readable("it has fewer than two frames or no frame rate")
    width, height = (stored_h, stored_w) if rotation in (90, 270) else (stored_w, stored_h)
    return VideoInfo(frame_count, fps, width, height, rotation, codec, reader, size)


#: What decord is proven to read as FFmpeg itself decodes it, frame for frame at every seek (tests/test_codecs.py):
#: the codecs the design names it for, in 8-bit 4:2:0, in MP4/MOV and Matroska.  Outside this it was not: 10-bit
#: HEVC and odd-sized VP9 come out in other colours (decord's FFmpeg 4.1 converts them otherwise), MPEG-4 Part 2 a
#: level off here and there (its IDCT is not bit-exact across FFmpeg versions), H.264 in AVI as another frame
#: after a seek, and a real 1768x994 VP9 webm failed from about 12 frames after each keyframe on; rotation flags
#: it mishandles (see the module's docstring).
_DECORD_CONTAINERS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"})
_DECORD_CODECS = frozenset({"h264", "hevc"})
_DECORD_PIXEL_FORMATS = frozenset({"yuv420p", "yuvj420p"})


def _decord_proven(container: str, codec: str, pixel_format: str, width: int, height: int) -> bool:
    return (container in _DECORD_CONTAINERS and codec in _DECORD_CODECS and pixel_format in _DECORD_PIXEL_FORMATS
            and width % 2 == 0 and height % 2 == 0)


def _reader_for(path: Path, decord_proven: bool, rotation: int, fps: float) -> tuple[str, int, float]:
    """Which reader decodes the video, and its frame count and rate as that reader numbers the frames.

    decord where it is proven (:func:`_decord_proven`) and there are no non-reference frames, which the PyAV
    reader skips between sampled frames (`benchmarks/decode_bench.py` measures both); else PyAV, and decord
    only where PyAV cannot number the frames (never for a rotated video, which decord cannot turn upright).
    """
    if rotation:
        order: tuple[str, ...] = ("pyav",)
    else:
        order = ("decord", "pyav") if decord_proven and not _skippable(path) else ("pyav", "decord")
    reasons = []
    for reader in order:
        try:
            if reader == "pyav":
                index = PacketIndex.of(path)
                return "pyav", len(index), _rate(index, fps)
            import decord

            video = decord.VideoReader(str(path), num_threads=0, width=32, height=32)
            return "decord", len(video), _rate(_packet_index(path), float(video.get_avg_fps()) or fps)
        except ValueError as error:  # the PyAV reader's: the packets cannot be numbered
            reasons.append(str(error))
        except (RuntimeError, DECORDError):  # e.g. AV1, which decord cannot decode
            reasons.append("it cannot be decoded")
    raise _not_readable(reasons[0])


def _rate(index: PacketIndex | None, declared: float) -> float:
    """The declared frame rate, unless the frames' timestamps show another (by over 1%, beyond their rounding).

    A frame's time is its number over the rate.  Matroska and WebM declare the rate of one frame's duration, which a
    variable-rate video (a phone's in low light, a browser's recording) does not keep to: with the declared 24 a
    VFR webm's last frame was placed 0.32 s early, 25% of its length; the timestamps' own rate places every frame
    within one frame's interval.  A constant-rate video keeps its declared rate exactly (30, not 29.99).
    """
    if index is None or len(index) < 2:
        return declared
    measured = index.rate()
    rounding = float(index.time_base) * measured / (len(index) - 1)  # a tick, relative to the time the frames span
    return measured if not declared or abs(measured / declared - 1) > 0.01 + rounding else declared


def _packet_index(path: Path) -> PacketIndex | None:
    import av

    try:
        return PacketIndex.of(path)
    except (av.error.FFmpegError, ValueError):
        return None  # no timestamps to go by: the declared rate stands


def _skippable(path: Path) -> bool:
    import av

    try:
        return has_nonreference_frames(path)
    except (av.error.FFmpegError, ValueError):
        return False  # the readers find out what they can read


def sample_indices(info: VideoInfo, sample_fps: float) -> np.ndarray:
    """Indices of the frames to analyse: about ``sample_fps`` per second of video."""
    step = max(1.0, info.fps / sample_fps)
    return np.unique(np.round(np.arange(0, info.frame_count, step)).astype(np.int64).clip(0, info.frame_count - 1))


def frame_times_us(indices: np.ndarray, fps: float) -> np.ndarray:
    """When frames ``indices`` are shown, in whole microseconds (the timestamps the pose model's filters use)."""
    return np.round(np.asarray(indices, np.float64) * 1e6 / fps).astype(np.int64)


def _upright(frames: np.ndarray, rotation: int) -> np.ndarray:
    turns = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(frames, k=turns, axes=(1, 2))) if turns else frames


class FrameReader:
    """Reads batches of frames (sorted indices) as ``(n, height, width, 3)`` uint8, upright, resized.

    ``sampled``, when given, are all the frames that will be asked for: the PyAV reader decodes them whenever it
    passes them, and skips the non-reference frames between them (see :mod:`pipeline.pyav_reader`).
    """

    def __init__(self, path: str | Path, info: VideoInfo, size: tuple[int, int], sampled: Iterable[int] | None = None):
        self.path, self.info = str(path), info
        width, height = size  # display size; decoders work in stored orientation
        self.decode_size = (height, width) if info.rotation in (90, 270) else (width, height)
        self._sampled = None if sampled is None else np.asarray(list(sampled), np.int64)
        self._decord = None
        self._pyav: PyAVReader | None = None
        self.reader = info.reader
        #: Frames PyAV read where decord was chosen: those decord failed on, or all once it failed on frame 0.
        self.fallbacks: list[int] = []
        if self.reader == "decord" and not self._decord_works():
            self.reader = "pyav"

    @property
    def frames_decoded(self) -> int | None:
        """Frames the PyAV reader has decoded so far (None for decord, which does not say)."""
        return self._pyav.frames_decoded if self._pyav is not None else None

    def _decord_works(self) -> bool:
        """decord's resize fails for some sizes; find out on the first frame, not mid-video."""
        try:
            self._read_decord(np.array([0]))
            return True
        except (RuntimeError, DECORDError):
            return False

    def read(self, indices: np.ndarray) -> np.ndarray:
        frames = self._read_with(self.reader, indices)
        if self.reader != self.info.reader:
            self.fallbacks.extend(int(index) for index in indices)
        return frames

    def _read_with(self, reader: str, indices: np.ndarray) -> np.ndarray:
        frames = self._read_decord(indices) if reader == "decord" else self._read_pyav(indices)
        return _upright(frames, self.info.rotation)

    def read_each(self, indices: np.ndarray) -> list[np.ndarray | None]:
        """The frames at ``indices``, None for those that cannot be decoded.

        In one batch while the video is sound; where a batch meets a damaged spot, frame by frame, so the
        damage costs only the frames it touches (a seek lands on the keyframe before each frame).  A frame
        decord fails on is read by PyAV (FFmpeg itself) before it is given up; :attr:`fallbacks` lists them.
        """
        try:
            return list(self.read(indices))
        except read_errors():
            pass
        return [self._read_one(int(index)) for index in indices]

    def _read_one(self, index: int) -> np.ndarray | None:
        try:
            return self.read(np.array([index]))[0]
        except read_errors():
            if self.reader == "pyav":
                return None  # FFmpeg itself cannot decode it: damaged
        try:
            frame = self._read_with("pyav", np.array([index]))[0]
        except read_errors():
            return None
        self.fallbacks.append(index)
        return frame

    def _read_decord(self, indices: np.ndarray) -> np.ndarray:
        import decord

        if self._decord is None:
            width, height = self.decode_size
            self._decord = decord.VideoReader(self.path, num_threads=0, width=width, height=height)
        try:
            frames = self._decord.get_batch([int(i) for i in indices]).asnumpy()
        except (RuntimeError, DECORDError):
            self._decord = None  # a failed seek can leave the reader unusable: reopen for the next chunk
            raise
        # After a batch, decord's decoder thread goes on decoding the frames that follow into memory while the
        # reader waits (measured: 0.4 GB a second, up to 1.1-1.3 GB, whatever the video's length): the memory
        # jump at the first chunks.  A seek stops it; the next batch seeks to its keyframe anyway.
        self._decord.seek(0)
        return frames

    def _read_pyav(self, indices: np.ndarray) -> np.ndarray:
        if self._pyav is None:
            try:
                self._pyav = PyAVReader(self.path, self.decode_size, self._sampled)
            except ValueError as error:
                raise RuntimeError(str(error)) from None
        return self._pyav.read(indices)


def read_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "this chunk is damaged" rather than "the program is broken"."""
    import av

    return (RuntimeError, DECORDError, av.error.FFmpegError, OSError)



def write_video(path: str | Path, frames: Iterable[np.ndarray], *, fps: int | Fraction, codec: str = "libx264",
                display_rotation: int | None = None, gop: int = 10, bframes: int = 0, preset: str = "ultrafast") -> Path:
    """Encode (h, w, 3) uint8 RGB frames (all one size) into ``path``; ``display_rotation`` sets a phone-style flag.

    With x264 or x265: a keyframe every ``gop`` frames, ``bframes`` B-frames between two reference frames (the
    middle one of x264's is a reference too, the others are not), the encoder's speed ``preset``."""
    import av

    path = Path(path)
    with av.open(str(path), "w") as container:
        stream = None
        for frame in frames:
            if stream is None:
                stream = container.add_stream(codec, rate=fps)
                stream.height, stream.width = frame.shape[:2]
                stream.pix_fmt = "yuv420p"
                if codec in ("libx264", "libx265"):
                    stream.options = {"g": str(gop), "preset": preset, "bf": str(bframes),
                                      **({"x265-params": "log-level=error"} if codec == "libx265" else {})}
                if display_rotation is not None:
                    stream.set_display_rotation(display_rotation)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return path
