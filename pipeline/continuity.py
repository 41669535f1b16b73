"""Whether the pose followed from frame to frame stays one person: a worker does not jump across the picture, or
change size, between two analysed frames of the same shot.

A pose tracker follows one region; it switches to someone or something else when two people cross, when the person
detector re-finds "the largest person" after a loss (another one), or when the detector's second opinion moves the
track to a new region (:mod:`pipeline.pose.blazepose`).  The frames after such a switch would otherwise be scored as
the same worker, and the headline figures would mix two people.  So between two consecutive frames where a person
was accepted, with no scene cut between them (:attr:`pipeline.pose.base.PoseOutput.cuts`: a new shot may show the
worker anywhere), the body's centre (the middle of shoulders and hips, in pixels) may move at most
:data:`MOVE_BODIES` + :data:`MOVE_BODIES_PER_S` x the seconds between them, in body sizes (the body's size is its
torso diagonal: shoulder to opposite hip, which neither bending towards the camera nor turning side-on shortens much),
and the size may change at most by a factor of :data:`SIZE_FACTOR`, more by :data:`SIZE_FACTOR_PER_S` per second.

A move past either limit starts a new *segment* of the track.  A segment whose start is within the limits of the end
of an earlier one (counted from that end: the worker came back where they were) continues that earlier person; so
the segments fall into people.  The worker is the person followed in the most frames; the frames of every other
person report no person, and say why.  Gap filling never bridges an angle over them (they are frames without the
worker).

The evidence for the limits is in ``benchmarks/track_continuity.py`` and docs/pipeline.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The body's centre may move this many body sizes between two frames however close in time (the landmarks' own jitter
#: and a fast arm or lean shifting the torso) ...
MOVE_BODIES = 1.0
#: ... and this many more per second between them (a worker walking briskly across the picture).
MOVE_BODIES_PER_S = 4.0
#: The body's size may change by this factor between two frames however close in time ...
SIZE_FACTOR = 1.6
#: ... and by this factor more per second between them (walking towards the camera).
SIZE_FACTOR_PER_S = 1.5

_TORSO = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")


@dataclass(frozen=True)
class Body:
    """Where the pose is in each frame (pixels): its centre (n, 2) and its size (n,); NaN where there is none."""

    centre: np.ndarray
    size: np.ndarray


def body(keypoints: np.ndarray, names: tuple[str, ...]) -> Body | None:
    """The pose's centre and size in each frame of ``keypoints`` (n, k, 3), or None when the model does not name the
    torso's points."""
    if any(name not in names for name in _TORSO):
        return None
    left_shoulder, right_shoulder, left_hip, right_hip = (keypoints[:, names.index(name), :2].astype(np.float64) for name in _TORSO)
    centre = (left_shoulder + right_shoulder + left_hip + right_hip) / 4
    size = (np.linalg.norm(left_shoulder - right_hip, axis=-1) + np.linalg.norm(right_shoulder - left_hip, axis=-1)) / 2
    return Body(centre, size)


def limits(seconds: float) -> tuple[float, float]:
    """How far (body sizes) the centre may move and by what factor the size may change in ``seconds``."""
    return MOVE_BODIES + MOVE_BODIES_PER_S * seconds, SIZE_FACTOR * SIZE_FACTOR_PER_S ** seconds


def change(found: Body, before: int, after: int) -> tuple[float, float]:
    """The move (body sizes: the larger of the two) and the size factor (>= 1) from frame ``before`` to ``after``."""
    sizes = found.size[[before, after]]
    largest = max(float(sizes.max()), 1e-6)
    move = float(np.linalg.norm(found.centre[after] - found.centre[before])) / largest
    return move, largest / max(float(sizes.min()), 1e-6)


def jump(found: Body, times: np.ndarray, before: int, after: int) -> str:
    """Why the pose at frame ``after`` cannot be the one at frame ``before``, in words ("" where it can)."""
    seconds = float(times[after] - times[before])
    move, factor = change(found, before, after)
    most_move, most_factor = limits(seconds)
    reasons = []
    if move > most_move:
        reasons.append(f"moved {move:.1f} body sizes across the picture in {seconds:.2f} s (a person moves at most {most_move:.1f})")
    if factor > most_factor:
        reasons.append(f"changed size {factor:.1f} times in {seconds:.2f} s (a person at most {most_factor:.1f} times)")
    return " and ".join(reasons)


def people(found: Body, times: np.ndarray, accepted: np.ndarray, cuts: np.ndarray | None) -> tuple[np.ndarray, dict[int, str]]:
    """Which person (0, 1, ...; -1 where no pose is accepted) each frame's pose is, and the jump that began each
    segment of the track after the first (frame: words).  Across a scene cut the track goes on as the same person."""
    who = np.full(len(accepted), -1)
    shot = np.cumsum(cuts) if cuts is not None else np.zeros(len(accepted), int)
    ends: list[int] = []  # each person's last frame so far
    jumps: dict[int, str] = {}
    for frame in (int(frame) for frame in np.flatnonzero(accepted)):
        previous = max(ends, default=None)
        why = "" if previous is None or shot[previous] != shot[frame] else jump(found, times, previous, frame)
        if previous is not None and not why:
            who[frame] = who[previous]
        else:
            if why:
                jumps[frame] = why
            back = [person for person, end in enumerate(ends) if end != previous and shot[end] == shot[frame]
                    and not jump(found, times, end, frame)]
            who[frame] = back[-1] if back else len(ends)
            if not back:
                ends.append(frame)
        ends[who[frame]] = frame
    return who, jumps


def continuity_reasons(keypoints: np.ndarray, names: tuple[str, ...], times: np.ndarray, accepted: np.ndarray,
                       cuts: np.ndarray | None) -> list[str]:
    """Why each accepted frame's pose is not the worker's ("" where it is, or where no pose is accepted): it belongs
    to a person other than the one followed in the most frames, whom the track jumped to or from."""
    found = body(keypoints, names)
    reasons = [""] * len(accepted)
    if found is None or not accepted.any():
        return reasons
    who, jumps = people(found, times, accepted, cuts)
    worker = int(np.argmax(np.bincount(who[who >= 0])))
    for frame in np.flatnonzero((who >= 0) & (who != worker)):
        reasons[frame] = f"another person than the worker (the one followed longest): {_switch(jumps, times, frame)}"
    return reasons


def _switch(jumps: dict[int, str], times: np.ndarray, frame: int) -> str:
    """The jump that began ``frame``'s stretch of the track, or (for the first stretch) the one that ended it."""
    before = [start for start in jumps if start <= frame]
    start = max(before) if before else min(jumps)
    return f"the track jumped {'to' if before else 'from'} it at {float(times[start]):.2f} s, where the pose {jumps[start]}"
