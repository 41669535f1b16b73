"""Reading sampled frames with PyAV, decoding no more than the codec needs.

Between two sampled frames, decord decodes every frame: at ``medium`` (5 of
30 frames a second, a keyframe a second) that is about five frames decoded
for each one analysed.  Most
of them are needed, as references of the frames after them, but in a stream
with B-frames many are *non-reference* frames, which nothing else refers to.
FFmpeg can leave those undecoded (``skip_frame = "NONREF"``).  The switch is
made packet by packet, by the frame each packet carries, so a sampled frame
is always decoded, even where it is a non-reference frame itself.

Frames are numbered as decord numbers them: in presentation order, by the
timestamps of the video's packets (:class:`PacketIndex`, read once when the
reader opens, without decoding).  A frame is reached by seeking to the
keyframe before it, unless decoding from where the reader stands is shorter.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

#: Packets decoded past a call's last wanted frame before the frames still missing are given up as damaged
#: (a decoder holds a few frames back: its frame threads and the B-frames it reorders).
_DECODER_DELAY_PACKETS = 64


@dataclass(frozen=True)
class PacketIndex:
    """Where each frame of a video stream is: its timestamp, its packet's place in decode order, its keyframe."""

    pts: np.ndarray  # per frame, in presentation order
    position: np.ndarray  # per frame: the place of its packet in decode order
    keyframes: list[int]  # frame numbers of the keyframes, ascending
    seek_to: dict[int, int]  # keyframe number -> a timestamp at or before it in decode and presentation time
    time_base: Fraction  # seconds per timestamp tick

    @classmethod
    def of(cls, path: str | Path) -> PacketIndex:
        """Demux (not decode) the whole stream; ValueError when its packets do not say when they are shown."""
        import av

        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            packets = [(packet.pts, packet.dts, packet.is_keyframe) for packet in container.demux(stream) if packet.size]
            time_base = stream.time_base
        if not packets or any(pts is None for pts, _, _ in packets):
            raise ValueError("the video's packets carry no presentation timestamps")
        order = sorted(range(len(packets)), key=lambda place: packets[place][0])
        pts = np.array([packets[place][0] for place in order], np.int64)
        if len(np.unique(pts)) != len(pts):
            raise ValueError("two of the video's frames share a timestamp")
        keyframes = [number for number, place in enumerate(order) if packets[place][2]]
        # A demuxer seeks by presentation or decode time, depending on the format: the smaller of the two
        # lands at or before the keyframe either way (the reader tries the presentation time first).
        seek_to = {number: min(t for t in packets[order[number]][:2] if t is not None) for number in keyframes}
        return cls(pts, np.array(order, np.int64), keyframes, seek_to, time_base)

    def __len__(self) -> int:
        return len(self.pts)

    def rate(self) -> float:
        """Frames a second as the timestamps space them: the frames after the first over the time they span."""
        span = float((self.pts[-1] - self.pts[0]) * self.time_base)
        return (len(self.pts) - 1) / span if span > 0 else 0.0

    def keyframe_before(self, number: int) -> int:
        """The last keyframe shown at or before frame ``number`` (the first keyframe if none is)."""
        return self.keyframes[max(0, bisect.bisect_right(self.keyframes, number) - 1)]


