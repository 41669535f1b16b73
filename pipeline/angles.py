"""Joint angles from keypoints, in the conventions of the scoring reference.

All angles are in degrees, flexion positive, extension negative.  Image
coordinates have y pointing down; "forward" is the direction the worker faces,
taken from the nose's side of the ears (a side view).  When the facing cannot
be told (a frontal view, no nose or ears), signed angles are reported as their
magnitude (flexion), which is what RULA/REBA score most of the time.

=====================  ===============================================================
angle                  definition
=====================  ===============================================================
``trunk_flexion``      hip-midpoint -> shoulder-midpoint line against vertical-up;
                       0 upright, positive leaning forward
``neck_flexion``       shoulder-midpoint -> ear-midpoint line against the trunk line;
                       0 head in line with the trunk, positive head forward/down
``upper_arm_{side}``   shoulder -> elbow against the trunk line pointing down;
                       0 arm hanging along the trunk, 90 horizontal forward,
                       negative behind the body (extension).  In 3D it is the
                       elevation (0-180) in any direction, to the side too,
                       negative only for an arm clearly behind the body
``elbow_{side}``       180 minus the shoulder-elbow-wrist angle; 0 straight arm
``knee_{side}``        180 minus the hip-knee-ankle angle; 0 straight leg
``wrist_{side}``       180 minus the elbow-wrist-hand angle, the hand point being the
                       middle of the index and pinky knuckles (models with hand
                       points); 0 hand in line with the forearm.  Unsigned: RULA and
                       REBA score the wrist by the size of its bend.  The hand points'
                       depth is poor: :mod:`pipeline.viewpoint` takes it from the image
                       where the forearm lies across the picture
``trunk_side_bend``    3D only: trunk line against vertical-up in the frontal plane
``neck_side_bend``     3D only: head line against the trunk line in the frontal plane
``upper_arm_abduction_{side}``  3D only: shoulder -> elbow out of the sagittal plane,
                       positive out to the side (90 straight out), negative across the body
=====================  ===============================================================

Models with 3D world landmarks (BlazePose) get every angle from metric 3D
points (:func:`compute_world_angles`): the body's own axes tell forward from
sideways, so the angles do not depend on where the camera stands.  2D angles
remain the fallback; :func:`prefer_3d` records which frames came from which.

A keypoint below ``min_confidence`` counts as missing; an angle that needs a
missing keypoint is NaN.  Short gaps are interpolated (up to ``max_gap_s``),
longer ones stay NaN and are reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from .ergonomics import UPPER_ARM_NEUTRAL

if TYPE_CHECKING:
    from .scene_vertical import SceneVertical

SIDES = ("left", "right")
ANGLE_NAMES = ("trunk_flexion", "neck_flexion", "upper_arm_left", "upper_arm_right", "elbow_left", "elbow_right",
               "knee_left", "knee_right", "wrist_left", "wrist_right", "trunk_side_bend", "neck_side_bend",
               "upper_arm_abduction_left", "upper_arm_abduction_right")


@dataclass(frozen=True)
class AngleSettings:
    min_confidence: float = 0.3
    #: Gaps in an angle series up to this long are linearly interpolated.
    max_gap_s: float = 0.5
    #: Savitzky-Golay smoothing window in seconds (0 disables smoothing).
    smoothing_window_s: float = 0.0
    smoothing_order: int = 2
    #: The nose must be this far ahead of the ears, in torso lengths, to tell which way the worker faces.
    facing_threshold: float = 0.08
    #: The camera's tilt when the person filming knows it (degrees; pitch positive looking down, roll positive when
    #: gravity leans towards the image's left): overrides the estimate from the worker's stance.  Both or neither.
    camera_pitch: float | None = None
    camera_roll: float | None = None
    #: Frames where both knees bend less than this (degrees) show the worker's legs along gravity.
    stance_max_knee: float = 25.0
    #: The stance estimate needs this many such frames, or the camera's own up stays the vertical.
    stance_min_frames: int = 5
    #: ...with hips, knees and ankles this visible: BlazePose places legs out of the picture too (at visibility
    #: 0.02-0.2 in the demo, whose photo ends at the waist), and a leg it guesses says nothing of gravity.
    stance_min_confidence: float = 0.5
    #: Take the vertical from the scene's straight lines where there are enough (:mod:`pipeline.scene_vertical`).
    scene_vertical: bool = True


class Joints:
    """Named access to (n, k, d) points, with low-confidence points (and joints the model lacks) as NaN."""

    def __init__(self, points: np.ndarray, confidence: np.ndarray, names: Sequence[str], min_confidence: float):
        self.points = points.astype(np.float64).copy()
        self.points[~(confidence >= min_confidence)] = np.nan
        self.index = {name: i for i, name in enumerate(names)}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.index:
            return np.full(self.points[:, 0].shape, np.nan)
        return self.points[:, self.index[name]]

    def hand(self, side: str) -> np.ndarray:
        """Middle of the index and pinky knuckles: where the hand points."""
        return self.mid(f"{side}_index", f"{side}_pinky")

    def mid(self, a: str, b: str) -> np.ndarray:
        return (self[a] + self[b]) / 2

    def mid_available(self, a: str, b: str) -> np.ndarray:
        """Midpoint of two points, or whichever one is available."""
        return np.where(np.isnan(self[a]), self[b], np.where(np.isnan(self[b]), self[a], self.mid(a, b)))


def unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):  # a zero-length limb has no direction: NaN
        return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _signed_angle(vector: np.ndarray, reference: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Angle of ``vector`` from ``reference``, positive towards ``forward`` (per frame, degrees).

    ``forward`` is +1 (worker faces +x), -1 (faces -x) or NaN (unknown: magnitude).
    """
    ref = unit(reference)
    perpendicular = np.stack([-ref[:, 1], ref[:, 0]], axis=-1)  # reference turned 90 degrees
    # orient the perpendicular towards the facing direction (+x or -x in the image)
    perpendicular *= np.where(perpendicular[:, :1] * np.nan_to_num(forward)[:, None] < 0, -1.0, 1.0)
    along = np.sum(vector * ref, axis=-1)
    across = np.sum(vector * perpendicular, axis=-1)
    signed = np.degrees(np.arctan2(across, along))
    return np.where(np.isnan(forward), np.abs(signed), signed)


