"""More views for the benchmark's reference: a camera's video with the person it follows painted out.

In a recording of two people each camera's analysis follows its largest person (:mod:`pipeline.tracking`), yet
every camera sees both.  A person's reference triangulated only from the cameras that follow them rests on two
views: it cannot be checked by leaving one out, and where the two disagree the point is unknown.  So, for each
camera following someone else, the benchmark (:func:`benchmarks.accuracy.painted_views`) paints that someone out
of a copy of its video (:func:`painted_video`: its body's shape, not a box) and analyses the copy as
it analyses any video: its largest person is then the other one.  That is checked, not assumed: a painted view
counts only in the frames where its landmarks fall on the other person's skeleton as the cameras following them
place it (:func:`follows`).  The compared cameras stay as filmed; only the reference gains views.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np

#: The body's shape painted out, as capsules round the landmarks' segments (limbs, hands, feet, the torso's sides) and
#: a filled torso, in every analysed frame.
LIMBS = (("shoulder", "elbow"), ("elbow", "wrist"), ("wrist", "index"), ("wrist", "pinky"), ("wrist", "thumb"),
         ("hip", "knee"), ("knee", "ankle"), ("ankle", "heel"), ("heel", "foot_index"), ("ankle", "foot_index"),
         ("shoulder", "hip"))
TORSO = ("left_shoulder", "right_shoulder", "right_hip", "left_hip")
#: The capsules' radius and the head's, as shares of the torso's length (shoulders' midpoint to hips', about 50 cm;
#: the median over the analysed frames, so a torso leaning towards the camera does not shrink them).  A limb is
#: 8-12 cm across and its landmarks are 2-3 cm off (about 14 px here), so 0.25 (12 cm either side of the bone)
#: covers it; the head reaches 12-14 cm above the ears and the chin as far below, hair beyond, so 0.45 (22 cm
#: round the ears' midpoint).  A box round the whole person would be simpler but, where an arm or a leg is held
#: out, covers the other person too.
LIMB_RADIUS, HEAD_RADIUS = 0.25, 0.45
#: The flat grey painted over a person: no edges, colours or texture a person detector could take for anything.
PAINT_GREY = 128
#: A painted video is kept only near-lossless (x264's constant quality 12): the person left must not move by
#: re-encoding, or the view would measure the encoder rather than the person.  x264's fastest preset keeps that
#: quality in a file three times larger, written three and a half times faster (2.6 s a 100-frame 1088x1920 video).
PAINT_CRF, PAINT_PRESET = "12", "ultrafast"


def bracketing(analysed: np.ndarray, found: np.ndarray, frames: int) -> np.ndarray:
    """(frames, 2) for every frame of a video, the positions (in ``analysed``, ascending frame numbers) of the analysed
    frames with the person ``found`` nearest at or before it and at or after it, each only if no further than the
    analysis's step (the frames between two analysed ones); -1 where none.  A person is painted as in both (they
    move in between), and not where nobody saw them: painting a pose seen a second earlier would cover whoever is
    there now, and the analysis reads only the frames next to those it analyses."""
    analysed = np.asarray(analysed)
    step = int(np.median(np.diff(analysed))) if len(analysed) > 1 else 1
    positions = np.flatnonzero(found)
    plan = np.full((frames, 2), -1)
    if not len(positions):
        return plan
    numbers, frame = analysed[positions], np.arange(frames)
    after = np.minimum(np.searchsorted(numbers, frame), len(numbers) - 1)
    before = np.where(numbers[after] <= frame, after, after - 1)
    plan[:, 0] = np.where((before >= 0) & (frame - numbers[np.maximum(before, 0)] <= step), positions[np.maximum(before, 0)], -1)
    plan[:, 1] = np.where((numbers[after] >= frame) & (numbers[after] - frame <= step), positions[after], -1)
    return plan


def torso_px(points: np.ndarray, names: list[str]) -> float:
    """The person's median torso length over the frames (pixels): the shoulders' midpoint to the hips'."""
    def mid(side: str) -> np.ndarray:
        return points[:, [names.index(f"left_{side}"), names.index(f"right_{side}")]].mean(axis=1)

    lengths = np.linalg.norm(mid("shoulder") - mid("hip"), axis=-1)
    if not np.isfinite(lengths).any():
        raise ValueError("The person's shoulders and hips are in no frame: there is no body to paint out.")
    return float(np.nanmedian(lengths))


