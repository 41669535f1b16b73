"""Gravity's vertical from the scene's straight lines: their vertical vanishing point.

Door frames, shelves, walls and machines stand along gravity.  In a picture their edges all point at one
point, the vertical vanishing point; its direction from the image's centre is the camera's roll (whatever the
lens), and its distance is the pitch, through the focal length.  The worker's stance
(:func:`pipeline.angles.camera_tilt`) misses the vertical where the worker stands with legs apart or the weight
on one leg; the scene's lines do not care how the worker stands.

Lines come from OpenCV's line segment detector on a few sampled frames (:func:`frame_lines`), outside the people's
boxes so that their limbs do not vote.  The vanishing point is the one most of the near-vertical lines' length
points at (a seeded RANSAC over pairs of lines, refined by least squares: :func:`scene_vertical`).  Lines of the
floor that run away from the camera also look near-vertical in the picture, but they meet on the horizon, 90
degrees from down, and the search only considers directions within :data:`MAX_TILT` of the camera's own down.

The focal length is not known: :data:`ASSUMED_FOCAL` (in lengths of the image's long side) is a phone's main camera
(about 64 degrees across the long side).  Only the pitch depends on it: at a true pitch p, a focal ``k`` times the
true one reads ``atan(k tan p)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .angles import CameraTilt

#: The assumed focal length in lengths of the image's long side (a phone's main camera: about 64 degrees across it).
ASSUMED_FOCAL = 0.8
#: Only segments at least this long (fraction of the image's long side) are read: short ones point anywhere.
MIN_LENGTH = 0.04
#: Segments within this many degrees of the image's vertical may vote (roll and pitch tip lines by up to about that).
MAX_LEAN = 40.0
#: The vertical is searched within this many degrees of the camera's own down.
MAX_TILT = 45.0
#: A segment points at the vanishing point when its plane through the camera's centre misses the direction by less
#: than this many degrees (near the picture's centre, its angle in the image).
INLIER_ANGLE = 1.5
#: Segments with both ends within this fraction of the long side of the picture's left or right edge are dropped:
#: the picture's own border (an encoder's dark padding column, a crop) runs along the camera's axes, not gravity's
#: (on the benchmark's multi cam01 a dark first column, 0.8 long sides of it per frame, pulled the pitch 15 degrees).
BORDER = 0.01
#: The worker's box is widened by this fraction of its size on every side before lines in it are dropped.
BOX_MARGIN = 0.1
#: RANSAC's pairs of lines; the seed keeps a rerun's answer the same.
TRIALS, SEED = 300, 0


#: Resamples of the segments that pointed at the vertical, refitted to tell how well pitch and roll are known.
RESAMPLES = 30
#: A frame's own vertical is compared with all frames' from this many of its segments pointing at it.
FRAME_LINES = 8
#: ...in this many frames at least: of two frames that disagree, neither outvotes the other (on the benchmark's
#: single cam04, one of two frames' own lines met 20 degrees of roll away from the scene's true vertical).
FRAMES_COMPARED = 3


@dataclass(frozen=True)
class SceneVertical:
    """The vertical vanishing point's direction ``down`` (camera axes: x right, y down, z away), how many segments
    pointed at it and their length (in image long sides), the median angle (degrees) between them and it, and how
    far (degrees, standard deviation over resamples of those segments) its pitch and roll wander: segments nearly
    parallel in the picture fix the roll but not the distance to their meeting point, which is the pitch; and how
    far the frames' own verticals are from it."""

    down: np.ndarray
    lines: int
    length: float
    spread: float
    pitch_sd: float = 0.0
    roll_sd: float = 0.0
    #: The median difference (degrees) between this vertical's roll and the frames' own (:func:`frames_apart`).
    frames_apart: float = 0.0


def focal_px(width: int, height: int) -> float:
    """The assumed focal length (pixels) of a ``width`` x ``height`` picture (:data:`ASSUMED_FOCAL`)."""
    return ASSUMED_FOCAL * max(width, height)


