"""Posture pictures: the frames a safety engineer needs to see, with the skeleton, angles and scores drawn on.

For each of the worst moments (per method, at least 1 s apart, from the summary) and for the first frame of each
sustained posture outside the normal band, the analysed frame is decoded again and drawn on: each body segment
coloured by its body part's RULA score (as a quarter of the highest the worksheet gives that part), the measured
angles, and the frame's RULA and REBA scores.  Faces are blurred by default, since these are pictures of employees
and of whoever walks past: every face BlazeFace finds (:mod:`pipeline.pose.blazeface`), and the worker's own face
from the face points the pose model found (which the face detector can miss, seen in profile or from behind).
The annotated video searches only some of its frames for faces, and blurs the frames between as far as the faces
found may have moved (:mod:`pipeline.face_schedule`): a search costs 30 times the drawing of a frame; and each search
reads again only the parts of the frame that changed since they were last read (:mod:`pipeline.face_changes`).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .ergonomics import BODY_PART_MAXIMA
from .face_changes import ChangedSquares
from .face_schedule import faces_by_frame
from .fonts import image_font
from .presets import analysis_size
from .result_model import AnalysisResult, Picture
from .video import FrameReader, VideoInfo, probe

if TYPE_CHECKING:
    from .face_memory import RememberedFaces
    from .pose.blazeface import FaceDetector

#: A body part's score as a quarter of its range: green, yellow, orange, red (the page's shades).
SHADES = ((46, 125, 50), (158, 124, 0), (211, 84, 0), (179, 38, 30))
UNSCORED = (120, 144, 156)
#: Segments drawn (from point, to point, the RULA body part whose score colours it).
SEGMENTS = [(f"{side}_{a}", f"{side}_{b}", part) for side in ("left", "right")
            for a, b, part in (("shoulder", "elbow", "upper_arm"), ("elbow", "wrist", "lower_arm"), ("hip", "shoulder", "trunk"),
                               ("hip", "knee", "legs"), ("knee", "ankle", "legs"))]
#: Angles labelled, at the point they are measured around.
LABELS = (("trunk_flexion", "hip", "trunk"), ("neck_flexion", "shoulder", "neck"), ("upper_arm_left", "left_shoulder", "upper arm"),
          ("upper_arm_right", "right_shoulder", "upper arm"), ("elbow_left", "left_elbow", "elbow"), ("elbow_right", "right_elbow", "elbow"))
MIN_CONFIDENCE = 0.3
#: Held postures pictured, the longest first: a long shift holds dozens, and every one of them is listed in the report
#: in words; pictures of the longest few show what the rest look like without a picture per minute of video.
MAX_HELD_PICTURES = 8


def moments(result: AnalysisResult) -> list[dict]:
    """The frames to picture, earliest first: (position in the result, frame index, time, why): every worst moment,
    and the start of the longest held postures (:data:`MAX_HELD_PICTURES`)."""
    times, summary = result.timestamps, result.summary
    chosen: dict[int, list[str]] = {}
    for method, block in (("RULA", summary.rula), ("REBA", summary.reba)):
        for moment in block.worst_moments:
            position = int(np.argmin(np.abs(times - moment.time_s)))
            chosen.setdefault(position, []).append(f"one of the worst {method} moments (score {moment.score})")
    longest = sorted(summary.held_postures(), key=lambda run: -run.duration_s)[:MAX_HELD_PICTURES]
    for run in longest:
        position = int(np.argmin(np.abs(times - run.start_s)))
        chosen.setdefault(position, []).append(f"{run.part.replace('_', ' ')} {run.band} held {run.duration_s:.1f} s from here")
    return [{"position": p, "frame_index": int(result.frame_indices[p]), "time_s": round(float(times[p]), 3), "reasons": why}
            for p, why in sorted(chosen.items())]


def shade(score: float, highest: int) -> tuple[int, int, int] | None:
    """The colour of a body part's score, as a quarter of the highest the worksheet gives it; None if not scored."""
    if math.isnan(score):
        return None
    return SHADES[min(3, int(4 * (score - 1) / max(highest, 2)))]


def _point(names: list[str], keypoints: np.ndarray, name: str) -> tuple[float, float] | None:
    if name not in names:
        return None
    x, y, confidence = keypoints[names.index(name)]
    return None if math.isnan(x) or confidence < MIN_CONFIDENCE else (float(x), float(y))


def _mid(a, b):
    return None if a is None or b is None else ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)


