"""Depth you can trust: what to take from the image and what from the 3D points, per frame and per angle.

BlazePose's image points are where it sees the body; its 3D points come from a body model fitted to the picture,
with a depth it guesses.  Four uses of that, measured on the four-camera benchmark (``benchmarks/accuracy.py``):

1. **The 3D points placed on the image** (:func:`on_image`): across the picture the model's fit misses the image's
   own points by centimetres, degrees at an elbow or a knee.  So every angle in 3D is measured on points whose x
   and y are the image's and whose depth is the model's.  Mean error over both recordings' eight camera-clips:
   upper arm 14.6 -> 10.4 degrees, elbow 21.3 -> 16.1, knee 13.9 -> 10.5.
2. **The image's own angle where the body part lies across the picture** (:func:`in_picture`): an angle between
   two directions (the two limbs of an elbow or a knee, the upper arm and the trunk) shows at its true size when
   the plane they span is square to the camera's axis (the knee from the side, an arm raised to the side from the
   front).  Turned edge-on, the plane distorts it without bound (a right angle seen 80 degrees from square can read
   anywhere between 10 and 170).  The 3D points' depth is good enough to tell roughly how the plane is turned, so an
   angle is the image's where its plane faces the camera within :data:`IMAGE_PLANE_LIMIT` degrees.  The image gives
   its size; its sign (an arm behind the body) stays the 3D points', which know front from back.  The limit is
   geometry, not a value fitted to the benchmark's frames: a plane turned 30 degrees from square distorts no angle in
   it by more than 8 degrees (45: 20; 60: 39), less than the 3D points' own errors of 10-20.  Measured (both
   recordings pooled), the elbow's and knee's mean error is 4-7 degrees from the image against 9-10 from 3D where
   their plane faces the camera within 15 degrees, about even at 45-60, and worse beyond (elbow 27-32 against 21-22).
   A knee filmed from the front or behind is the exception that does not move the limit: BlazePose's depth of a
   knee bending towards or away from the camera is too shallow, which makes the leg's plane look squarer to the
   camera than it is (``benchmarks/knee_depth.py``: 75-100% of the man's knee frames read from the image are turned
   further than the limit), but the 3D reading of those frames has the same shallow depth and is no better (a limit
   of 15 or 45 degrees moves no camera's knee error by more than a degree).
3. **The wrist's bend from the image where the forearm lies across the picture** (:func:`forearm_tilts`,
   :data:`WRIST_FOREARM_LIMIT`): the model's hand points (index and pinky knuckles) have the poorest depth of all, and
   a hand only 6-9 cm long turns a centimetre of depth into 6-10 degrees of bend.  Averaged over both recordings'
   eight camera-clips, the 3D wrist reads 9-10 degrees more bend than the reference (up to 21 on one camera), the
   image about 1 less (``benchmarks/wrist_accuracy.py``).  The image cannot make a straight wrist look
   bent: a straight line is straight from every viewpoint.  A bend out of the picture's plane it shows smaller
   (towards 0 edge-on), and one across the picture at most ``1/cos`` of the forearm's tilt larger (a tangent 1.4
   times at 45 degrees).  The hand's plane cannot be told (its points are too close together and their depth is the
   poor one), so the test is the forearm's own tilt out of the picture, from the elbow's and wrist's depth.  Pooled
   over both recordings, the wrist's mean error is 5 degrees from the image against 9 from 3D with the forearm
   within 30 degrees of the picture, 9 against 15 at 30-45, 11 against 15 at 45-60, and the 3D is better only beyond
   60 (26 against 18, 8 frames).

4. **The trunk's bend along the line of sight** (:func:`depth_uncertainty`): filmed from behind, a forward bend moves
   the shoulders away from the camera, in the depth the model guesses.  Measured against the true vertical in the
   model's own frame (the camera's axes turned to look at the worker; so no camera-angle estimate is to blame), its
   trunk leans 9-19 degrees (mean) too far forward in 4 of the 6 back views of the benchmark's two recordings (both
   people); on the other two, and from the front (two views), its error is 3-7 degrees.  No image cue tried
   recovers it (``benchmarks/trunk_depth.py``), so the trunk's scores from behind are a range, and the result says by
   how much (:attr:`Viewpoint.trunk_uncertainty`).
5. **The knee's bend along the line of sight** (:func:`sagittal_along_sight`): filmed from the front or behind, a knee
   bends towards or away from the camera, and the model's depth pulls the thigh and the shank towards one line: the
   man's knees on the benchmark read 7-17 degrees (mean) too straight on every camera (``benchmarks/knee_depth.py``),
   and nothing after the pose recovered it.  Per frame where the body's sagittal plane is turned more than
   :data:`IMAGE_PLANE_LIMIT` from the picture, REBA's range reaches :data:`KNEE_DEPTH` more knee bend
   (:attr:`Viewpoint.knee_uncertainty`); the exact scores stay the measured knee's.
6. **The upper arm's front or back along the line of sight** (:func:`arms_in_front`): filmed from the front or
   behind (:func:`sagittal_along_sight`, the knee's test), only the depth tells an arm in front of the body from one
   behind it, and from behind the model put an arm raised 23-32 degrees in front 21-31 behind.  There an arm is read
   as flexion of its elevation (the worksheets score both the same up to 45 degrees, flexion higher beyond): the two-person
   recording's cam04 upper arm 15.2/57.2 -> 10.9/38.3 degrees (MAE/p95), no camera's worse, no camera's RULA or REBA
   upper-arm score changed (``benchmarks/arm_probe.py``).

Kept on the model's own 3D points (:data:`OWN_POINTS`): the trunk against gravity, and the neck.

The viewpoint itself, the camera's azimuth about the worker (0 in front, 90 at the side, 180 behind, from the
hips' and shoulders' left-right axis), is kept in the result (:class:`Viewpoint`): on the benchmark it is within
1-13 degrees of the calibrated one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .angles import SIDES, AngleSettings, CameraTilt, Joints, compute_angles, compute_world_angles, levelled, prefer_3d, unit
from .result_model import ViewpointRecord

#: Beyond this angle between an angle's plane and the picture (degrees), the image distorts it too much: 3D (within it,
#: by at most 8 degrees).
IMAGE_PLANE_LIMIT = 30.0
#: The wrist's bend is the image's where the forearm points out of the picture by at most this (degrees): a straight
#: wrist reads straight from any view, and a bend across the picture reads at most 1.4 times its tangent (1/cos 45).
WRIST_FOREARM_LIMIT = 45.0
#: The angles measured on the model's own 3D points rather than on the image's: the trunk against gravity, whose
#: vertical (:func:`pipeline.angles.camera_tilt`) is estimated from those same points; and the neck, because the
#: image's ear points are not where the ears are.  The views agree on them (each view's ear midpoint reprojects within
#: 8-14 px of the four views' triangulation), but BlazePose places them inside the head's outline, ahead of the real
#: ears, in every view: triangulated, they make a head 10 cm wide with the ears 5 cm behind the nose, where the model's
#: own head is 14-16 and 12-14, as heads are (``benchmarks/reference_checks.py``; docs/pipeline.md, "The reference,
#: checked").
OWN_POINTS = ("trunk_flexion", "trunk_side_bend", "neck_flexion", "neck_side_bend")
#: A frame's points are placed on the image's where at least this many are seen in both (a scale needs a spread).
MIN_PLACED = 4
#: Two directions closer than this to one line (degrees) span no plane to speak of: a limb that straight is seen
#: straight from wherever it lies across the picture, so each direction's own tilt out of the picture counts instead.
STRAIGHT = 15.0
#: The camera's azimuth about the worker (degrees) at the borders of the views named in :class:`Viewpoint`.
VIEWS = (("front", 30.0), ("oblique_front", 60.0), ("side", 120.0), ("oblique_back", 150.0), ("back", 180.0))
#: How far (degrees) one camera's depth may tip the trunk along its line of sight when filming from behind: measured on
#: the four-camera benchmark (docs/pipeline.md, "How right the angles are"), BlazePose's trunk seen from behind leans
#: 9-19 degrees (mean) too far forward against the true vertical in its own frame in 4 of 6 camera-clips, 20-21 against
#: the calibrated one on the worst camera of both recordings; the same measured from the front stays within 8.
BEHIND_TRUNK_DEPTH = 20.0
#: How far (degrees) one camera's depth may read a knee too straight where its bend lies along the line of sight (the
#: worker filmed from the front or behind, :func:`sagittal_along_sight`): measured on the four-camera benchmark
#: (``benchmarks/knee_depth.py``; docs/pipeline.md, "The knee and REBA's legs"), the man's knees, filmed from the front
#: and behind, read 7-17 degrees (mean) too straight on every camera; the worst rounded up, as for the trunk.  Only ever
#: more bend: the depth pulls the thigh's and the shank's depths together, a straighter leg, never a more bent one.
KNEE_DEPTH = 20.0
#: The upper arms' angles, whose sign (in front of the body or behind it) :func:`arms_in_front` checks.
ARMS = tuple(f"upper_arm_{side}" for side in SIDES)


def _directions(joints: Joints) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per angle read from the image where it can be, the two directions whose angle it is (camera axes)."""
    shoulders, hips = joints.mid("left_shoulder", "right_shoulder"), joints.mid("left_hip", "right_hip")
    pairs = {}
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