def _joint_flexion(a: np.ndarray, joint: np.ndarray, b: np.ndarray) -> np.ndarray:
    """180 minus the angle at ``joint`` between ``a`` and ``b``: 0 for a straight limb."""
    u, v = unit(a - joint), unit(b - joint)
    return 180.0 - np.degrees(np.arccos(np.clip(np.sum(u * v, axis=-1), -1.0, 1.0)))


def facing(joints: Joints, threshold: float) -> np.ndarray:
    """+1 facing +x, -1 facing -x, NaN when it cannot be told."""
    ears = joints.mid_available("left_ear", "right_ear")
    ear_gap = np.abs(joints["left_ear"][:, 0] - joints["right_ear"][:, 0])
    torso = np.linalg.norm(joints.mid_available("left_shoulder", "right_shoulder") - joints.mid_available("left_hip", "right_hip"), axis=-1)
    lead = (joints["nose"][:, 0] - ears[:, 0]) / np.fmax(torso, 1.0)
    # ears far apart relative to the nose offset means a frontal view
    frontal = np.nan_to_num(ear_gap, nan=0.0) > np.abs(np.nan_to_num(joints["nose"][:, 0] - ears[:, 0], nan=0.0))
    side = np.where(lead > threshold, 1.0, np.where(lead < -threshold, -1.0, np.nan))
    return np.where(frontal, np.nan, side)


def compute_angles(keypoints: np.ndarray, names: Sequence[str], settings: AngleSettings = AngleSettings()) -> dict[str, np.ndarray]:
    """Per-frame angles (float64, NaN where not measurable) from (n, k, 3) keypoints."""
    joints = Joints(keypoints[..., :2], keypoints[..., 2], names, settings.min_confidence)
    forward = facing(joints, settings.facing_threshold)
    shoulders = joints.mid_available("left_shoulder", "right_shoulder")
    hips = joints.mid_available("left_hip", "right_hip")
    trunk = shoulders - hips  # points up along the trunk
    up = np.tile([0.0, -1.0], (len(trunk), 1))
    angles = {
        "trunk_flexion": _signed_angle(trunk, up, forward),
        "neck_flexion": _signed_angle(joints.mid_available("left_ear", "right_ear") - shoulders, trunk, forward),
    }
    for side in SIDES:
        angles[f"upper_arm_{side}"] = _signed_angle(joints[f"{side}_elbow"] - joints[f"{side}_shoulder"], -trunk, forward)
        angles[f"elbow_{side}"] = _joint_flexion(joints[f"{side}_shoulder"], joints[f"{side}_elbow"], joints[f"{side}_wrist"])
        angles[f"knee_{side}"] = _joint_flexion(joints[f"{side}_hip"], joints[f"{side}_knee"], joints[f"{side}_ankle"])
        angles[f"wrist_{side}"] = _joint_flexion(joints[f"{side}_elbow"], joints[f"{side}_wrist"], joints.hand(side))
    for name in ("trunk_side_bend", "neck_side_bend", "upper_arm_abduction_left", "upper_arm_abduction_right"):
        angles[name] = np.full(len(trunk), np.nan)  # a 2D view cannot tell sideways
    return angles


