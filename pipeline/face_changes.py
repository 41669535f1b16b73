"""The annotated video's face searches: each reads again only the squares of the frame whose pixels changed.

A face search (:meth:`pipeline.pose.blazeface.FaceDetector.faces`) reads the whole frame and about a hundred tiles of
it, 0.2 s of one core for a 960x540 frame, twice a second of video (:mod:`pipeline.face_schedule`).  But what the
network finds in a square depends on that square's pixels alone, and a camera on a stand sees the same background
for minutes: a square whose pixels did not change since it was last read holds the faces it held then, where they
were.  So each search reads only the squares that changed since their own last reading, and merges what they hold
with what the others held at theirs (:func:`pipeline.pose.blazeface.merge`, as a whole search merges its squares).
A face walking into a still background changes the squares it walks into, and they are read again.

Changed: on a grey thumbnail of the frame (``THUMBNAIL``: blocks of 4x4 pixels averaged, which smooths the noise of
the sensor and of the video's compression while a face of 20 px is still 5x5 of its pixels), some pixel of the
square differs by more than ``CHANGE_LEVEL`` from the square's thumbnail at its last reading (not the frame before:
a slow change adds up until the square is read again).  Every square is read again, whatever changed:

* at the first search, and after a scene cut between any two frames since the last search
  (:func:`pipeline.scenes.is_cut`, on the frames :meth:`ChangedSquares.watch` sees): the new shot's faces are where
  the old shot's were only by chance;
* once it has gone ``REFRESH_SEARCHES`` searches unread, as a safety net for a change too faint to be seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .scenes import colour_histogram, is_cut

if TYPE_CHECKING:
    from .pose.blazeface import FaceDetector, Found
    from .pose.image_to_tensor import Rect

#: The thumbnail's pixel is the mean of THUMBNAIL x THUMBNAIL pixels of the frame.
THUMBNAIL = 4
#: A square has changed where one of its thumbnail's pixels moved by more than this many grey levels (of 255).
CHANGE_LEVEL = 12
#: A square unread for this many searches (10 s of video at pipeline.face_schedule.FACE_SEARCH_S) is read anyway:
#: a safety net whose cost, where nothing moves, is a whole search every 10 s (at 4 s it cost more than drawing the
#: video: 27 squares a second of video, 10 ms a frame at `medium`).
REFRESH_SEARCHES = 20


@dataclass
class _Square:
    """A square of the frame: where it lies on the thumbnail, and what it held and looked like when last read."""

    rect: Rect
    rows: slice
    columns: slice
    found: Found | None = None
    seen: np.ndarray | None = None  # its thumbnail pixels at its last reading
    unread: int = 0  # searches since


@dataclass
class ChangedSquares:
    """A face search (a :data:`pipeline.face_schedule.Search`) for the frames of one video, in order: the face boxes
    of each frame it is given, reading again only the squares that changed since they were last read."""

    detector: FaceDetector
    squares: list[_Square] = field(default_factory=list)
    shape: tuple[int, ...] | None = None  # of the frames
    histogram: np.ndarray | None = None  # the colours of the last frame seen (scene cuts)
    last: np.ndarray | None = None  # that frame
    cut: bool = False  # a scene cut since the last search
    read: list[int] = field(default_factory=list)  # squares read at each search, for the benchmark and the tests

    def watch(self, frames: Iterable[np.ndarray | None]) -> Iterator[np.ndarray | None]:
        """``frames`` as they are (None: unreadable), each compared with the one before for a scene cut: the cut
        detector is made for consecutive analysed frames, and two searches half a second apart differ more (on
        Sports2D's demo, 2 of its 12 pairs of searches look like cuts, and were read whole for nothing)."""
        for frame in frames:
            if frame is not None:
                self._see(frame)
            yield frame

    def __call__(self, frame: np.ndarray) -> list[np.ndarray]:
        from .pose.blazeface import merge

        if frame is not self.last:  # not watched (:meth:`watch`): compared with the frame searched before
            self._see(frame)
        thumbnail, cut, self.cut = _thumbnail(frame), self.cut, False
        if frame.shape != self.shape:  # the first frame (a video's frames all have one size)
            self.squares, self.shape = _squares(frame.shape[1], frame.shape[0]), frame.shape
        stale = [square for square in self.squares if cut or _changed(square, thumbnail)]
        for square, found in zip(stale, self.detector.search(frame, [square.rect for square in stale]), strict=True):
            square.found, square.seen, square.unread = found, thumbnail[square.rows, square.columns].copy(), 0
        for square in self.squares:
            square.unread += 1
        self.read.append(len(stale))
        return [face.box for face in merge([square.found for square in self.squares if square.found is not None])]

    def _see(self, frame: np.ndarray) -> None:
        """Note a scene cut between the last frame seen and ``frame``."""
        histogram = colour_histogram(frame)
        self.cut |= is_cut(self.histogram, histogram)
        self.histogram, self.last = histogram, frame


def _thumbnail(frame: np.ndarray) -> np.ndarray:
    """The frame in grey, each pixel the mean of a ``THUMBNAIL`` x ``THUMBNAIL`` block (int16, for differences)."""
    grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    size = (max(1, frame.shape[1] // THUMBNAIL), max(1, frame.shape[0] // THUMBNAIL))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.int16)


def _squares(width: int, height: int) -> list[_Square]:
    """The squares a face search reads in a ``width`` x ``height`` frame, each with its part of the thumbnail (the
    thumbnail pixels it overlaps, inside the frame)."""
    from .pose.blazeface import squares

    def span(centre: float, side: float, length: int) -> slice:
        return slice(max(0, int((centre - side / 2) // THUMBNAIL)), min(length // THUMBNAIL, -int(-(centre + side / 2) // THUMBNAIL)))

    return [_Square(rect, span(rect.center[1], rect.width, height), span(rect.center[0], rect.width, width))
            for rect in squares(width, height)]


def _changed(square: _Square, thumbnail: np.ndarray) -> bool:
    """Whether ``square`` must be read: never read, unread for ``REFRESH_SEARCHES``, or its pixels changed."""
    if square.seen is None or square.unread >= REFRESH_SEARCHES:
        return True
    return bool(np.abs(thumbnail[square.rows, square.columns] - square.seen).max() > CHANGE_LEVEL)