def forearm_tilts(world: np.ndarray, keypoints: np.ndarray, names: Sequence[str], settings: AngleSettings
                  ) -> dict[str, np.ndarray]:
    """Per wrist angle (``wrist_{side}``), per frame, how far the forearm (elbow to wrist) points out of the picture
    (degrees, 0-90; NaN where a point is missing): the wrist's test for the image (:data:`WRIST_FOREARM_LIMIT`).  Not
    the plane of the forearm and the hand, as for the elbow: the hand's depth is the model's poorest."""
    joints = Joints(world, keypoints[..., 2], names, settings.min_confidence)
    return {f"wrist_{side}": _out_of_picture(joints[f"{side}_wrist"] - joints[f"{side}_elbow"]) for side in SIDES}


def in_picture(world: np.ndarray | None, keypoints: np.ndarray, names: Sequence[str], settings: AngleSettings
               ) -> dict[str, np.ndarray]:
    """Per angle, the frames whose plane lies across the picture (within :data:`IMAGE_PLANE_LIMIT`), and the wrists'
    frames whose forearm does (within :data:`WRIST_FOREARM_LIMIT`): read from the image there.  Without 3D points,
    nothing tells the plane: empty."""
    if world is None:
        return {}
    planes = {name: tilt <= IMAGE_PLANE_LIMIT for name, tilt in plane_tilts(world, keypoints, names, settings).items()}
    return {**planes, **{name: tilt <= WRIST_FOREARM_LIMIT for name, tilt in forearm_tilts(world, keypoints, names, settings).items()}}