def signed_tilt(vector: np.ndarray, reference: np.ndarray, towards: np.ndarray) -> np.ndarray:
    """How far 3D ``vector`` tips from ``reference`` towards ``towards`` (degrees, positive towards it).

    Measured out of the plane that holds ``reference`` and is square to ``towards``, not as a projection
    onto a plane: a projection inflates the forward angle of a trunk that also leans sideways (with 40
    degrees of side bend, 12 degrees of flexion would project to 15.5).  Bent over beyond horizontal,
    the angle goes on past 90.
    """
    ref = unit(reference)
    toward = unit(towards - np.sum(towards * ref, axis=-1, keepdims=True) * ref)
    along, across = np.sum(vector * ref, axis=-1), np.sum(vector * toward, axis=-1)
    rest = np.linalg.norm(vector - along[..., None] * ref - across[..., None] * toward, axis=-1)
    return np.degrees(np.arctan2(across, np.where(along < 0, -1.0, 1.0) * np.hypot(along, rest)))


def side_bend(vector: np.ndarray, reference: np.ndarray, side: np.ndarray) -> np.ndarray:
    """How far ``vector`` leans out of the plane of ``reference`` to either ``side`` (degrees, 0-90): a trunk bent
    over past horizontal is not bent sideways (:func:`signed_tilt`, which goes on past 90, would read it 180)."""
    bend = np.abs(signed_tilt(vector, reference, side))
    return np.minimum(bend, 180.0 - bend)


def _arm_elevation(arm: np.ndarray, down: np.ndarray, forward: np.ndarray, outward: np.ndarray) -> np.ndarray:
    """Upper-arm elevation: the angle between the arm and the trunk's downward axis (0-180 degrees), defined in
    every position; negative (extension) only where the arm points clearly behind the body.

    Flexion measured in the sagittal plane is undefined for an arm raised to the side (its sagittal projection
    shrinks to a point) and flipped between 0 and 180 there; the elevation does not.  Its sign is the sagittal
    component's only where that is well defined: the arm must lie behind the body's frontal plane by more than
    the worksheets' neutral band (:data:`pipeline.ergonomics.UPPER_ARM_NEUTRAL`, 20 degrees), and more behind it
    than out to the side.  Closer to the frontal plane an arm has no extension RULA or REBA would score, so its
    elevation (to the side) is what counts; and which side of that plane it lies on is the depth a single camera
    guesses worst: filmed from behind, BlazePose's depth put an arm hanging out to the side within a few degrees of
    the plane 15-20 degrees behind it, and a sign taken there flipped the angle from +25 to -25
    (docs/pipeline.md, "Angles").  An arm swinging from the front to the side stays positive.
    """
    down_axis = unit(down)
    elevation = np.degrees(np.arccos(np.clip(np.sum(unit(arm) * down_axis, axis=-1), -1.0, 1.0)))
    square = arm - np.sum(arm * down_axis, axis=-1, keepdims=True) * down_axis  # the arm seen from along the trunk
    ahead, aside = np.sum(square * unit(forward), axis=-1), np.sum(square * unit(outward), axis=-1)
    clearly_behind = -ahead > np.sin(np.radians(UPPER_ARM_NEUTRAL)) * np.linalg.norm(arm, axis=-1)  # out of the frontal plane
    return np.where(clearly_behind & (-ahead > np.abs(aside)), -elevation, elevation)


