"""Which angles are read from the image and which from the 3D points: per frame, by how the body part faces the camera.

BlazePose's image points are where it sees the body; its 3D points add a depth it guesses.  An angle between two
directions (the two limbs of an elbow or a knee, the upper arm and the trunk, the head and the trunk) shows at its
true size in the picture when the plane those directions span lies across the picture, square to the camera's axis:
the knee from the side, an arm raised out to the side from the front.  Turned edge-on, the plane foreshortens the
angle without bound (a right angle seen 80 degrees from square can read anywhere between 10 and 170).  The 3D
points' depth is poor for measuring an angle but good enough to tell roughly how its plane is turned.  So, per
frame and angle: from the image where its plane faces the camera within :data:`IMAGE_PLANE_LIMIT` degrees, from 3D
otherwise.  The image gives the size of the angle; its sign (an arm behind the body, a head bent back) stays the 3D
points', which know front from back.

The limit is geometry, not a value fitted to the benchmark's frames: a plane turned 30 degrees from square distorts
no angle in it by more than 8 degrees (45: 20; 60: 39), less than the 3D points' own errors of 10-20 degrees
(``benchmarks/accuracy.py``).  Measured there (both recordings, every camera pooled), the elbow's and knee's mean
error is 4-7 degrees from the image against 9-10 from 3D where their plane faces the camera within 15 degrees,
about even at 45-60, and the image's is worse beyond (elbow 27-32 against 21-22).

The body's own viewpoint, the camera's azimuth about the worker (0 in front, 90 at the side, 180 behind), is kept in
the result (:class:`Viewpoint`) so that a reader knows from where the worker was seen.

Trunk flexion is always 3D: its image angle is measured against the picture's up, which a rolled camera tilts.
The wrist too (its hand points are too close together to tell a plane).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .angles import SIDES, AngleSettings, CameraTilt, prefer_3d
from .angles import _Joints as Joints
from .angles import _levelled as levelled
from .angles import _unit as unit

#: Beyond this angle between an angle's plane and the picture (degrees), the image distorts it too much: 3D (within it,
#: by at most 8 degrees).
IMAGE_PLANE_LIMIT = 30.0
#: Two directions closer than this to one line (degrees) span no plane to speak of: a limb that straight is seen
#: straight from wherever it lies across the picture, so each direction's own tilt out of the picture counts instead.
STRAIGHT = 15.0
#: The camera's azimuth about the worker (degrees) at the borders of the views named in :class:`Viewpoint`.
VIEWS = (("front", 30.0), ("oblique_front", 60.0), ("side", 120.0), ("oblique_back", 150.0), ("back", 180.0))


def _directions(joints: Joints) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per angle read from the image where it can be, the two directions whose angle it is (camera axes)."""
    shoulders, hips = joints.mid("left_shoulder", "right_shoulder"), joints.mid("left_hip", "right_hip")
    pairs = {"neck_flexion": (shoulders - hips, joints.mid("left_ear", "right_ear") - shoulders)}
    for side in SIDES:
        shoulder, elbow, hip, knee = (joints[f"{side}_{part}"] for part in ("shoulder", "elbow", "hip", "knee"))
        pairs[f"upper_arm_{side}"] = (hips - shoulders, elbow - shoulder)
        pairs[f"elbow_{side}"] = (shoulder - elbow, joints[f"{side}_wrist"] - elbow)
        pairs[f"knee_{side}"] = (hip - knee, joints[f"{side}_ankle"] - knee)
    return pairs


def _out_of_picture(direction: np.ndarray) -> np.ndarray:
    """How far a direction points out of the picture's plane, towards or away from the camera (degrees, 0-90)."""
    return np.degrees(np.arcsin(np.clip(np.abs(unit(direction)[..., 2]), 0.0, 1.0)))


