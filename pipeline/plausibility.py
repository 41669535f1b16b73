"""Whether the pose found in a frame is a person, decided between the pose model and the angles.

A pose model fits a skeleton to whatever it is shown: on real street footage BlazePose keeps a skeleton on a
kerb, a taxi roof or a bollard with its presence above MediaPipe's own 0.5.  Such a frame must not be scored,
pictured or counted as the worker.  Each frame found is checked here, and a rejected one reports no person and
keeps the reasons in words (``result.rejections``, the ``rejected_because`` column of frames.csv).

The rules:

* **presence**: the pose model's own confidence that a person is in its region (MediaPipe keeps tracking down
  to 0.5; we ask for more);
* **anatomy**, on the model's metric 3D points (which do not shrink with the viewing angle as the picture does):
  shoulder breadth, head breadth (ear to ear) and trunk length against the shoulders within human ranges;
* **time**: a pose accepted in one sampled frame alone, with no person in the frames on either side, is
  rejected: a person stays in view, a skeleton flickering onto an object often does not;
* **continuity**: between two frames of the same shot a worker does not jump across the picture or change size
  (:mod:`pipeline.continuity`); the frames of anyone the track jumped to, other than the person followed longest, are
  rejected;
* **the detector's second opinion**: a pose model that follows a person (BlazePose) asks its person detector again
  at each scene cut and every 2 seconds, and ends a track no detection supports (``PoseOutput.ended``,
  :mod:`pipeline.pose.blazepose`); such a frame is reported without a person, and its record says why.

The evidence for the limits: on the labelled real clips of ``tests/data/`` every frame with a person had presence
>= 0.90, shoulders 0.30-0.39 m apart, ears 0.13-0.16 m apart and a trunk 1.2-1.5 times the shoulder width; the
rendered full-body figure of ``benchmarks/pose_parity.py`` had shoulders 0.24-0.29 m, ears 0.10-0.14 m and a
trunk 1.5-1.95 times the shoulders (three of its 28 frames at ``low`` are rejected, with ears 0.04, 0.09 and
just under 0.10 m).  The skeletons on kerb, cars, fence and bollard had shoulders 0.02-0.24 m, ears 0.03-0.08 m, or a
presence of 0.50-0.66, or (a bollard with a bike, presence 0.94) stood alone between rejected frames.  The limits
are fitted to few clips: more labelled footage should test them.  Left/right arm symmetry was tried and dropped:
BlazePose's 3D forearms of the demo's real person differ twice over.

Models without 3D points (keypointrcnn) are not judged here: their detector's score is their only evidence, and
``min_person_score`` already applies it.
"""

from __future__ import annotations

import numpy as np

from .continuity import continuity_reasons
from .pose.base import TRACK_ENDED

#: Below this presence (the pose model's confidence that its region holds a person) a pose is not taken as one.
MIN_PRESENCE = 0.75
#: Human ranges, metres between the models' 3D landmarks (with a margin over the people and the figure measured).
SHOULDER_BREADTH_M = (0.20, 0.55)
HEAD_BREADTH_M = (0.10, 0.22)
#: Trunk length (shoulder to hip, mean of both sides) over shoulder breadth.
TRUNK_TO_SHOULDERS = (0.8, 2.2)

_PAIRS = {"shoulders": ("left_shoulder", "right_shoulder"), "ears": ("left_ear", "right_ear"),
          "trunk_left": ("left_shoulder", "left_hip"), "trunk_right": ("right_shoulder", "right_hip")}