def _abduction(arm: np.ndarray, outward: np.ndarray) -> np.ndarray:
    """How far the arm points out of the sagittal plane, towards ``outward`` (degrees, -90 to 90): defined in every
    position, 0 for an arm anywhere in the sagittal plane, 90 straight out to the side."""
    return np.degrees(np.arcsin(np.clip(np.sum(unit(arm) * unit(outward), axis=-1), -1.0, 1.0)))


#: A stance estimate is trusted (confidence ``high``) from this many frames with straight legs whose directions lie
#: within this many degrees (median) of the estimate; a looser one is trusted to no better than that spread.
TILT_TRUSTED_FRAMES, TILT_TRUSTED_SPREAD = 10, 10.0
#: How far (degrees) gravity's vertical may be from the camera's up when the tilt could not be estimated: a phone
#: held to keep a standing worker in the picture is rarely pitched or rolled further (an assumption, not a measurement).
UNKNOWN_TILT_UNCERTAINTY = 30.0
#: The scene's vertical (:mod:`pipeline.scene_vertical`) is used from this many segments pointing at it, this long in
#: all (in lengths of the image's long side): a door frame or a shelf's two edges seen in a few frames...
SCENE_TRUSTED_LINES, SCENE_TRUSTED_LENGTH = 20, 1.0
#: ...whose fit wanders by no more than this (degrees, standard deviation of pitch and roll over resamples)...
SCENE_TRUSTED_SD = 3.0
#: ...and whose frames, each fitted alone, roll it by no more than this (degrees, median over the frames with
#: enough lines): a phone turning in the hand, or edges that turn with the subject, meet at no one vertical.
SCENE_TRUSTED_FRAMES_APART = 4.0
#: ...unless a trusted stance puts the vertical further away than this (degrees): the lines are then something else
#: (a slanted roof, a ramp) and the stance is kept.  The stance was measured up to 18 degrees off (benchmarks/accuracy.py).
SCENE_MAX_DISAGREEMENT = 25.0


@dataclass(frozen=True)
class CameraTilt:
    """Gravity's vertical as the camera sees it: which way is down in the world points' axes.

    ``method``: ``given`` (the person filming said), ``scene`` (the vertical vanishing point of the scene's straight
    lines, :mod:`pipeline.scene_vertical`), ``stance`` (the median direction from the ankles to the hips over the
    frames with straight knees) or ``none`` (no estimate: the camera's up is taken for vertical).
    ``frames`` and ``spread`` are the stance's: its frames and the median angle (degrees) between their leg directions
    and its estimate.  ``lines`` and ``line_length`` are the scene's segments that pointed at the vertical (0 when
    none were read) and their length in image long sides; ``scene_pitch`` and ``scene_roll`` the lines' own tilt
    where they were trusted (:func:`trusted_scene`), kept so that a re-score finds the same vertical without the video.
    """

    pitch: float
    roll: float
    method: str
    frames: int = 0
    spread: float | None = None
    lines: int = 0
    line_length: float = 0.0
    scene_pitch: float | None = None
    scene_roll: float | None = None

    @classmethod
    def from_down(cls, down: np.ndarray, method: str, frames: int = 0, spread: float | None = None, lines: int = 0,
                  line_length: float = 0.0) -> CameraTilt:
        """The tilt that makes ``down`` (in the camera's axes: x right, y down, z away) gravity's direction."""
        return cls(float(np.degrees(np.arctan2(down[2], down[1]))), float(np.degrees(np.arctan2(-down[0], down[1]))), method, frames,
                   spread, lines, line_length)

    @property
    def down(self) -> np.ndarray:
        down = np.array([-np.tan(np.radians(self.roll)), 1.0, np.tan(np.radians(self.pitch))])
        return down / np.linalg.norm(down)

    @property
    def confidence(self) -> str:
        """high: a given tilt, the scene's (only used when trusted), or a stance seen in enough frames that agree
        within 10 degrees; low: fewer or looser; none: not estimated."""
        if self.method == "none":
            return "none"
        if self.method.startswith("scene"):
            return "high"
        trusted = self.spread is not None and self.spread <= TILT_TRUSTED_SPREAD and self.frames >= TILT_TRUSTED_FRAMES
        return "high" if self.method == "given" or trusted else "low"

    @property
    def uncertainty(self) -> float:
        """How far (degrees) the vertical may be off, by which the trunk's scoring band is widened
        (:func:`pipeline.assessment.score_frames`): 0 when the confidence is high; for a low one, the stance frames'
        spread, and no less than the spread a trusted estimate must keep within; :data:`UNKNOWN_TILT_UNCERTAINTY`
        when there is no estimate."""
        confidence = self.confidence
        if confidence == "high":
            return 0.0
        if confidence == "none":
            return UNKNOWN_TILT_UNCERTAINTY
        return max(self.spread or 0.0, TILT_TRUSTED_SPREAD)

    def as_dict(self) -> dict:
        return {"pitch": round(self.pitch, 1), "roll": round(self.roll, 1), "method": self.method, "confidence": self.confidence,
                "frames": self.frames, "spread": None if self.spread is None else round(self.spread, 1),
                "uncertainty": round(self.uncertainty, 1), "lines": self.lines, "line_length": round(self.line_length, 2),
                "scene_pitch": None if self.scene_pitch is None else round(self.scene_pitch, 2),
                "scene_roll": None if self.scene_roll is None else round(self.scene_roll, 2)}