def paint_out(frame: np.ndarray, skeletons: list[np.ndarray], names: list[str], torso: float, grey: int = PAINT_GREY) -> np.ndarray:
    """The (h, w, 3) ``frame`` with the body of each of ``skeletons`` ((k, 2) pixels, NaN where unknown) a flat grey:
    capsules round its segments (:data:`LIMBS`), its torso filled and a disk round its head (:data:`LIMB_RADIUS`,
    :data:`HEAD_RADIUS` times ``torso``, its length in pixels)."""
    import cv2

    painted, colour = frame.copy(), (grey,) * frame.shape[2]
    limb, head = max(int(round(LIMB_RADIUS * torso)), 1), max(int(round(HEAD_RADIUS * torso)), 1)
    for points in skeletons:
        def at(name: str, points: np.ndarray = points) -> tuple[int, int] | None:
            point = points[names.index(name)]
            return (int(round(point[0])), int(round(point[1]))) if np.isfinite(point).all() else None

        for side in ("left", "right"):
            for a, b in LIMBS:
                ends = [at(f"{side}_{a}"), at(f"{side}_{b}")]
                for end in filter(None, ends):
                    cv2.circle(painted, end, limb, colour, -1)
                if None not in ends:
                    cv2.line(painted, *ends, colour, 2 * limb)
        corners = [at(name) for name in TORSO]
        if None not in corners:
            cv2.fillPoly(painted, [np.array(corners, np.int32)], colour)
        ears = [at("left_ear"), at("right_ear")]
        centre = np.mean([ear for ear in ears if ear], axis=0) if any(ears) else at("nose")
        if centre is not None:
            cv2.circle(painted, (int(centre[0]), int(centre[1])), head, colour, -1)
    return painted


def painted_video(source: Path, people: np.ndarray, analysed: np.ndarray, names: list[str], cache: Path) -> Path:
    """A copy of the video ``source`` with the people whose landmarks are ``people`` ((m, n, k, 2) pixels in the ``n``
    ``analysed`` frames, NaN where not found) painted out of every frame (:func:`bracketing`, :func:`paint_out`), at
    the same size, rate and frame count; kept in ``cache`` under a name made of the source's and the points' contents,
    so a second run with the same points reads it again."""
    import av

    points = np.asarray(people, np.float64)
    if points.ndim != 4 or points.shape[2:] != (len(names), 2) or points.shape[1] != len(analysed):
        raise ValueError(f"Expected (m, {len(analysed)}, {len(names)}, 2) landmarks for the analysed frames, got {points.shape}.")
    with av.open(str(source)) as reading:
        frames = reading.streams.video[0].frames
    plans = np.stack([bracketing(analysed, np.isfinite(person).all(-1).any(-1), frames) for person in points])
    digest = hashlib.sha256(Path(source).read_bytes())  # what is painted where, by what rule: the copy's contents
    digest.update(points.tobytes() + plans.tobytes() + repr((names, LIMBS, TORSO, LIMB_RADIUS, HEAD_RADIUS, PAINT_GREY, PAINT_CRF, PAINT_PRESET)).encode())
    target = Path(cache) / "painted" / f"{digest.hexdigest()[:32]}.mp4"
    if target.is_file():
        return target
    torsos = [torso_px(person, names) for person in points]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part.mp4")
    with av.open(str(source)) as reading, av.open(str(partial), "w") as writing:
        stream = reading.streams.video[0]
        out = writing.add_stream("libx264", rate=stream.average_rate, options={"crf": PAINT_CRF, "preset": PAINT_PRESET})
        out.width, out.height, out.pix_fmt = stream.codec_context.width, stream.codec_context.height, "yuv420p"
        count = 0
        for count, frame in enumerate(reading.decode(stream), start=1):
            image = frame.to_ndarray(format="rgb24")
            for person, plan, torso in zip(points, plans, torsos):
                pair = plan[min(count - 1, len(plan) - 1)]
                image = paint_out(image, [person[i] for i in set(pair.tolist()) if i >= 0], names, torso)
            writing.mux(out.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        writing.mux(out.encode())
    if count != len(plans[0]):
        partial.unlink()
        raise ValueError(f"{source} decodes to {count} frames where its header says {len(plans[0])}.")
    partial.replace(target)
    return target


def follows(points: np.ndarray, seen: np.ndarray, expected: np.ndarray, max_px: float, min_points: int = 8
            ) -> tuple[np.ndarray, np.ndarray]:
    """(n,) whether a view's landmarks are the expected person's, frame by frame, and (n,) the median distance (px,
    NaN: nothing to compare) between its ``points`` (n, k, 2) where ``seen`` (n, k) and ``expected`` (n, k, 2: the
    person's skeleton placed in the view): theirs where that is within ``max_px`` over at least ``min_points``
    landmarks (fewer: not shown to be the person)."""
    both = seen & np.isfinite(points).all(-1) & np.isfinite(expected).all(-1)
    distance = np.where(both, np.linalg.norm(np.nan_to_num(points) - np.nan_to_num(expected), axis=-1), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames with nothing to compare
        median = np.nanmedian(distance, axis=-1)
    return (both.sum(-1) >= min_points) & (median <= max_px), median