def on_image(world: np.ndarray, keypoints: np.ndarray, min_confidence: float) -> np.ndarray:
    """The 3D points moved across the picture to where the image sees them, keeping their depth: per frame, x and y
    are the image's (about the seen points' centre, scaled to metres by the least-squares fit of the image's
    spread to the 3D points'), z the model's.

    BlazePose's 3D points come from a body model fitted to the picture: their x and y are that fit's, and miss
    the image's own joints by 3.4-4.6 cm (median; 90th percentile 6-9 cm) on the benchmark, several degrees at a
    limb 25-45 cm long.  Only the depth is what the image cannot give.  Measured on the benchmark (both recordings, mean over the eight
    camera-clips), the upper arm's error falls from 14.6 to 10.4 degrees, the elbow's from 21.3 to 16.1 and the
    knee's from 13.9 to 10.5.  A camera 3-4 m away sees a body 0.3 m deep with a scale that varies 10% across it:
    the one scale per frame is the weak-perspective approximation, well within those errors.
    """
    seen = (keypoints[..., 2] >= min_confidence) & np.isfinite(keypoints[..., :2]).all(-1) & np.isfinite(world).all(-1)
    count = seen.sum(-1, keepdims=True)
    image, across = np.where(seen[..., None], keypoints[..., :2], 0.0), np.where(seen[..., None], world[..., :2], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):  # frames with no point seen: left as they are below
        image_centre, world_centre = image.sum(-2, keepdims=True) / count[..., None], across.sum(-2, keepdims=True) / count[..., None]
        spread_image = np.where(seen[..., None], image - image_centre, 0.0)
        spread_world = np.where(seen[..., None], across - world_centre, 0.0)
        scale = np.sum(spread_image * spread_world, axis=(-2, -1)) / np.sum(spread_image ** 2, axis=(-2, -1))
    placed = world.astype(np.float64).copy()
    usable = (count[..., 0] >= MIN_PLACED) & (scale > 0)
    placed[usable, :, :2] = ((keypoints[..., :2] - image_centre) * scale[:, None, None] + world_centre)[usable]
    return placed