def camera_tilt(world: np.ndarray, keypoints: np.ndarray, names: Sequence[str], settings: AngleSettings = AngleSettings(),
                scene: SceneVertical | None = None) -> CameraTilt:
    """The camera's pitch and roll: the user's if given, else the scene's lines' (``scene``) where there are enough
    of them and a trusted stance does not contradict them, else from the worker's stance over the whole video.

    On the four-camera benchmark the scene's lines find the roll within 0.5 degrees and the pitch within 2-4
    (the focal length assumed), where the stance missed by up to 18 (docs/pipeline.md, "Angles").
    """
    if settings.camera_pitch is not None and settings.camera_roll is not None:
        return CameraTilt(float(settings.camera_pitch), float(settings.camera_roll), "given")
    stance = stance_tilt(world, keypoints, names, settings)
    scene = scene if settings.scene_vertical else None
    if scene is None:
        return stance
    if not trusted_scene(scene):
        return replace(stance, lines=scene.lines, line_length=scene.length)
    seen = CameraTilt.from_down(scene.down, "scene")
    lines = replace(stance, lines=scene.lines, line_length=scene.length, scene_pitch=seen.pitch, scene_roll=seen.roll)
    if stance.confidence == "high" and _degrees_apart(stance.down, scene.down) > SCENE_MAX_DISAGREEMENT:
        return lines
    if stance.confidence != "high":
        return replace(lines, pitch=seen.pitch, roll=seen.roll, method="scene")
    # the roll is the lines' (the focal length does not enter it); the pitch, which rests on an assumed focal length
    # and on lines of unknown height, is averaged with the stance's, whose errors are the legs' and unrelated
    return replace(lines, pitch=(seen.pitch + stance.pitch) / 2, roll=seen.roll, method="scene+stance")


def trusted_scene(scene: SceneVertical) -> bool:
    """Enough of the scene's lines, long enough, pointing at one vertical that resampling them does not move and
    that the frames, each alone, agree on."""
    return (scene.lines >= SCENE_TRUSTED_LINES and scene.length >= SCENE_TRUSTED_LENGTH
            and max(scene.pitch_sd, scene.roll_sd) <= SCENE_TRUSTED_SD and scene.frames_apart <= SCENE_TRUSTED_FRAMES_APART)


def _degrees_apart(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(a @ b, -1.0, 1.0))))


def stance_tilt(world: np.ndarray, keypoints: np.ndarray, names: Sequence[str], settings: AngleSettings = AngleSettings()) -> CameraTilt:
    """The camera's pitch and roll from the worker's stance over the whole video.

    A camera tilted down by 20 degrees tilts the world points with it: measured against the camera's up, a
    trunk would lean 20 degrees forward (or back, filmed from behind).  Legs with straight knees are vertical
    whatever the trunk does, and the hips-over-ankles direction, in its median over the video, finds the vertical
    to within about 5-10 degrees on the four-camera benchmark (benchmarks/accuracy.py), 18 at worst.
    """
    joints = Joints(world, keypoints[..., 2], names, max(settings.min_confidence, settings.stance_min_confidence))
    legs = unit(joints.mid("left_hip", "right_hip") - joints.mid("left_ankle", "right_ankle"))
    knees = np.maximum(_joint_flexion(joints["left_hip"], joints["left_knee"], joints["left_ankle"]),
                    _joint_flexion(joints["right_hip"], joints["right_knee"], joints["right_ankle"]))
    straight = legs[np.isfinite(legs).all(-1) & (knees < settings.stance_max_knee)]
    if len(straight) < settings.stance_min_frames:
        return CameraTilt(0.0, 0.0, "none", len(straight))
    down = -unit(np.median(straight, axis=0))
    spread = float(np.median(np.degrees(np.arccos(np.clip(-straight @ down, -1.0, 1.0)))))
    return CameraTilt.from_down(down, "stance", len(straight), spread)


