"""Left and right kept: BlazePose's left/right swaps found and undone before angles are measured.

BlazePose sometimes labels a whole body left for right for a run of frames: in a frontal view with a strong side
bend it decides the worker has turned their back to the camera (Pose2Sim's cam02: 16 of the 38 frames it keeps at
30 fps).  Its output stays self-consistent (the face points along the turned body's forward axis, the limbs keep
their lengths, the image points sit where the body is): what it gets wrong is the labels, and the head, which it
turns round with them.  Per side the angles then belong to the other arm and leg, and the neck reads as bent back.

What tells a swap from a real turn is time: a worker turning round takes half a second or more, through a side
view; a swap moves every left point to where its right twin was between two frames.  So each frame is labelled
*as given* or *swapped*, choosing the sequence that moves the body's points least from frame to frame
(:func:`_labelling`, a two-state Viterbi over the image points, in trunk lengths), where the model changing its
labels costs ``switch_cost`` and a frame whose 3D face points backwards against its own chest (labels that
contradict the anatomy) costs ``anatomy_cost``.  Left to itself, the choice between a whole video's two labellings
follows the majority of its frames (``swap_cost``, a tie-breaker): the model is right more often than not.  Limb
lengths do not tell a whole-body swap (both sides are as long), so they are not used.

A swapped frame is relabelled, image and 3D points; where its 3D face agreed with the swapped labels (the model had
turned the head round with the body), the face's depth is mirrored about the shoulders, so that it looks forward
again.  Measured on the four-camera benchmark (benchmarks/accuracy.py): cam02's upper-arm error falls from
15.9/31.3 to 7.2/13.2 degrees (MAE/p95) and its elbow's from 37.7/97.4 to 20.6/45.1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .angles import AngleSettings, camera_tilt
from .tracking import MainPerson

#: The landmark pairs whose frame-to-frame motion tells a swap: the body's, not the face's (eyes and ears sit too
#: close together to weigh).
TRACKED = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
#: The face's landmarks (by a word of their names): the head a swapped frame turns back round.
FACE = ("nose", "eye", "ear", "mouth")


@dataclass(frozen=True)
class SideSettings:
    #: Points below this visibility do not count.
    min_confidence: float = 0.3
    #: The model changing its labels between two frames costs this (trunk lengths of mean point motion): a swap
    #: must explain away that much more motion than it adds.
    switch_cost: float = 0.3
    #: A frame whose 3D face points against its chest's forward axis costs this, per unit of the cosine.
    anatomy_cost: float = 1.0
    #: Relabelling a frame costs this: with no other evidence, the labels stay as given (the majority wins).
    swap_cost: float = 1e-3
    #: Frames further apart than this (seconds) are not compared: the worker may have turned round unseen.
    max_gap_s: float = 0.5


def mirrored(names: Sequence[str]) -> np.ndarray:
    """Index of each landmark's other-side twin (itself for the nose): relabels a skeleton left for right."""
    def twin(name: str) -> str:
        return name.replace("left_", "right_") if name.startswith("left_") else name.replace("right_", "left_")

    names = list(names)
    return np.array([names.index(twin(name)) if twin(name) in names else i for i, name in enumerate(names)])