def measured_angles(world: np.ndarray | None, keypoints: np.ndarray, names: Sequence[str], settings: AngleSettings,
                    tilt: CameraTilt | None) -> tuple[dict[str, np.ndarray], dict[str, dict[str, int]]]:
    """Every angle, per frame: from the image where its plane faces the camera, else from the 3D points placed on
    the image (:func:`on_image`; the trunk against gravity from the model's own, :data:`OWN_POINTS`), else from the
    image, the upper arms as flexion where only depth tells front from back (:func:`arms_in_front`); and per angle the
    frames from each (:func:`pipeline.angles.prefer_3d`).  Without 3D points (or without
    a vertical for them), the image's angles."""
    image = compute_angles(keypoints, names, settings)
    if world is None or tilt is None:
        return prefer_3d(None, image)
    placed = on_image(world, keypoints, settings.min_confidence)
    own = compute_world_angles(world, keypoints, names, settings, tilt)
    deep = {**compute_world_angles(placed, keypoints, names, settings, tilt), **{name: own[name] for name in OWN_POINTS}}
    merged, sources = prefer_3d(deep, image, in_picture(placed, keypoints, names, settings))
    return arms_in_front(merged, azimuths(world, keypoints, names, settings, tilt)), sources


@dataclass(frozen=True)
class Viewpoint:
    """From where the camera saw the worker: per view of :data:`VIEWS`, the frames; and the median azimuth (degrees,
    0 the camera in front of the worker, 90 at their side, 180 behind), None where no frame told it."""

    frames: dict[str, int]
    median_azimuth: float | None
    #: Per frame, whether the knees' bend lay along the line of sight (:func:`sagittal_along_sight`); empty: none known.
    knee_sight: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    @property
    def trunk_uncertainty(self) -> float:
        """Degrees the trunk's flexion may be off for the depth it lies in from this viewpoint (:func:`depth_uncertainty`)."""
        return depth_uncertainty(self.median_azimuth)

    @property
    def knee_uncertainty(self) -> np.ndarray:
        """Per frame, degrees the knees may be bent beyond what was measured (:data:`KNEE_DEPTH` where their bend lay
        along the line of sight, else 0): REBA's scores are ranged up to it (:func:`pipeline.assessment.score_frames`)."""
        return np.where(self.knee_sight, KNEE_DEPTH, 0.0)

    def knees_seen(self, seen: np.ndarray) -> Viewpoint:
        """Only the frames whose knees were measured (``seen``, per frame) keep their bend along the line of sight: a
        knee not seen is not read too straight, the job's assumed one stands (and a verdict names no knees)."""
        return replace(self, knee_sight=self.knee_sight & seen)

    def as_dict(self) -> dict:
        knee_frames = int(self.knee_sight.sum())
        return {"frames": self.frames, "median_azimuth": None if self.median_azimuth is None else round(self.median_azimuth, 1),
                "trunk_uncertainty": round(self.trunk_uncertainty, 1), "knee_uncertainty": KNEE_DEPTH if knee_frames else 0.0,
                "knee_frames": knee_frames}


def sagittal_along_sight(azimuth: np.ndarray) -> np.ndarray:
    """Per frame, whether the body's sagittal plane (the plane a knee bends in and an arm swings forward and back in)
    is turned more than :data:`IMAGE_PLANE_LIMIT` from square to the picture: filmed from the front or behind (the
    views but ``side`` of :data:`VIEWS`), where front and back lie mostly along the camera's line of sight, in the depth
    one camera guesses (a knee there reads too straight).  Told by the hips and shoulders (:func:`azimuths`), not a
    limb's own points: the leg's shallow depth makes its own plane look squarer to the camera than it is
    (``benchmarks/knee_depth.py``).  False where no azimuth was told."""
    azimuth = np.asarray(azimuth, float)
    with np.errstate(invalid="ignore"):
        return np.isfinite(azimuth) & (np.abs(azimuth - 90.0) > IMAGE_PLANE_LIMIT)


def arms_in_front(angles: dict[str, np.ndarray], azimuth: np.ndarray) -> dict[str, np.ndarray]:
    """``angles`` with each upper arm read as flexion (its elevation, positive) in the frames whose front and back lie
    along the line of sight (:func:`sagittal_along_sight`): there only the depth one camera guesses tells an arm behind
    the body from one in front, and filmed from behind BlazePose put an arm raised 23-32 degrees in front 21-31
    degrees behind (``benchmarks/arm_probe.py``, the two-person recording's cam04).  Flexion is the conservative
    reading: the worksheets score extension and flexion of one elevation alike up to 45 degrees and flexion higher
    beyond, and work is mostly done in front of the body (docs/pipeline.md, "The upper arm")."""
    along = sagittal_along_sight(azimuth)
    return {name: np.where(along, np.abs(series), series) if name in ARMS else series for name, series in angles.items()}