def levelled(world: np.ndarray, down: np.ndarray) -> np.ndarray:
    """World points turned (the smallest rotation) so that ``down`` becomes the y axis."""
    y = np.array([0.0, 1.0, 0.0])
    axis, cosine = np.cross(down, y), float(down @ y)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rotation = np.eye(3) + cross + cross @ cross / (1.0 + cosine)
    return world @ rotation.T


def compute_world_angles(world: np.ndarray, keypoints: np.ndarray, names: Sequence[str],
                         settings: AngleSettings = AngleSettings(), tilt: CameraTilt | None = None) -> dict[str, np.ndarray]:
    """Per-frame angles from (n, k, 3) metric world points (x right, y down, z away from the camera).

    Confidence comes from the image keypoints' visibility.  The body's axes: *left* from the right to
    the left hip (pelvis) or shoulder (chest); *forward* = left x up, so the angles hold from any
    viewpoint.  Vertical is gravity's as the camera's ``tilt`` gives it (:func:`camera_tilt`); without
    one, the camera's up, and a tilted camera tilts the trunk angle with it.
    """
    if tilt is not None:
        world = levelled(world, tilt.down)
    joints = Joints(world, keypoints[..., 2], names, settings.min_confidence)
    up = np.tile([0.0, -1.0, 0.0], (len(world), 1))
    shoulders, hips = joints.mid("left_shoulder", "right_shoulder"), joints.mid("left_hip", "right_hip")
    trunk = shoulders - hips
    pelvis_left = unit(joints["left_hip"] - joints["right_hip"])
    pelvis_forward = np.cross(pelvis_left, up)
    angles = {"trunk_flexion": signed_tilt(trunk, up, pelvis_forward), **against_trunk(joints, trunk)}
    for side in SIDES:
        angles[f"elbow_{side}"] = _joint_flexion(joints[f"{side}_shoulder"], joints[f"{side}_elbow"], joints[f"{side}_wrist"])
        angles[f"knee_{side}"] = _joint_flexion(joints[f"{side}_hip"], joints[f"{side}_knee"], joints[f"{side}_ankle"])
        angles[f"wrist_{side}"] = _joint_flexion(joints[f"{side}_elbow"], joints[f"{side}_wrist"], joints.hand(side))
    angles["trunk_side_bend"] = side_bend(trunk, up, pelvis_left)
    return angles


def against_trunk(joints: Joints, trunk: np.ndarray) -> dict[str, np.ndarray]:
    """The angles measured against the trunk line (neck, upper arms), for a trunk seen or a candidate for a hidden one.

    ``trunk`` is (n, 3), or (n, c, 3) for c candidate trunks per frame (then every angle is (n, c)).
    """
    extra = (slice(None),) + (None,) * (trunk.ndim - 2)  # the joints' (n, 3) points broadcast over the candidates

    def point(name: str) -> np.ndarray:
        return joints[name][extra]

    shoulders = joints.mid("left_shoulder", "right_shoulder")[extra]
    chest_left = unit(point("left_shoulder") - point("right_shoulder"))
    chest_forward = np.cross(chest_left, unit(trunk))
    head = joints.mid("left_ear", "right_ear")[extra] - shoulders
    angles = {"neck_flexion": signed_tilt(head, trunk, chest_forward), "neck_side_bend": side_bend(head, trunk, chest_left)}
    for side in SIDES:
        arm, outward = point(f"{side}_elbow") - point(f"{side}_shoulder"), chest_left if side == "left" else -chest_left
        outward = outward - np.sum(outward * unit(trunk), axis=-1, keepdims=True) * unit(trunk)  # square to the trunk
        angles[f"upper_arm_{side}"] = _arm_elevation(arm, -trunk, chest_forward, outward)
        angles[f"upper_arm_abduction_{side}"] = _abduction(arm, outward)
    return angles