def _pairs(names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the tracked left points and of their right twins, those the model has."""
    parts = [part for part in TRACKED if f"left_{part}" in names and f"right_{part}" in names]
    return np.array([names.index(f"left_{part}") for part in parts], int), np.array([names.index(f"right_{part}") for part in parts], int)


def _trunk_length(keypoints: np.ndarray, names: Sequence[str]) -> float:
    """The median shoulders-to-hips distance in the image (pixels): motion is measured in it."""
    point = {name: keypoints[:, names.index(name), :2] for name in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")}
    trunk = np.linalg.norm((point["left_shoulder"] + point["right_shoulder"] - point["left_hip"] - point["right_hip"]) / 2, axis=-1)
    return float(np.nanmedian(trunk)) if np.isfinite(trunk).any() else 1.0


def _motion(before: np.ndarray, after: np.ndarray, left: np.ndarray, right: np.ndarray, min_confidence: float) -> tuple[float, float]:
    """Mean distance the tracked pairs moved from ``before`` to ``after`` ((k, 3) image points) with the labels kept,
    and with them crossed (each left point against its right twin before); NaN where no pair was seen in both."""
    seen = ((before[left, 2] >= min_confidence) & (before[right, 2] >= min_confidence)
            & (after[left, 2] >= min_confidence) & (after[right, 2] >= min_confidence))
    if not seen.any():
        return np.nan, np.nan
    b_left, b_right, a_left, a_right = before[left[seen], :2], before[right[seen], :2], after[left[seen], :2], after[right[seen], :2]
    kept = np.linalg.norm(a_left - b_left, axis=-1) + np.linalg.norm(a_right - b_right, axis=-1)
    crossed = np.linalg.norm(a_left - b_right, axis=-1) + np.linalg.norm(a_right - b_left, axis=-1)
    return float(kept.mean()), float(crossed.mean())


def face_agreement(world: np.ndarray, keypoints: np.ndarray, names: Sequence[str], min_confidence: float) -> np.ndarray:
    """Per frame, the cosine between the 3D face's direction (ears to nose) and the chest's forward axis (its left
    crossed with the trunk's up, as :mod:`pipeline.angles` takes it); NaN where not seen.  Negative: the labels
    contradict the face."""
    def point(name: str) -> np.ndarray:
        index = names.index(name)
        return np.where((keypoints[:, index, 2] >= min_confidence)[:, None], world[:, index].astype(np.float64), np.nan)

    def unit(vector: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return vector / np.linalg.norm(vector, axis=-1, keepdims=True)

    up = point("left_shoulder") + point("right_shoulder") - point("left_hip") - point("right_hip")
    forward = np.cross(point("left_shoulder") - point("right_shoulder"), up)
    face = point("nose") - (point("left_ear") + point("right_ear")) / 2
    return np.sum(unit(face) * unit(forward), axis=-1)


def _labelling(keypoints: np.ndarray, agreement: np.ndarray, detected: np.ndarray, times: np.ndarray, names: Sequence[str],
               settings: SideSettings) -> np.ndarray:
    """(n,) True where a frame's labels are to be swapped: the cheapest sequence of labellings (Viterbi)."""
    left, right = _pairs(names)
    frames = np.flatnonzero(detected)
    swapped = np.zeros(len(keypoints), bool)
    if not len(frames) or not len(left):
        return swapped
    scale = _trunk_length(keypoints[frames], names)
    # unary costs [as given, swapped]: a face against the chest condemns the labels as given; swapped, a frame is
    # consistent (relabelled, and its head turned back where the model had turned it: see keep_sides)
    contradiction = np.clip(np.nan_to_num(-agreement[frames], nan=0.0), 0, None)
    unary = np.stack([settings.anatomy_cost * contradiction, np.full(len(frames), settings.swap_cost)], axis=1)
    cost, back = unary[0].copy(), np.zeros((len(frames), 2), int)
    for step in range(1, len(frames)):
        previous, current = frames[step - 1], frames[step]
        kept, crossed = _motion(keypoints[previous], keypoints[current], left, right, settings.min_confidence)
        if times[current] - times[previous] > settings.max_gap_s + 1e-9 or np.isnan(kept):
            transition = np.zeros((2, 2))  # not comparable: either labelling may follow
        else:  # [from, to]: the same labelling keeps the given order; a change crosses it, and costs a switch
            kept, crossed = kept / scale, crossed / scale + settings.switch_cost
            transition = np.array([[kept, crossed], [crossed, kept]])
        total = cost[:, None] + transition
        back[step] = np.argmin(total, axis=0)
        cost = total[back[step], [0, 1]] + unary[step]
    state = int(np.argmin(cost))
    for step in range(len(frames) - 1, -1, -1):
        swapped[frames[step]] = bool(state)
        state = back[step, state]
    return swapped


def keep_sides(main: MainPerson, names: Sequence[str], times: np.ndarray, angles: AngleSettings | None = None,
               settings: SideSettings = SideSettings()) -> np.ndarray:
    """Undo the model's left/right swaps in the main person's image and 3D points, in place; returns (n,) which
    frames were relabelled.  ``angles`` gives the camera's tilt where the user knows it (:func:`camera_tilt`)."""
    names = list(names)
    if not all(name in names for name in ("nose", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_hip", "right_hip")):
        return np.zeros(len(main.keypoints), bool)
    agreement = (np.full(len(main.keypoints), np.nan) if main.world is None
                 else face_agreement(main.world, main.keypoints, names, settings.min_confidence))
    swapped = _labelling(main.keypoints, agreement, main.detected, times, names, settings)
    twin = mirrored(names)
    main.keypoints[swapped] = main.keypoints[swapped][:, twin]
    if main.world is not None:
        down = _gravity(main, ~swapped, names, angles or AngleSettings())
        main.world[swapped] = main.world[swapped][:, twin]
        _turn_back(main.world, swapped & ~(agreement < 0), down, names)
    return swapped


def _gravity(main: MainPerson, kept: np.ndarray, names: list[str], angles: AngleSettings) -> np.ndarray:
    """Gravity's down in the camera's axes: given, or from the stance in the frames the model did not turn round, or
    where too few of those show straight legs, in all (a turned-round body's legs lean with gravity as the real ones
    do: on cam02 the hips-over-ankles direction is the same, within 0.05, in the turned frames and the others)."""
    tilt = camera_tilt(main.world[kept], main.keypoints[kept], names, angles)
    return (tilt if tilt.method != "none" else camera_tilt(main.world, main.keypoints, names, angles)).down


def _turn_back(world: np.ndarray, frames: np.ndarray, down: np.ndarray, names: list[str]) -> None:
    """Mirror the 3D body front to back in ``frames``, in place: across the upright plane through the hips that holds
    the camera's sideways axis (gravity's ``down`` and the view's horizontal square to it).

    The model's turned-round body is the real one seen from the other side: its limbs lean with gravity as the real
    ones do (the legs keep the camera's tilt), but its depth runs the other way, face included.  Relabelled only,
    the face would look backwards (the neck read as bent far back); mirrored along gravity's horizontal (not the
    camera's depth, which would tip a tilted camera's vertical the other way), it is the real body again.
    """
    view = np.array([0.0, 0.0, 1.0]) - down[2] * down
    normal = view / np.linalg.norm(view)
    hips = (world[:, names.index("left_hip")] + world[:, names.index("right_hip")]) / 2
    rows = np.flatnonzero(frames)
    depth = np.einsum("nkd,d->nk", world[rows] - hips[rows, None], normal)
    world[rows] = world[rows] - 2 * depth[..., None] * normal