def depth_uncertainty(azimuth: float | None) -> float:
    """How far (degrees) the trunk's flexion may be off, seen from ``azimuth`` (0 in front, 180 behind), for the depth
    one camera guesses: :data:`BEHIND_TRUNK_DEPTH` from behind (the views of :data:`BEHIND`, where it was measured);
    nothing from the side, where a forward bend lies across the picture (a depth error tips the trunk about the
    picture's horizontal axis, and only the cosine of the azimuth of that turn is flexion), or from the front, where
    it was measured within 8 degrees (docs/pipeline.md).  Not scaled down by that cosine behind at an angle: there the
    model also turns the pelvis, against which forward is measured, and the worst back view measured (135 degrees)
    was off by the most."""
    if azimuth is None or not np.isfinite(azimuth) or azimuth < dict(VIEWS)["side"]:
        return 0.0
    return BEHIND_TRUNK_DEPTH


def trunk_uncertainty(tilt: CameraTilt | None, seen_from: Viewpoint | None) -> float:
    """Degrees the trunk's flexion may be off, by which its scores are ranged (:func:`pipeline.assessment.score_frames`):
    the vertical's uncertainty (:attr:`pipeline.angles.CameraTilt.uncertainty`) and the viewpoint's depth
    (:attr:`Viewpoint.trunk_uncertainty`), independent errors, added in quadrature."""
    return float(np.hypot(0.0 if tilt is None else tilt.uncertainty, 0.0 if seen_from is None else seen_from.trunk_uncertainty))


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
    every = azimuths(world, keypoints, names, settings, tilt)
    seen = every[np.isfinite(every)]
    borders = [0.0] + [limit for _, limit in VIEWS]
    counts = np.histogram(seen, bins=borders)[0]
    return Viewpoint({name: int(count) for (name, _), count in zip(VIEWS, counts)}, float(np.median(seen)) if len(seen) else None,
                     sagittal_along_sight(every))


#: The views of :data:`VIEWS` in a safety engineer's words.
VIEW_WORDS = {"front": "the front", "oblique_front": "the front at an angle", "side": "the side",
              "oblique_back": "behind at an angle", "back": "behind"}
#: The views from which BlazePose's depth, so the trunk's and the upper arms' angles, is least reliable
#: (docs/pipeline.md, "How right the angles are": the trunk reads 15-30 degrees too much flexion from behind; its
#: scores are ranged for it, :func:`depth_uncertainty`).
BEHIND = ("oblique_back", "back")


def viewpoint_words(record: ViewpointRecord | None) -> str | None:
    """From where the worker was filmed and how much of it from behind, in words, for the report's "Viewpoint" line
    and the page's (the one wording of ``inputs.viewpoint``, which the job's view passes on as text); None where
    nothing was recorded (no 3D points, or an older result)."""
    if record is None:
        return None
    seen = sum(record.frames.values())
    if record.median_azimuth is None or not seen:
        return "Not known (no frame showed the hips and shoulders well enough to tell)."
    mostly = next((name for name, limit in VIEWS if record.median_azimuth < limit), VIEWS[-1][0])
    behind = sum(record.frames.get(name, 0) for name in BEHIND) / seen
    where = (f"Filmed mostly from {VIEW_WORDS[mostly]} (median azimuth {record.median_azimuth:.0f}°: "
             "0° in front of the worker, 90° at their side, 180° behind)")
    knees = (f" In {100 * record.knee_frames / seen:.0f}% of frames the knees were seen from the front or behind, where their bend "
             f"lies along the line of sight, which one camera reads too straight: REBA's scores are ranged up to "
             f"{record.knee_uncertainty:.0f}° more knee bend for it."
             if record.knee_frames and record.knee_uncertainty else "")
    if round(100 * behind) == 0:
        return f"{where}; no frames from behind.{knees}"
    ranged = (f" The trunk's scores are ranged over {record.trunk_uncertainty:.0f}° either way for it."
              if record.trunk_uncertainty else "")
    return (f"{where}; {100 * behind:.0f}% of frames from behind, where the depth, so the trunk's and the upper arms' "
            f"angles, is least reliable: film from the side or at 45° rather than from behind.{ranged}{knees}")
