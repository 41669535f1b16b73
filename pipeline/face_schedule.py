"""Which frames of the annotated video are searched for faces, and what is blurred on the frames between.

A face search (:meth:`pipeline.pose.blazeface.FaceDetector.faces`) costs about 30 times the drawing of a frame, and
the annotated video draws every analysed frame.  So a frame is searched once per ``FACE_SEARCH_S`` of video (and the
last readable one), and a frame between two searches blurs every face either search found, grown by as far as a
person moves in the time from that search (``FACE_SPEED``), plus ``FACE_MARGIN``.  A face seen at either search is
blurred wherever it went; one seen at neither (a face turned to the camera for less than the time between searches)
would not be, which is why that time is short.  Faces are not paired from one search to the next: a small face's
detection and the detector's false faces come and go from frame to frame, and pairing them went wrong.  Each search
reads again only the parts of the frame that changed since they were last read (:mod:`pipeline.face_changes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

#: A frame of the annotated video is searched for faces once this many seconds of video have passed since the last
#: search: every third analysed frame at ``medium`` (5 a second), every fifth at ``high``.
FACE_SEARCH_S = 0.5
#: How fast a face may move, in its sizes (its box's longer side) a second: a frame between searches blurs each face
#: they found grown on every side by this much for each second from its search.  Walking, a face (about 0.2 m)
#: moves about 7 of its sizes a second: the woman walking past in Sports2D's demo (tests/test_blazeface.py), 6-7.
FACE_SPEED = 8.0
#: And by this share of its size besides.  Measured on Sports2D's demo, analysed on this schedule at 10 frames a
#: second and at 5 (two ways, from its first and third frames): of the 121 faces of its two people the detector finds
#: on frames between searches, all lie inside a face box of the searches grown by 7 sizes a second but one, by 0.11
#: of its size (the man's head bobbing); all lie inside the boxes grown as here.
FACE_MARGIN = 0.25

#: A frame's face boxes (x1, y1, x2, y2, in its pixels): the face detector's.
Search = Callable[[np.ndarray], list[np.ndarray]]


@dataclass
class _Searched:
    time_s: float
    boxes: list[np.ndarray]


def faces_by_frame(frames: Iterable[np.ndarray | None], times: np.ndarray,
                   search: Search) -> Iterator[tuple[int, np.ndarray | None, list[np.ndarray]]]:
    """(position, frame, the face boxes to blur on it) for each of ``frames`` (None: unreadable, nothing to blur) at
    ``times``, in order.  Frames wait for the next search (``FACE_SEARCH_S`` of video at most, more only where the
    video cannot be read)."""
    pending: list[tuple[int, np.ndarray | None]] = []
    last: _Searched | None = None
    for position, frame in enumerate(frames):
        if frame is None or (last is not None and float(times[position]) - last.time_s < FACE_SEARCH_S - 1e-6):
            pending.append((position, frame))
            continue
        found = _Searched(float(times[position]), search(frame))
        yield from _between(last, found, pending, times)
        yield position, frame, found.boxes
        pending, last = [], found
    readable = [i for i, (_, frame) in enumerate(pending) if frame is not None]
    if readable:  # the last readable frame is searched, so that every readable frame lies between two searches
        position, frame = pending[readable[-1]]
        found = _Searched(float(times[position]), search(frame))  # type: ignore[arg-type]
        yield from _between(last, found, pending[:readable[-1]], times)
        yield position, frame, found.boxes
        pending = pending[readable[-1] + 1:]
    yield from ((position, frame, []) for position, frame in pending)  # unreadable: drawn grey


def _between(before: _Searched | None, after: _Searched, pending: list[tuple[int, np.ndarray | None]],
             times: np.ndarray) -> Iterator[tuple[int, np.ndarray | None, list[np.ndarray]]]:
    """The frames ``pending`` between the searches ``before`` (None: none yet, so all are unreadable) and ``after``,
    each with the faces of both grown by how far they may have moved since."""
    for position, frame in pending:
        time_s = float(times[position])
        searches = [before, after] if before is not None and frame is not None else []
        yield position, frame, [grown(box, FACE_MARGIN + FACE_SPEED * abs(time_s - searched.time_s))
                                for searched in searches for box in searched.boxes]


def grown(box: np.ndarray, share: float) -> np.ndarray:
    """``box`` grown on every side by ``share`` of its size (its longer side)."""
    return box + np.array([-1, -1, 1, 1]) * share * max(box[2:] - box[:2])