#: What a hidden trunk could be (degrees): forward flexion from upright (negative: leaning back) and side bend, each
#: over the trunk's range of motion with the hips (extension about 30, flexion to about 120 bent over, side bend
#: about 35: normal ranges of motion).  The steps are finer than any band the worksheets draw on the angles.
HIDDEN_TRUNK_FLEXION = tuple(float(a) for a in np.arange(-30.0, 120.1, 2.5))
HIDDEN_TRUNK_SIDE_BEND = (-35.0, -25.0, -15.0, 0.0, 15.0, 25.0, 35.0)
#: The angles a hidden trunk moves (the rest do not depend on the trunk).
TRUNK_DEPENDENT = ("trunk_flexion", "trunk_side_bend", "neck_flexion", "neck_side_bend", "upper_arm_left", "upper_arm_right",
                   "upper_arm_abduction_left", "upper_arm_abduction_right")


#: Frames whose candidate trunks are measured together: a block's arrays (frames x candidates x 3) stay in the CPU's cache.
HIDDEN_BLOCK_FRAMES = 512


def hidden_trunk_angles(world: np.ndarray, keypoints: np.ndarray, names: Sequence[str],
                        settings: AngleSettings = AngleSettings(), tilt: CameraTilt | None = None) -> dict[str, np.ndarray]:
    """For frames whose hips are out of view but shoulders in view, the trunk-dependent angles (:data:`TRUNK_DEPENDENT`)
    for every trunk the worker could have: (n, c) arrays over c candidate trunks, NaN in the other frames.

    Seated behind a bench or framed from the waist up, the hips are hidden and with them the trunk line, which the
    neck and upper-arm angles are measured against.  The shoulders, head and elbows are still seen against gravity's
    vertical, so each candidate trunk (every flexion and side bend of :data:`HIDDEN_TRUNK_FLEXION` and
    :data:`HIDDEN_TRUNK_SIDE_BEND`, leaning towards the way the chest faces) gives the neck and arm angles it would
    measure, by the same definitions as a trunk seen: scored together, their range is honest about the coupling.

    A 10-minute video framed from the waist up is 3000 frames of 427 candidates each, so only the hidden frames are
    measured, :data:`HIDDEN_BLOCK_FRAMES` at a time (:func:`_candidate_angles`); each number is the one measuring
    them all at once would give, to the bit.
    """
    if tilt is not None:
        world = levelled(world, tilt.down)
    confidence = keypoints[..., 2]
    joints = Joints(world, confidence, names, settings.min_confidence)
    hidden = np.isnan(joints.mid("left_hip", "right_hip")).any(-1) & ~np.isnan(joints.mid("left_shoulder", "right_shoulder")).any(-1)
    flexion, side = (np.radians(a)[None, :, None] for a in np.array(np.meshgrid(HIDDEN_TRUNK_FLEXION, HIDDEN_TRUNK_SIDE_BEND)).reshape(2, -1))
    angles = {name: np.full((len(world), flexion.shape[1]), np.nan) for name in TRUNK_DEPENDENT}
    frames = np.flatnonzero(hidden)
    for start in range(0, len(frames), HIDDEN_BLOCK_FRAMES):
        block = frames[start:start + HIDDEN_BLOCK_FRAMES]
        measured = _candidate_angles(Joints(world[block], confidence[block], names, settings.min_confidence), flexion, side)
        for name in TRUNK_DEPENDENT:
            angles[name][block] = measured[name]
    return angles


def _candidate_angles(joints: Joints, flexion: np.ndarray, side: np.ndarray) -> dict[str, np.ndarray]:
    """The trunk-dependent angles of frames with the hips hidden (``joints``: theirs alone), for each candidate trunk
    (``flexion`` and ``side`` bend in radians, (1, c, 1)): (frames, c) arrays."""
    up = np.array([0.0, -1.0, 0.0])
    forward = unit(np.cross(unit(joints["left_shoulder"] - joints["right_shoulder"]), up))  # level, the way the chest faces
    left = np.cross(up, forward)
    trunk = (np.cos(side) * np.cos(flexion) * up + np.sin(flexion) * forward[:, None] + np.cos(flexion) * np.sin(side) * left[:, None])
    trunk = _coordinates_first(trunk)
    return {"trunk_flexion": signed_tilt(trunk, up, forward[:, None]), "trunk_side_bend": side_bend(trunk, up, left[:, None]),
            **against_trunk(joints, trunk)}


