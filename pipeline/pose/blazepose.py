"""BlazePose GHUM as a pose model: detection, tracking between frames, batched landmarks, 3D world points.

MediaPipe's video mode, in Torch.  The detector finds the person (the
largest, if several: the main worker, as in :mod:`pipeline.tracking`); the
landmark network then reads a rotated crop around them, and the next frame's
crop is taken from this frame's landmarks (the auxiliary hip-centre and
full-body points, 33 and 34).  The detector runs again only when tracking is
lost: the landmark network's presence score falls below 0.5.  Unlike
MediaPipe, a frame whose tracked crop loses the person is detected again at
once rather than reported empty, since sampled frames are far apart in time.

Tracking is sequential, and batching wants many crops at once.  A chunk is
therefore split into ``batch_size`` consecutive runs ("tracks") that advance
in lockstep: each step crops one frame of every track and sends all crops
through the landmark network as one batch (and any detections as one detector
batch).  Every chunk starts afresh with a detection, so a chunk's poses depend
on that chunk alone and a resumed analysis equals an uninterrupted one.

Weights (Apache-2.0) come from ``ergo models fetch``; ``lite``, ``full``
(default) and ``heavy`` differ in landmark-network size only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PoseModelUnavailable
from .base import PoseModel, PoseOutput, default_device
from .blazepose_detector import PoseDetector, RegionOfInterest, region_from_alignment, region_of_interest
from .blazepose_landmarks import PRECISIONS, LandmarkModel

BLAZEPOSE_KEYPOINTS = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
VARIANTS = ("lite", "full", "heavy")
BODY = len(BLAZEPOSE_KEYPOINTS)  # 33; points 33 and 34 are MediaPipe's auxiliary tracking points
HIP_CENTRE, FULL_BODY = 33, 34
#: MediaPipe's default min_tracking_confidence: below it the person is lost.
MIN_PRESENCE = 0.5
#: A reduced precision moving the tracked landmarks further than this from fp32's (mean, image pixels) is not used.
MAX_PRECISION_DRIFT_PX = 0.5
#: Frames of the demo clip (2 a second: far enough apart to move) the precision check tracks the person through.
PRECISION_CHECK_FRAMES = 12
#: People the detector may report; the largest is followed, as the main worker (see pipeline/tracking.py).
CANDIDATES = 5


@dataclass
class _Found:
    """One frame's landmark-network answer."""

    landmarks: np.ndarray  # (39, 3): x, y in pixels, visibility
    world: np.ndarray  # (39, 3) metres
    presence: float

    @property
    def present(self) -> bool:
        return self.presence >= MIN_PRESENCE

    def next_region(self) -> RegionOfInterest:
        """Where to look in the next frame: MediaPipe's region from the auxiliary landmarks."""
        return region_from_alignment(self.landmarks[HIP_CENTRE, :2], self.landmarks[FULL_BODY, :2])


def _tracks(count: int, tracks: int) -> list[np.ndarray]:
    """``count`` frame positions split into at most ``tracks`` consecutive, nearly equal runs."""
    return [run for run in np.array_split(np.arange(count), min(tracks, count)) if len(run)]