def plane_tilts(world: np.ndarray, keypoints: np.ndarray, names: Sequence[str], settings: AngleSettings
                ) -> dict[str, np.ndarray]:
    """Per angle the image can measure, per frame, how far its plane is turned from the picture's (degrees, 0-90;
    NaN where a point is missing): 0 the angle shows at its true size, 90 edge-on.

    ``world`` is in the camera's axes (x right, y down, z away), as BlazePose gives it: the picture's plane is x-y.
    """
    joints = Joints(world, keypoints[..., 2], names, settings.min_confidence)
    tilts = {}
    for name, (first, second) in _directions(joints).items():
        normal = np.cross(unit(first), unit(second))
        spread = np.degrees(np.arcsin(np.clip(np.linalg.norm(normal, axis=-1), 0.0, 1.0)))  # 0: along one line
        plane = np.degrees(np.arccos(np.clip(np.abs(unit(normal)[..., 2]), 0.0, 1.0)))
        straight = np.maximum(_out_of_picture(first), _out_of_picture(second))
        tilts[name] = np.where(np.isnan(spread), np.nan, np.where(spread < STRAIGHT, straight, plane))
    return tilts


def in_picture(world: np.ndarray | None, keypoints: np.ndarray, names: Sequence[str], settings: AngleSettings
               ) -> dict[str, np.ndarray]:
    """Per angle, the frames whose plane lies across the picture (within :data:`IMAGE_PLANE_LIMIT`): read from the
    image there.  Without 3D points, nothing tells the plane: empty."""
    if world is None:
        return {}
    return {name: tilt <= IMAGE_PLANE_LIMIT for name, tilt in plane_tilts(world, keypoints, names, settings).items()}


def choose_sources(world_angles: dict[str, np.ndarray] | None, image_angles: dict[str, np.ndarray], world: np.ndarray | None,
                   keypoints: np.ndarray, names: Sequence[str], settings: AngleSettings
                   ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, int]]]:
    """Each angle from the image where its plane faces the camera, else from 3D, else from the image; and per angle
    the frames from each (:func:`pipeline.angles.prefer_3d`)."""
    return prefer_3d(world_angles, image_angles, in_picture(world, keypoints, names, settings))


@dataclass(frozen=True)
class Viewpoint:
    """From where the camera saw the worker: per view of :data:`VIEWS`, the frames; and the median azimuth (degrees,
    0 the camera in front of the worker, 90 at their side, 180 behind), None where no frame told it."""

    frames: dict[str, int]
    median_azimuth: float | None

    def as_dict(self) -> dict:
        return {"frames": self.frames, "median_azimuth": None if self.median_azimuth is None else round(self.median_azimuth, 1)}


def azimuths(world: np.ndarray, keypoints: np.ndarray, names: Sequence[str], settings: AngleSettings,
             tilt: CameraTilt | None) -> np.ndarray:
    """Per frame, the camera's azimuth about the worker (degrees, 0-180): the angle, in gravity's horizontal plane,
    between the body's forward axis (left, from the hips and shoulders, crossed with up) and the way to the camera."""
    if tilt is not None:
        world = levelled(world, tilt.down)
    joints = Joints(world, keypoints[..., 2], names, settings.min_confidence)
    left = unit(joints["left_hip"] - joints["right_hip"] + joints["left_shoulder"] - joints["right_shoulder"])
    forward = np.cross(left, [0.0, -1.0, 0.0])  # level: up is -y
    return np.degrees(np.arctan2(np.abs(forward[..., 0]), -forward[..., 2]))


def viewpoint(world: np.ndarray | None, keypoints: np.ndarray, names: Sequence[str], settings: AngleSettings,
              tilt: CameraTilt | None) -> Viewpoint | None:
    """The frames seen from each view and the median azimuth; None for models without 3D points."""
    if world is None:
        return None
    seen = azimuths(world, keypoints, names, settings, tilt)
    seen = seen[np.isfinite(seen)]
    borders = [0.0] + [limit for _, limit in VIEWS]
    counts = np.histogram(seen, bins=borders)[0]
    return Viewpoint({name: int(count) for (name, _), count in zip(VIEWS, counts)}, float(np.median(seen)) if len(seen) else None)