def _lengths(world: np.ndarray, names: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    """Per frame lengths (metres) of the segments the rules use, or None when the model does not name them."""
    index = {name: position for position, name in enumerate(names)}
    if any(point not in index for pair in _PAIRS.values() for point in pair):
        return None
    return {segment: np.linalg.norm(world[:, index[a]] - world[:, index[b]], axis=-1) for segment, (a, b) in _PAIRS.items()}


def _outside(value: float, limits: tuple[float, float]) -> bool:
    return not limits[0] <= value <= limits[1]


def _reasons(presence: float, lengths: dict[str, float]) -> list[str]:
    reasons = []
    if presence < MIN_PRESENCE:
        reasons.append(f"the pose model is not confident a person is there (presence {presence:.2f}, needs {MIN_PRESENCE})")
    shoulders, ears = lengths["shoulders"], lengths["ears"]
    trunk = (lengths["trunk_left"] + lengths["trunk_right"]) / 2
    if _outside(shoulders, SHOULDER_BREADTH_M):
        reasons.append(f"shoulders {shoulders:.2f} m apart: outside a person's {SHOULDER_BREADTH_M[0]}-{SHOULDER_BREADTH_M[1]} m")
    if _outside(ears, HEAD_BREADTH_M):
        reasons.append(f"head {ears:.2f} m wide: outside a person's {HEAD_BREADTH_M[0]}-{HEAD_BREADTH_M[1]} m")
    ratio = trunk / max(shoulders, 1e-6)
    if _outside(ratio, TRUNK_TO_SHOULDERS):
        reasons.append(f"trunk {ratio:.1f} times as long as the shoulders are wide: outside a person's "
                       f"{TRUNK_TO_SHOULDERS[0]}-{TRUNK_TO_SHOULDERS[1]}")
    return reasons


def _alone(accepted: np.ndarray) -> np.ndarray:
    """Frames accepted with neither neighbour accepted: a person stays in view longer than one sampled frame, a
    skeleton flickering onto an object between frames rejected often does not."""
    before = np.concatenate([[False], accepted[:-1]])
    after = np.concatenate([accepted[1:], [False]])
    return accepted & ~before & ~after


def judge(boxes: np.ndarray, world: np.ndarray | None, detected: np.ndarray, names: tuple[str, ...],
          ended: np.ndarray | None = None, *, keypoints: np.ndarray | None = None, times: np.ndarray | None = None,
          cuts: np.ndarray | None = None) -> list[str]:
    """Why each frame's pose is not a person, or not the worker ("" where it is accepted or nobody was found).

    ``boxes`` (n, 5) hold the pose's presence last;
    ``world`` (n, k, 3) the metric 3D points of models that give them (else None);
    ``ended`` (n,) why the pose model ended its track in a frame it reports without a person (codes of
    ``TRACK_ENDED``; None from models that do not check their tracks);
    ``keypoints`` (n, k, 3) the image points and ``times`` (n,) the frames' seconds, for the continuity rule (not
    applied without them); ``cuts`` (n,) whether a new shot starts at each frame (None: no cuts known).
    """
    reasons = _implausible(boxes, world, detected, names)
    if world is not None and keypoints is not None and times is not None:
        accepted = detected & ~np.array([bool(reason) for reason in reasons], bool)
        reasons = [reason or other for reason, other in zip(reasons, continuity_reasons(keypoints, names, times, accepted, cuts))]
    if ended is None:
        return reasons
    return [TRACK_ENDED.get(int(code), "") if code and not detected[frame] else reason
            for frame, (reason, code) in enumerate(zip(reasons, ended))]


def _implausible(boxes: np.ndarray, world: np.ndarray | None, detected: np.ndarray, names: tuple[str, ...]) -> list[str]:
    """Why each frame's pose fails the rules of presence, anatomy and time ("" where it passes or nobody was found)."""
    lengths = None if world is None else _lengths(world, names)
    if lengths is None or not len(detected):
        return [""] * len(detected)
    reasons = ["; ".join(_reasons(float(boxes[frame, 4]), {segment: float(values[frame]) for segment, values in lengths.items()}))
               if detected[frame] else "" for frame in range(len(detected))]
    accepted = detected & ~np.array([bool(reason) for reason in reasons])
    for frame in np.flatnonzero(_alone(accepted)):
        reasons[frame] = "seen in this frame alone, none of the frames beside it holding a person"
    return reasons