def _coordinates_first(points: np.ndarray) -> np.ndarray:
    """``points`` (..., 3), the same values, laid out in memory with the three coordinates of every point apart (x's,
    then y's, then z's).  Numpy then adds up a dot product's or a norm's three terms across whole rows of points, in
    the same order, rather than three numbers at a time: the candidate trunks' angles come out the same, twice as fast."""
    return np.moveaxis(np.ascontiguousarray(np.moveaxis(points, -1, 0)), 0, -1)


def prefer_3d(world_angles: dict[str, np.ndarray] | None, image_angles: dict[str, np.ndarray],
              in_picture: dict[str, np.ndarray] | None = None) -> tuple[dict[str, np.ndarray], dict[str, dict[str, int]]]:
    """Each angle from 3D where measured there, else from 2D; and per angle, how many frames came from each.

    Where ``in_picture`` (per angle, per frame: :func:`pipeline.viewpoint.in_picture`) says the angle lies across the
    picture, its size is the image's and its sign the 3D points'; those frames count as ``2d`` and, again, as
    ``2d_in_picture`` (the others from 2D had no 3D measurement)."""
    merged, sources = {}, {}
    for name, flat in image_angles.items():
        deep = world_angles[name] if world_angles is not None else np.full_like(flat, np.nan)
        seen = (in_picture or {}).get(name, np.zeros(flat.shape, bool)) & ~np.isnan(flat) & ~np.isnan(deep)
        from_3d = ~np.isnan(deep) & ~seen
        merged[name] = np.where(seen, np.copysign(np.abs(flat), deep), np.where(from_3d, deep, flat))
        sources[name] = {"3d": int(from_3d.sum()), "2d": int((~from_3d & ~np.isnan(flat)).sum()), "2d_in_picture": int(seen.sum())}
    return merged, sources


def fill_short_gaps(series: np.ndarray, times: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linearly interpolate NaN runs lasting at most ``max_gap_s`` between two measured values."""
    out = series.copy()
    known = np.flatnonzero(~np.isnan(series))
    for left, right in zip(known[:-1], known[1:]):
        if right - left > 1 and times[right] - times[left] <= max_gap_s + 1e-9:
            span = slice(left + 1, right)
            out[span] = np.interp(times[span], [times[left], times[right]], [series[left], series[right]])
    return out


def savitzky_golay(series: np.ndarray, window: int, order: int) -> np.ndarray:
    """Savitzky-Golay smoothing of each NaN-free run long enough for the window."""
    if window < order + 2:
        return series
    window += window % 2 == 0  # odd
    half = window // 2
    design = np.vander(np.arange(-half, half + 1), order + 1, increasing=True)
    coefficients = np.linalg.pinv(design)[0]
    out = series.copy()
    finite = ~np.isnan(series)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(int), [0]])))
    for start, stop in zip(edges[::2], edges[1::2]):
        if stop - start >= window:
            run = series[start:stop]
            smoothed = np.convolve(run, coefficients[::-1], mode="valid")
            out[start + half:stop - half] = smoothed
    return out


def clean_angles(angles: dict[str, np.ndarray], times: np.ndarray, settings: AngleSettings) -> dict[str, np.ndarray]:
    """Bounded gap filling, then optional smoothing."""
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    window = int(round(settings.smoothing_window_s / step)) if settings.smoothing_window_s > 0 else 0
    cleaned = {}
    for name, series in angles.items():
        filled = fill_short_gaps(series, times, settings.max_gap_s)
        cleaned[name] = savitzky_golay(filled, window, settings.smoothing_order) if window else filled
    return cleaned


def missing_spans(present: np.ndarray, times: np.ndarray, min_duration_s: float) -> list[tuple[float, float]]:
    """(start, end) times of runs where ``present`` is False lasting at least ``min_duration_s``."""
    spans = []
    edges = np.flatnonzero(np.diff(np.concatenate([[1], present.astype(int), [1]])))
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    for start, stop in zip(edges[::2], edges[1::2]):
        begin, end = float(times[start]), float(times[stop - 1]) + step
        if end - begin >= min_duration_s:
            spans.append((round(begin, 3), round(end, 3)))
    return spans