def frame_lines(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(m, 4) segments x1, y1, x2, y2 (pixels) of one frame (BGR or grey), near-vertical, long enough, and outside
    every box in ``boxes`` ((p, 4+) x1, y1, x2, y2; NaN rows ignored): the people's limbs are not the scene's."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    found = cv2.createLineSegmentDetector().detect(grey)[0]
    if found is None:
        return np.zeros((0, 4), np.float32)
    segments = found.reshape(-1, 4)
    dx, dy = segments[:, 2] - segments[:, 0], segments[:, 3] - segments[:, 1]
    long_enough = np.hypot(dx, dy) >= MIN_LENGTH * max(grey.shape)
    upright = np.degrees(np.arctan2(np.abs(dx), np.abs(dy))) <= MAX_LEAN
    return segments[long_enough & upright & ~_on_border(segments, grey.shape[1], grey.shape[0])
                    & ~_in_boxes(segments, boxes)].astype(np.float32)


def _on_border(segments: np.ndarray, width: int, height: int) -> np.ndarray:
    """Which segments run along the picture's left or right edge (both ends within :data:`BORDER`)."""
    margin = BORDER * max(width, height)
    xs = segments[:, [0, 2]]
    return (xs < margin).all(axis=1) | (xs > width - 1 - margin).all(axis=1)


def _in_boxes(segments: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Which segments touch any of the (widened) boxes: either end or the middle inside one."""
    inside = np.zeros(len(segments), bool)
    for box in np.asarray(boxes, np.float64).reshape(-1, np.shape(boxes)[-1] if np.size(boxes) else 4):
        if not np.isfinite(box[:4]).all():
            continue
        x1, y1, x2, y2 = box[:4]
        mx, my = BOX_MARGIN * (x2 - x1), BOX_MARGIN * (y2 - y1)
        for px, py in ((segments[:, 0], segments[:, 1]), (segments[:, 2], segments[:, 3]),
                       ((segments[:, 0] + segments[:, 2]) / 2, (segments[:, 1] + segments[:, 3]) / 2)):
            inside |= (px >= x1 - mx) & (px <= x2 + mx) & (py >= y1 - my) & (py <= y2 + my)
    return inside


def _normals(segments: np.ndarray, width: int, height: int, focal: float) -> np.ndarray:
    """Each segment's plane through the camera's centre, as its unit normal in camera axes."""
    centre = np.array([width / 2, height / 2])
    a = np.column_stack([(segments[:, :2] - centre) / focal, np.ones(len(segments))])
    b = np.column_stack([(segments[:, 2:] - centre) / focal, np.ones(len(segments))])
    normals = np.cross(a, b)
    return normals / np.linalg.norm(normals, axis=1, keepdims=True)


def _misses(normals: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Angles (degrees) by which each segment's plane misses the direction ``down``."""
    return np.degrees(np.arcsin(np.clip(np.abs(normals @ down), 0.0, 1.0)))


def scene_vertical(segments: np.ndarray, width: int, height: int, focal: float | None = None,
                   frames: np.ndarray | None = None) -> SceneVertical | None:
    """The direction most of the segments' length points at, within :data:`MAX_TILT` of the camera's down; None
    without two segments that meet there.  ``frames`` (one label per segment: the frame it was read in) lets the
    frames' own verticals be compared (:func:`frames_apart`)."""
    segments = np.asarray(segments, np.float64).reshape(-1, 4)
    if len(segments) < 2:
        return None
    focal = focal or focal_px(width, height)
    normals = _normals(segments, width, height, focal)
    lengths = np.hypot(segments[:, 2] - segments[:, 0], segments[:, 3] - segments[:, 1]) / max(width, height)
    rng = np.random.default_rng(SEED)
    found = _search(normals, lengths, rng)
    if found is None:
        return None
    down, inliers = found
    resampled = np.array([_pitch_roll(_fit(normals[inliers][pick], lengths[inliers][pick]))
                          for pick in rng.integers(0, inliers.sum(), (RESAMPLES, int(inliers.sum())))])
    apart = 0.0 if frames is None else frames_apart(normals, lengths, np.asarray(frames), down)
    return SceneVertical(down, int(inliers.sum()), float(lengths[inliers].sum()), float(np.median(_misses(normals[inliers], down))),
                         *(float(sd) for sd in np.std(resampled, axis=0)), apart)


def _search(normals: np.ndarray, lengths: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
    """RANSAC over pairs of segments, refined by least squares: the down direction and which segments point at it."""
    threshold = np.sin(np.radians(INLIER_ANGLE))
    best, best_score = None, 0.0
    for i, j in rng.integers(0, len(normals), (TRIALS, 2)):
        candidate = np.cross(normals[i], normals[j])
        size = np.linalg.norm(candidate)
        if i == j or size < 1e-9:
            continue
        candidate = candidate / size * np.sign(candidate[1] or 1.0)
        if _off_down(candidate) > MAX_TILT:
            continue
        score = lengths[np.abs(normals @ candidate) < threshold].sum()
        if score > best_score:
            best, best_score = candidate, score
    if best is None:
        return None
    inliers = np.abs(normals @ best) < threshold
    down = _fit(normals[inliers], lengths[inliers])
    if inliers.sum() < 3 or _off_down(down) > MAX_TILT:
        return None
    return down, inliers


def frames_apart(normals: np.ndarray, lengths: np.ndarray, frames: np.ndarray, down: np.ndarray) -> float:
    """The median difference (degrees) between the roll of ``down`` and the rolls of the frames with
    :data:`FRAME_LINES` segments pointing at their own: gravity does not move between frames, so frames that
    disagree are a camera that turned (a handheld phone) or edges that turned with the subject.  The roll, because
    one frame's few, nearly parallel lines fix it but hardly their distance to the meeting point (the pitch); the
    median, because one frame's lines may meet elsewhere (a person's limbs) while the scene stands still; 0 with
    fewer than :data:`FRAMES_COMPARED` such frames."""
    verticals = []
    for label in np.unique(frames):
        own = frames == label
        found = _search(normals[own], lengths[own], np.random.default_rng(SEED)) if own.sum() >= FRAME_LINES else None
        if found is not None and found[1].sum() >= FRAME_LINES:
            verticals.append(found[0])
    if len(verticals) < FRAMES_COMPARED:
        return 0.0
    rolls = np.array([_pitch_roll(vertical)[1] for vertical in verticals])
    return float(np.median(np.abs(rolls - _pitch_roll(down)[1])))


def _fit(normals: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The direction closest to every segment's plane (least squares, longer segments weighing more), pointing down."""
    down = np.linalg.svd(normals * np.sqrt(lengths)[:, None])[2][-1]
    return down * (np.sign(down[1]) or 1.0)


def _off_down(down: np.ndarray) -> float:
    """Degrees between ``down`` and the camera's own down."""
    return float(np.degrees(np.arccos(np.clip(down[1], -1.0, 1.0))))


def _pitch_roll(down: np.ndarray) -> tuple[float, float]:
    """Pitch and roll (degrees) of a down direction (:meth:`pipeline.angles.CameraTilt.from_down`)."""
    tilt = CameraTilt.from_down(down, "scene")
    return tilt.pitch, tilt.roll