def worker_face(names: list[str], keypoints: np.ndarray) -> np.ndarray | None:
    """The worker's face as a box (x1, y1, x2, y2), from the face points (nose, eyes, ears, mouth) the pose model
    found, or None if it found none.  It is blurred whether or not the face detector finds that face too: the
    detector misses faces seen in profile or from behind, where the pose model still places the head."""
    face = [p for n in names if n.startswith(("nose", "left_eye", "right_eye", "left_ear", "right_ear", "mouth"))
            if (p := _point(names, keypoints, n))]
    if not face:
        return None
    xs, ys = [p[0] for p in face], [p[1] for p in face]
    shoulders = [p for p in (_point(names, keypoints, "left_shoulder"), _point(names, keypoints, "right_shoulder")) if p]
    span = max(max(xs) - min(xs), max(ys) - min(ys), abs(shoulders[0][0] - shoulders[1][0]) * 0.45 if len(shoulders) == 2 else 0, 12)
    return _head((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2, span)


def _head(cx: float, cy: float, span: float) -> np.ndarray:
    """The box blurred around a face centred at (cx, cy) ``span`` across: with a margin, and more above (the hair)."""
    half = span * 0.9
    return np.array([cx - half, cy - half * 1.2, cx + half, cy + half])


def faces_in(frame: np.ndarray, names: list[str], keypoints: np.ndarray, detector: FaceDetector | None,
             found: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """The boxes to blur in ``frame``: every face ``detector`` finds (or, given ``found``, those face boxes: the
    annotated video between searches), each with a margin for the hair and ears, and the worker's own face from the
    pose."""
    if found is None:
        found = [] if detector is None else [face.box for face in detector.faces(frame)]
    heads = [_head((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, 0.7 * max(box[2:] - box[:2])) for box in found]
    worker = worker_face(names, keypoints)
    return heads + ([worker] if worker is not None else [])


#: A blur of standard deviation ``sigma`` runs on the box shrunk by the whole part of ``sigma / BLUR_SIGMA_SHRUNK`` (at least 1): the
#: same blur, on a small fraction of the pixels.  The annotated video blurs faces grown by how far they may have
#: moved (pipeline.face_schedule), boxes up to most of the frame: blurred at full size, they cost 43 ms a frame.
BLUR_SIGMA_SHRUNK = 4.0


def blur(image, boxes: list[np.ndarray]) -> int:
    """Blur each box of the PIL ``image`` (strongly enough that a face cannot be recognised: a Gaussian of a seventh
    of its width, 4 px at least); returns how many were inside it."""
    from PIL import Image

    done = 0
    for box in boxes:
        x1, y1, x2, y2 = (int(v) for v in (max(0, box[0]), max(0, box[1]), min(image.width, box[2]), min(image.height, box[3])))
        if x2 <= x1 or y2 <= y1:
            continue
        region = np.asarray(image.crop((x1, y1, x2, y2)))
        image.paste(Image.fromarray(_blurred(region, max(4.0, float(box[2] - box[0]) / 7))), (x1, y1))
        done += 1
    return done


def _blurred(region: np.ndarray, sigma: float) -> np.ndarray:
    """``region`` under a Gaussian blur of standard deviation ``sigma`` px: shrunk by a whole factor (averaging
    blocks), blurred by what is left of ``sigma`` at that size, and enlarged again (the enlarging's linear steps are
    far finer than the blur).  The factor is whole, and the region padded (its edge repeated) to a multiple of it, so
    that OpenCV averages plain blocks: a fractional factor cost 4 times as much (0.8 ms for a 420x320 box)."""
    import cv2

    height, width = region.shape[:2]
    shrink = max(1, int(sigma / BLUR_SIGMA_SHRUNK))
    small_width, small_height = -(-width // shrink), -(-height // shrink)
    padded = cv2.copyMakeBorder(region, 0, small_height * shrink - height, 0, small_width * shrink - width, cv2.BORDER_REPLICATE)
    small = cv2.resize(padded, (small_width, small_height), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / shrink, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (small_width * shrink, small_height * shrink), interpolation=cv2.INTER_LINEAR)[:height, :width]


@functools.lru_cache(maxsize=4096)
def _label(text: str, size: int):
    """White text with a black outline on a transparent tile, drawn once per text: outlined text is slow to draw
    (the annotated video has about eight labels a frame, and their values repeat)."""
    from PIL import Image, ImageDraw

    font = image_font(size)
    left, top, right, bottom = ImageDraw.Draw(Image.new("RGBA", (1, 1))).textbbox((0, 0), text, font=font, stroke_width=2)
    tile = Image.new("RGBA", (right, bottom), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((0, 0), text, fill=(255, 255, 255, 255), font=font, stroke_width=2, stroke_fill=(0, 0, 0, 255))
    return tile


def _place(size: tuple[int, int], spot: tuple[int, int], taken: list[tuple[int, int, int, int]],
           bounds: tuple[int, int]) -> tuple[int, int]:
    """Where a label of ``size`` goes: at ``spot``, else the nearest place below or above it that overlaps no box in
    ``taken`` (labels already drawn, the caption band), inside the picture; its box joins ``taken``.  The angles
    around the shoulders sit close together, and their labels ran into each other."""
    width, height = size
    x = max(0, min(spot[0], bounds[0] - width))
    boxes = [(x, y, x + width, y + height) for step in (0, 1, -1, 2, -2, 3, -3, 4, -4)
             if 0 <= (y := spot[1] + step * (height + 2)) <= bounds[1] - height]
    box = next((b for b in boxes if not any(_overlap(b, other) for other in taken)), boxes[0] if boxes else
               (x, max(0, bounds[1] - height), x + width, bounds[1]))
    taken.append(box)
    return box[0], box[1]


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def draw(frame: np.ndarray, result: AnalysisResult, position: int, time_s: float, *, blur_faces: bool = True,
         faces: FaceDetector | None = None, found: list[np.ndarray] | None = None, enlarge: bool = True):
    """The frame as a picture: skeleton coloured by body-part score, angles, the frame's scores; and how many faces
    were blurred (with ``blur_faces``: every face ``faces`` finds, or the face boxes ``found`` where already known,
    and the worker's from the pose)."""
    from PIL import Image, ImageDraw

    names, keypoints = result.keypoint_names, result.keypoints[position]
    rula, reba, angles = result.rula, result.reba, result.angles
    parts = rula.columns()
    # small inference frames are enlarged so the labels stay readable (not in the video: it keeps the inference size)
    scale = max(1.0, 640 / max(frame.shape[:2])) if enlarge else 1.0
    image = Image.fromarray(frame).resize((round(frame.shape[1] * scale), round(frame.shape[0] * scale)))
    points = keypoints.copy()
    points[:, :2] *= scale
    blurred = blur(image, [box * scale for box in faces_in(frame, names, keypoints, faces, found)]) if blur_faces else 0
    pen = ImageDraw.Draw(image)
    width = max(3, round(image.width / 160))
    small, large = (image_font(max(12, image.width // size)) for size in (48, 32))
    for start, end, part in SEGMENTS:
        a, b = _point(names, points, start), _point(names, points, end)
        if a and b:
            pen.line([a, b], fill=shade(float(parts[part][position]), BODY_PART_MAXIMA["rula"][part]) or UNSCORED, width=width)
    neck_from = _mid(_point(names, points, "left_shoulder"), _point(names, points, "right_shoulder"))
    head = _point(names, points, "nose")
    if neck_from and head:
        pen.line([neck_from, head], fill=shade(float(rula.neck[position]), BODY_PART_MAXIMA["rula"]["neck"]) or UNSCORED, width=width)
    hip = _mid(_point(names, points, "left_hip"), _point(names, points, "right_hip"))
    anchors = {"hip": hip, "shoulder": neck_from}
    taken = [(0, 0, image.width, large.size + 12)]  # the caption band
    for angle, where, label in LABELS:
        value = angles.get(angle, np.full(position + 1, np.nan))[position]
        spot = anchors.get(where) or _point(names, points, where)
        if spot and not math.isnan(value):
            text = _label(f"{label} {value:.0f}°", small.size)
            image.paste(text, _place(text.size, (round(spot[0] + width * 2), round(spot[1])), taken, image.size), text)

    def score(values, low, high) -> str:
        exact = float(values[position])
        if not math.isnan(exact):
            return str(int(exact))
        lo, hi = float(low[position]), float(high[position])
        return "–" if math.isnan(lo) else f"{int(lo)}-{int(hi)}"

    caption = (f"{int(time_s // 60)}:{time_s % 60:04.1f}   RULA {score(rula.grand_score, rula.grand_score_min, rula.grand_score_max)}"
               f"   REBA {score(reba.reba_score, reba.reba_score_min, reba.reba_score_max)}")
    pen.rectangle((0, 0, image.width, large.size + 12), fill=(0, 0, 0))
    pen.text((8, 6), caption, fill=(255, 255, 255), font=large)
    return image, blurred


def video_info(result: AnalysisResult, video: str | Path) -> VideoInfo:
    """The video as ``result`` recorded it when it was probed for the analysis, where ``video`` is that file (the
    same size in bytes); else probed again.  A probe opens the file and decodes its first frame (0.2-0.5 s for a
    10-minute video), which every re-score's pictures waited for."""
    record = result.video
    if Path(video).stat().st_size != record.size_bytes:
        return probe(video)
    return VideoInfo(record.frame_count, record.fps, record.width, record.height, record.rotation, record.codec, record.reader,
                     record.size_bytes)


def write_pictures(result: AnalysisResult, video: str | Path, directory: str | Path, *, blur_faces: bool = True,
                   faces: FaceDetector | RememberedFaces | None = None) -> list[Picture]:
    """JPEGs of :func:`moments` under ``directory``; returns, per picture, its file name, time, reasons, whether a
    face was blurred, how many were, and whether ``faces`` searched the picture for other people's faces (without
    it, only the worker's face is blurred)."""
    chosen = moments(result)
    if not chosen:
        return []
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    info = video_info(result, video)
    size = analysis_size(info.width, info.height)
    reader = FrameReader(video, info, size)
    pictures = []
    for moment, frame in zip(chosen, reader.read_each(np.array([m["frame_index"] for m in chosen])), strict=True):
        if frame is None:
            continue  # a damaged spot of the video: no picture rather than a wrong one
        image, blurred = draw(frame, result, moment["position"], moment["time_s"], blur_faces=blur_faces, faces=faces)
        name = f"{moment['time_s']:08.2f}s.jpg".replace(".", "_", 1)
        image.save(directory / name, quality=88)
        pictures.append(Picture(file=name, time_s=moment["time_s"], frame_index=moment["frame_index"], reasons=moment["reasons"],
                                face_blurred=blurred > 0, faces_blurred=blurred, faces_searched=blur_faces and faces is not None))
    return pictures


#: RULA's level colours for the overlay's running strip (the page's and the report's).
LEVEL_SHADES = {1: SHADES[0], 2: SHADES[1], 3: SHADES[2], 4: SHADES[3]}


def _level_strip(result: AnalysisResult, width: int, height: int) -> np.ndarray:
    """The whole video's RULA levels as a strip ``width`` wide (grey where not scored)."""
    levels = result.rula.action_level
    strip = np.empty((height, width, 3), np.uint8)
    strip[:] = UNSCORED
    for column in range(width):
        level = levels[min(len(levels) - 1, column * len(levels) // width)]
        if not math.isnan(level):
            strip[:, column] = LEVEL_SHADES[int(level)]
    return strip


def write_overlay(result: AnalysisResult, video: str | Path, path: str | Path, *, blur_faces: bool = True, faces: FaceDetector | None = None,
                  chunk: int = 32) -> Path:
    """overlay.mp4: every analysed frame, at the analysed rate and inference size, with the skeleton coloured by
    body-part score, the frame's scores, and a running strip of the RULA levels with a cursor; faces blurred as in
    the pictures, other people's searched for on some frames, and blurred on the others as far as they may have moved
    (:mod:`pipeline.face_schedule`); each search reads again only the parts of the frame that changed
    (:mod:`pipeline.face_changes`).

    Frames are decoded, drawn and encoded ``chunk`` at a time, so a long video never sits in memory."""
    from fractions import Fraction

    from .video import write_video

    info = video_info(result, video)
    size = analysis_size(info.width, info.height)
    indices = result.frame_indices
    reader = FrameReader(video, info, size, sampled=indices)
    bar = max(8, size[1] // 24)
    strip = _level_strip(result, size[0], bar)

    def frames():
        decoded = (frame for start in range(0, len(indices), chunk) for frame in reader.read_each(indices[start:start + chunk]))
        times = result.timestamps
        if blur_faces and faces is not None:
            search = ChangedSquares(faces)
            searched = faces_by_frame(search.watch(decoded), times, search)
        else:
            searched = ((position, frame, []) for position, frame in enumerate(decoded))
        for position, frame, found in searched:
            if frame is None:  # a damaged spot: a grey frame keeps the video's timing
                frame = np.full((size[1], size[0], 3), 96, np.uint8)
            image, _ = draw(frame, result, position, float(times[position]), blur_faces=blur_faces, found=found, enlarge=False)
            picture = np.concatenate([np.asarray(image), strip], axis=0)
            cursor = min(size[0] - 1, position * size[0] // max(len(indices), 1))
            picture[-bar:, max(0, cursor - 1):cursor + 2] = 255
            yield picture[: picture.shape[0] // 2 * 2, : picture.shape[1] // 2 * 2]  # H.264 in yuv420p needs even sides

    return write_video(path, frames(), fps=Fraction(result.preset.sample_fps).limit_denominator(1000))