class BlazePose(PoseModel):
    name = "blazepose"
    keypoint_names = BLAZEPOSE_KEYPOINTS
    max_persons = 1  # MediaPipe's pose pipeline follows one person: the main worker
    min_person_score = MIN_PRESENCE
    world_landmarks = True

    def __init__(self, variant: str | None = None, *, models_dir: Path, device: str | None = None, batch_size: int | None = None,
                 precision: str = "fp32"):
        from .assets import cached

        self.variant = variant or "full"
        if self.variant not in VARIANTS:
            # the value is not echoed: it may be a path, and messages reach web clients
            raise PoseModelUnavailable("BlazePose comes as lite, full or heavy; set the variant with ERGO_POSE_WEIGHTS or "
                                       "--weights (random weights and weight files are for keypointrcnn).")
        self.device = device or default_device()
        # Tracks per chunk = crops per landmark batch.  More tracks batch better but start more detections;
        # the CPU gains little from batching (see benchmarks/pipeline_bench.py), a GPU a lot.
        self.batch_size = batch_size or (16 if self.device.startswith("cuda") else 4)
        self.detector = PoseDetector(cached("pose_detection", models_dir), self.device)
        self.landmarks = LandmarkModel(cached(f"pose_landmark_{self.variant}", models_dir), self.device)
        self.precision_check = self._use_precision(precision)

    def _use_precision(self, precision: str) -> dict | None:
        """Run the landmark network in ``precision`` only if its landmarks stay within MAX_PRECISION_DRIFT_PX of fp32's
        on a reference clip; otherwise stay in fp32.  Returns what was measured (None for fp32)."""
        if precision not in PRECISIONS:
            raise PoseModelUnavailable(f"BlazePose runs in {', '.join(PRECISIONS)}, not '{precision}'.")
        if precision == "fp32":
            return None
        drift = self._drift(precision)
        kept = drift <= MAX_PRECISION_DRIFT_PX
        self.landmarks.set_precision(precision if kept else "fp32")
        return {"asked": precision, "mean_px_from_fp32": round(drift, 3), "limit_px": MAX_PRECISION_DRIFT_PX, "kept": kept}

    def _drift(self, precision: str) -> float:
        """Mean distance (image pixels) between the body landmarks found in ``precision`` and in fp32, through the
        whole tracking of a short clip of a person (the demo's): a small difference in one frame moves the next
        frame's crop, so a single image would understate it (fp16 on a CPU: 0.19 px on one photo, 3 px tracked)."""
        import itertools

        from ..demo import frames

        clip = np.stack(list(itertools.islice(frames(fps=2), PRECISION_CHECK_FRAMES)))
        reference = self.predict_sequence(clip).keypoints[:, 0, :, :2]
        self.landmarks.set_precision(precision)
        reduced = self.predict_sequence(clip).keypoints[:, 0, :, :2]
        self.landmarks.set_precision("fp32")
        both = np.isfinite(reference[..., 0]) & np.isfinite(reduced[..., 0])
        if not both.any():  # pragma: no cover - the demo's person is found (tested)
            raise PoseModelUnavailable("The precision check found nobody in its reference clip.")
        return float(np.linalg.norm(reduced - reference, axis=-1)[both].mean())

    def predict(self, frames: np.ndarray) -> PoseOutput:
        """Independent frames: each one detected afresh."""
        return self._track(frames, [np.array([i]) for i in range(len(frames))])

    def predict_sequence(self, frames: np.ndarray) -> PoseOutput:
        return self._track(frames, _tracks(len(frames), self.batch_size))

    def _track(self, frames: np.ndarray, tracks: list[np.ndarray]) -> PoseOutput:
        out = PoseOutput.empty(len(frames), 1, BODY, world=True)
        regions: list[RegionOfInterest | None] = [None] * len(tracks)
        for step in range(max(len(track) for track in tracks)):
            active = [t for t, track in enumerate(tracks) if step < len(track)]
            positions = {t: int(tracks[t][step]) for t in active}
            found = self._look(frames, {t: positions[t] for t in active if regions[t] is not None}, regions)
            lost = [t for t in active if t not in found or not found[t].present]
            found.update(self._look(frames, self._detect(frames, {t: positions[t] for t in lost}, regions), regions))
            for t in active:
                result = found.get(t)
                regions[t] = result.next_region() if result is not None and result.present else None
                if regions[t] is not None:
                    self._record(out, positions[t], result)
        return out

    def _detect(self, frames: np.ndarray, positions: dict[int, int], regions: list[RegionOfInterest | None]) -> dict[int, int]:
        """Run the detector (one batch) for ``positions``; returns the tracks where someone was found."""
        if not positions:
            return {}
        detections = self.detector.detect_batch(frames[list(positions.values())], max_people=CANDIDATES)
        found = {}
        for (track, position), people in zip(positions.items(), detections):
            # the largest region: the detector's boxes are all about one size, its alignment points are not
            regions[track] = max((region_of_interest(person) for person in people), key=lambda roi: roi.size, default=None)
            if people:
                found[track] = position
        return found

    def _look(self, frames: np.ndarray, positions: dict[int, int], regions: list[RegionOfInterest | None]) -> dict[int, _Found]:
        """Landmarks (one batch) in the current region of each track in ``positions``."""
        if not positions:
            return {}
        rois = [regions[track] for track in positions]
        answer = self.landmarks.predict(frames, rois, list(positions.values()))
        return {track: _Found(answer["landmarks"][i], answer["world"][i], float(answer["presence"][i]))
                for i, track in enumerate(positions)}

    @staticmethod
    def _record(out: PoseOutput, position: int, found: _Found) -> None:
        body = found.landmarks[:BODY]
        out.keypoints[position, 0] = body
        out.world[position, 0] = found.world[:BODY]
        out.boxes[position, 0] = [*body[:, :2].min(0), *body[:, :2].max(0), found.presence]

    def describe(self) -> dict:
        described = {**super().describe(), "weights": f"pose_landmark_{self.variant}", "variant": self.variant, "device": self.device,
                     "precision": self.landmarks.precision,
                     "tracking": f"{self.batch_size} tracks per chunk, detector when the person is lost"}
        if self.precision_check is not None:
            described["precision_check"] = self.precision_check
        return described