def has_nonreference_frames(path: str | Path, packets: int = 60) -> bool:
    """Whether the video's first ``packets`` packets hold frames that no other frame refers to, which the
    reader can leave undecoded (decoded with such frames skipped: fewer frames come out than went in)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONREF"
        sent = out = 0
        for packet in container.demux(stream):
            sent += 1 if packet.size else 0
            out += len(packet.decode())
            if sent >= packets:
                out += len(stream.codec_context.decode(None))  # what the decoder still holds
                break
        return out < sent


class PyAVReader:
    """Frames by number, in stored orientation, resized to ``size`` and converted to RGB as decord does.

    ``sampled``, when given, are all the frames the caller will ask for: a sampled frame decoded while
    reaching another is kept for the call that asks for it, and only the others are ever skipped.
    ``skip_nonreference=False`` decodes every frame on the way (for the benchmark, to measure what skipping saves).
    """

    def __init__(self, path: str | Path, size: tuple[int, int], sampled: Iterable[int] | None = None,
                 skip_nonreference: bool = True):
        self.path, self.size = str(path), size
        self.index = PacketIndex.of(path)
        self._number_of_pts = {int(t): number for number, t in enumerate(self.index.pts)}
        self._sampled_pts = {int(self.index.pts[n]) for n in sampled} if sampled is not None else set()
        self._container = None
        self._packets: Iterator | None = None  # None: the next read seeks
        self._sent = -1  # decode-order place of the last packet sent to the decoder since the last seek
        self._coming: set[int] = set()  # timestamps of frames sent to be decoded and not out of the decoder yet
        self._ahead: dict[int, np.ndarray] = {}  # sampled frames decoded before their call
        self.frames_decoded = 0  # for the benchmark: frames the decoder produced
        self._skip = "NONREF" if skip_nonreference else "DEFAULT"

    def read(self, numbers: np.ndarray) -> np.ndarray:
        """The frames ``numbers`` (ascending), stacked; RuntimeError when one of them cannot be decoded."""
        wanted = [int(n) for n in numbers]
        found = {n: self._ahead.pop(n) for n in wanted if n in self._ahead}
        self._ahead = {n: frame for n, frame in self._ahead.items() if n > wanted[0]}  # never asked for: passed over
        missing = [n for n in wanted if n not in found]
        if missing:
            try:
                self._decode_into(found, missing)
            except BaseException:
                self._packets = None  # a decoder that failed mid-stream starts again from a keyframe
                raise
        lost = [n for n in wanted if n not in found]
        if lost:
            self._packets = None
            raise RuntimeError(f"frames {lost[0]}-{lost[-1]} could not be decoded")
        return np.stack([found[n] for n in wanted])

    def _decode_into(self, found: dict[int, np.ndarray], missing: list[int]) -> None:
        """Decode on, or seek, frame by frame of ``missing``: a frame whose keyframe lies beyond what the decoder
        was sent is reached from its keyframe, one in the same GOP by decoding on."""
        index = self.index
        wanted_pts = self._sampled_pts | {int(index.pts[n]) for n in missing}
        for number in missing:
            if number in found:
                continue
            if self._must_seek(number, missing):
                self._seek(index.keyframe_before(number))
            if not self._decode_until(number, wanted_pts, missing, found):
                return  # not decodable: the caller reports what is missing

    def _decode_until(self, number: int, wanted_pts: set[int], missing: list[int], found: dict[int, np.ndarray]) -> bool:
        """Send packets until frame ``number`` is out of the decoder; False when it does not come."""
        index, codec = self.index, self._stream.codec_context
        give_up_after = int(index.position[number]) + _DECODER_DELAY_PACKETS
        for packet in self._packets:
            if packet.pts in self._number_of_pts:
                decode = packet.pts in wanted_pts
                codec.skip_frame = "DEFAULT" if decode else self._skip
                if decode:
                    self._coming.add(packet.pts)
                self._sent = int(index.position[self._number_of_pts[packet.pts]])
            for frame in packet.decode():  # the empty packet at the end drains the decoder
                self._keep(frame, missing, found)
            if not packet.size:
                self._packets = None  # drained: the decoder takes no more packets until a seek
                break
            if number in found or self._sent > give_up_after:
                break
        return number in found

    def _must_seek(self, number: int, missing: list[int]) -> bool:
        """Seek unless decoding on from where the reader stands reaches frame ``number``, and sooner."""
        if self._packets is None:
            return True
        index = self.index
        if int(index.pts[number]) in self._coming:
            return False  # sent, and on its way out of the decoder
        passed = index.position[number] <= self._sent
        keyframe_ahead = self._sent < index.position[index.keyframe_before(number)]
        in_flight = any(int(index.pts[n]) in self._coming for n in missing)  # a seek would lose them
        return passed or (keyframe_ahead and not in_flight)

    def _keep(self, frame, missing: list[int], found: dict[int, np.ndarray]) -> None:
        self.frames_decoded += 1
        self._coming.discard(frame.pts)
        number = self._number_of_pts.get(frame.pts)
        if number is None or (number not in missing and frame.pts not in self._sampled_pts):
            return
        width, height = self.size
        # decord scales through FFmpeg's scale filter, whose default is bilinear; sws_scale with the same flag
        # converts the colours identically (measured: equal at the stored size) and resizes within a level or so.
        rgb = frame.reformat(width=width, height=height, format="rgb24", interpolation="BILINEAR").to_ndarray()
        (found if number in missing else self._ahead)[number] = rgb

    def _seek(self, keyframe: int) -> None:
        import av

        if self._container is None:
            self._container = av.open(self.path)
            self._stream = self._container.streams.video[0]
            self._stream.thread_type = "AUTO"
        shown = int(self.index.pts[keyframe])
        for target in (shown, self.index.seek_to[keyframe]):  # by presentation time; by decode time if that lands late
            self._container.seek(target, backward=True, any_frame=False, stream=self._stream)
            packets = self._container.demux(self._stream)
            first = next(packets, None)
            if first is None or first.pts is None or first.pts <= shown:
                break
        self._packets = itertools.chain([first] if first is not None else [], packets)
        self._sent, self._coming = -1, set()
