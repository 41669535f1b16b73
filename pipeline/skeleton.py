"""skeleton.json: the main worker's skeleton in each analysed frame, small enough for the page to fetch.

The page plays the annotated video (overlay.mp4) where the job wrote one; where it did not (the low preset, a job
re-scored from another's poses) it plays the uploaded video and draws this skeleton over it on a canvas, each
segment coloured by its body part's score from frames.csv, as overlay.mp4 and the posture pictures colour it
(:data:`pipeline.evidence.SEGMENTS`).  Only the points those segments join are kept, as thousandths of the
frame's width and height (the analysed frame is the video upright at one size, so the same fractions place them
on the video as the browser shows it), and a point seen with too little confidence is left out: a 10-minute video
analysed at 5 frames per second gives about 430 KB (the demo: 144 bytes a frame).
"""

from __future__ import annotations

import math

import numpy as np

from .evidence import MIN_CONFIDENCE, SEGMENTS
from .presets import analysis_size
from .result_model import AnalysisResult

FORMAT, VERSION = "ergo-skeleton", 1
#: A point's coordinates are whole thousandths of the frame's width and height.
SCALE = 1000
#: The point between the shoulders, where the neck segment starts (the pose models have none).
NECK = "neck"
#: The segments drawn: the pictures' limbs and trunk, and the neck from between the shoulders to the nose.
DRAWN = [*SEGMENTS, (NECK, "nose", "neck")]
_SHOULDERS = ("left_shoulder", "right_shoulder")
#: The model's points kept: those the segments join (the neck is made from the shoulders).
POINTS = tuple(sorted({name for start, end, _ in DRAWN for name in (start, end)} - {NECK}))


def skeleton_document(result: AnalysisResult) -> dict:
    """The document: its points' names, the segments as (point, point, RULA body part), the frames' times and,
    per frame, each point's x and y, flat (x, y, x, y, ...; None where not seen), or None for a frame without
    the worker."""
    width, height = analysis_size(result.video.width, result.video.height)
    model = result.keypoint_names
    seen = [name for name in POINTS if name in model]
    columns = [model.index(name) for name in seen]
    frames = [_frame(result.keypoints[i][columns], seen, width, height) if result.detected[i] else None
              for i in range(len(result.timestamps))]
    names = [*seen, NECK]
    return {"format": FORMAT, "version": VERSION, "scale": SCALE, "points": names,
            "segments": [[names.index(start), names.index(end), part] for start, end, part in DRAWN
                         if start in names and end in names],
            "times": [round(float(t), 3) for t in result.timestamps], "frames": frames}


def _frame(keypoints: np.ndarray, names: list[str], width: int, height: int) -> list[int | None]:
    """One frame's points (``names``), and the neck last: the middle of the shoulders where both were seen."""
    points = [_point(keypoint, width, height) for keypoint in keypoints]
    left, right = (points[names.index(side)] if side in names else None for side in _SHOULDERS)
    neck = ((left[0] + right[0]) // 2, (left[1] + right[1]) // 2) if left and right else None
    return [value for point in [*points, neck] for value in (point or (None, None))]


def _point(keypoint: np.ndarray, width: int, height: int) -> tuple[int, int] | None:
    x, y, confidence = (float(v) for v in keypoint)
    if math.isnan(x) or math.isnan(y) or confidence < MIN_CONFIDENCE:
        return None
    return round(SCALE * x / width), round(SCALE * y / height)
