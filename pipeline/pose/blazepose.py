"""BlazePose GHUM as a pose model: MediaPipe's pose solution in video mode, in Torch.

Frame by frame, as MediaPipe's ``pose_landmark_cpu`` graph runs (each step reproduced
from its calculators, :mod:`.image_to_tensor`, :mod:`.blazepose_detector`,
:mod:`.blazepose_landmarks`, :mod:`.filters`):

1. Without a region from the previous frame, the detector looks for people and the
   region is taken from the largest (the main worker, as in :mod:`pipeline.tracking`;
   MediaPipe takes the highest-scoring one: for one person they are the same).
2. The landmark network reads the rotated 256x256 crop of the region; below a presence
   of 0.5 the person is lost: nothing is reported for this frame, the filters of image
   positions are reset (the world points' and visibility's go on, as MediaPipe's do) and
   the next frame is detected afresh.
3. The landmarks are refined from the heatmap, turned back into the image, and
   filtered over time (One Euro filters on the points, a low-pass filter on their
   visibility: MediaPipe's smoothing, on unless ``smooth=False``).
4. The auxiliary hip-centre and full-body points, always filtered, place the next
   frame's region.

On top of MediaPipe's graph, a second opinion (``second_opinion=True``, the default): MediaPipe keeps a region
alive while the landmark network's presence stays above 0.5, and on real footage that carries a skeleton across a
scene cut onto a kerb or a car roof.  So while a person is followed, the detector is asked again at every scene
cut (:mod:`pipeline.scenes`) and every ``RECHECK_US`` (2 s); a track whose region no detection supports is ended there
(the frame is reported without anyone, and ``PoseOutput.ended`` says why), and the largest person the detector
found instead, if any, is followed from the same frame.  Where the detector supports the track, nothing changes:
the frames are MediaPipe's.

What one frame passes to the next is a :class:`Tracker`, whose state (a few arrays) a
checkpoint carries: the analysis tracks continuously through a video's chunks, and a
resumed analysis continues exactly where the interrupted one stopped.

Weights (Apache-2.0) come from ``ergo models fetch``; ``lite``, ``full`` (default) and
``heavy`` differ in landmark-network size only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import scenes
from ..errors import PoseModelUnavailable
from .base import PoseModel, PoseOutput, default_device
from .blazepose_detector import Detection, PoseDetector, RegionOfInterest, region_from_alignment, region_of_interest
from .blazepose_landmarks import PRECISIONS, LandmarkModel
from .filters import LowPass, OneEuro

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
#: MediaPipe's filters (pose_landmark_filtering graph): One Euro (min cutoff, beta, derivative cutoff) for the
#: landmarks, the world points and the auxiliary points that place the next region; low-pass for visibility.
LANDMARK_FILTER = (0.05, 80.0, 1.0)
WORLD_FILTER = (0.1, 40.0, 1.0)
AUXILIARY_FILTER = (0.01, 10.0, 1.0)
VISIBILITY_ALPHA = 0.1
#: MediaPipe's min_allowed_object_scale: a smaller person (pixels) is not filtered.
MIN_OBJECT_SCALE = 1e-6
#: While a person is followed, the detector is asked again after this long (microseconds) even without a cut.  Each
#: check costs about one landmark step (the detector, fused on a CPU, runs at 0.9-1.0 times the landmark network's
#: time): every 2 s costs 4% of the analysis at ``medium`` (5 frames/s) and 10% at ``low`` (benchmarks/pipeline_bench.py
#: --second-opinion), and on the labelled montage checking every second ended only phantoms that the anatomy
#: rules of pipeline/plausibility.py rejected anyway; the cuts, which are checked as they come, ended the others.
RECHECK_US = 2_000_000
#: A detection supports a followed region when its hip centre lies within this share of the region's side from the
#: region's centre (each axis), and its region's side is within this factor of the followed one's.  Measured at
#: every frame of the parity clips and the labelled real clips: the same person at most 0.20 of the side away (a
#: man walking out of the picture) and 0.31-1.25 times its size (a person cut off at the waist, the smaller of two
#: people); the regions carried across the montage's cuts had their nearest detection 0.51 and 0.65 away.
SUPPORT_OFFSET = 0.3
SUPPORT_SCALE = 4.0
#: ``PoseOutput.ended``'s codes (words in pipeline.pose.base.TRACK_ENDED).
ENDED_AT_CUT, ENDED_AT_RECHECK = 1, 2


@dataclass
class LandmarkAnswer:
    """One frame's landmark-network answer: public, since :meth:`Tracker.follow` takes one (the parity benchmark feeds
    it MediaPipe's regions)."""

    landmarks: np.ndarray  # (39, 3): x, y in pixels, visibility
    world: np.ndarray  # (39, 3) metres
    presence: float

    @property
    def present(self) -> bool:
        return self.presence >= MIN_PRESENCE


class Tracker:
    """What MediaPipe's video mode carries from one frame to the next: the region to look in and the filters.

    ``smooth``: filter the landmarks and world points (MediaPipe's ``smooth_landmarks``); the auxiliary points
    that place the next region are filtered either way, as in MediaPipe's graph.
    """

    def __init__(self, smooth: bool = True):
        self.smooth = smooth
        self.region: RegionOfInterest | None = None
        #: The last frame's colour histogram (scene cuts) and when the detector last saw the person followed.
        self.histogram: np.ndarray | None = None
        self.checked_us: int | None = None
        self.points, self.world, self.auxiliary = OneEuro(*LANDMARK_FILTER), OneEuro(*WORLD_FILTER), OneEuro(*AUXILIARY_FILTER)
        self.visibility = LowPass(VISIBILITY_ALPHA)

    def lose(self) -> None:
        """The person is gone: detect in the next frame, and start the filters of image positions afresh.

        As MediaPipe does: its smoothing of image landmarks (the body's and the auxiliary points) resets when a
        frame has none, while the world points' and visibility's filters keep their state, so the first frame
        after a loss is filtered with the values from before it (visibility: 0.1 of the new value, 0.9 of the
        old)."""
        self.region = None
        self.points, self.auxiliary = OneEuro(*LANDMARK_FILTER), OneEuro(*AUXILIARY_FILTER)

    def follow(self, found: LandmarkAnswer, time_us: int) -> LandmarkAnswer:
        """Filter this frame's answer and place the next frame's region from it; returns the filtered answer."""
        hip_centre, full_body = found.landmarks[HIP_CENTRE, :2], found.landmarks[FULL_BODY, :2]
        # MediaPipe's object scale: the unscaled square between the unfiltered auxiliary points (its side, in pixels)
        scale = 2 * float(np.hypot(*(full_body - hip_centre)))
        if scale < MIN_OBJECT_SCALE:  # MediaPipe leaves such landmarks unfiltered
            self.region = region_from_alignment(hip_centre, full_body)
            return found
        auxiliary = self.auxiliary(found.landmarks[[HIP_CENTRE, FULL_BODY], :2], time_us, 1 / scale)
        self.region = region_from_alignment(auxiliary[0], auxiliary[1])
        if not self.smooth:
            return found
        landmarks = found.landmarks.astype(np.float64)
        landmarks[:BODY, :2] = self.points(landmarks[:BODY, :2], time_us, 1 / scale)
        landmarks[:BODY, 2] = self.visibility(landmarks[:BODY, 2])
        world = found.world.astype(np.float64)
        world[:BODY] = self.world(world[:BODY], time_us)
        return LandmarkAnswer(landmarks.astype(np.float32), world.astype(np.float32), found.presence)

    def state(self) -> dict[str, np.ndarray]:
        """The tracker as arrays (for a checkpoint); :meth:`restore` takes them back."""
        arrays = {}
        if self.region is not None:
            arrays["region"] = np.array([*self.region.center, self.region.size, self.region.rotation], np.float64)
        if self.histogram is not None:
            arrays["histogram"] = self.histogram
        if self.checked_us is not None:
            arrays["checked_us"] = np.array(self.checked_us, np.int64)
        for name, bank in self._banks().items():
            arrays.update({f"{name}.{key}": value for key, value in bank.state().items()})
        return arrays

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        region = arrays.get("region")
        self.region = None if region is None else RegionOfInterest(np.asarray(region[:2]), float(region[2]), float(region[3]))
        self.histogram = arrays.get("histogram")
        self.checked_us = int(arrays["checked_us"]) if "checked_us" in arrays else None
        for name, bank in self._banks().items():
            bank.restore({key.split(".", 1)[1]: value for key, value in arrays.items() if key.startswith(f"{name}.")})

    def _banks(self) -> dict:
        return {"points": self.points, "world": self.world, "auxiliary": self.auxiliary, "visibility": self.visibility}


class BlazePose(PoseModel):
    name = "blazepose"
    keypoint_names = BLAZEPOSE_KEYPOINTS
    max_persons = 1  # MediaPipe's pose pipeline follows one person: the main worker
    min_person_score = MIN_PRESENCE
    world_landmarks = True
    batch_size = 1  # one crop at a time: each frame's region comes from the frame before

    def __init__(self, variant: str | None = None, *, models_dir: Path, device: str | None = None, precision: str = "fp32",
                 smooth: bool = True, second_opinion: bool = True):
        from .assets import cached

        self.variant = variant or "full"
        if self.variant not in VARIANTS:
            # the value is not echoed: it may be a path, and messages reach web clients
            raise PoseModelUnavailable("BlazePose comes as lite, full or heavy; set the variant with ERGO_POSE_WEIGHTS or "
                                       "--weights (random weights and weight files are for keypointrcnn).")
        self.device = device or default_device()
        self.smooth = smooth
        self.second_opinion = second_opinion
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
        """Independent frames (MediaPipe's static image mode): each one detected afresh, nothing smoothed."""
        out = PoseOutput.empty(len(frames), 1, BODY, world=True)
        for position in range(len(frames)):
            self._step(frames, position, 0, Tracker(smooth=False), out)
        return out

    def predict_sequence(self, frames: np.ndarray) -> PoseOutput:
        """Consecutive frames of a 30-per-second stream (MediaPipe's Python solution assumes the same)."""
        return self.track(frames, np.arange(1, len(frames) + 1) * 33_333)[0]

    def track(self, frames: np.ndarray, times_us: np.ndarray, state: dict[str, np.ndarray] | None = None
              ) -> tuple[PoseOutput, dict[str, np.ndarray]]:
        """MediaPipe's video mode through ``frames``, from the :class:`Tracker` ``state`` (a fresh one without)."""
        tracker = Tracker(self.smooth)
        if state:
            tracker.restore(state)
        out = PoseOutput.empty(len(frames), 1, BODY, world=True)
        out.ended, out.cuts = np.zeros(len(frames), np.int8), np.zeros(len(frames), bool)
        for position, time_us in enumerate(times_us):
            histogram, tracker.histogram = tracker.histogram, scenes.colour_histogram(frames[position])
            out.cuts[position] = scenes.is_cut(histogram, tracker.histogram)
            ended = self._second_opinion(frames[position:position + 1], int(time_us), tracker, out.cuts[position]) if self.second_opinion else 0
            if not self._step(frames, position, int(time_us), tracker, out, detect=not ended):
                out.ended[position] = ended
        return out, tracker.state()

    def _step(self, frames: np.ndarray, position: int, time_us: int, tracker: Tracker, out: PoseOutput, detect: bool = True) -> bool:
        """One frame of MediaPipe's video mode: find the region (``detect``: with the detector if there is none
        yet), read the landmarks, filter, record.  Returns whether a person was found."""
        region = tracker.region or (_largest(self._people(frames[position:position + 1], tracker, time_us)) if detect else None)
        if region is None:
            tracker.lose()
            return False
        answer = self.landmarks.predict(frames, [region], [position])
        found = LandmarkAnswer(answer["landmarks"][0], answer["world"][0], float(answer["presence"][0]))
        if not found.present:
            tracker.lose()
            return False
        self._record(out, position, tracker.follow(found, time_us))
        return True

    def _people(self, frame: np.ndarray, tracker: Tracker, time_us: int) -> list[Detection]:
        """The people the detector finds in the (1, h, w, 3) ``frame``, noted in the ``tracker`` as a check."""
        tracker.checked_us = time_us
        return self.detector.detect_batch(frame, max_people=CANDIDATES)[0]

    def _second_opinion(self, frame: np.ndarray, time_us: int, tracker: Tracker, cut: bool) -> int:
        """At a scene cut (``cut``: this frame starts a new shot), or ``RECHECK_US`` after the last detection, ask the
        detector whether the followed region holds a person; if none of its detections supports the region, end the
        track and follow the largest person it found instead (none: the frame is detected afresh).  Returns why the
        track ended (0: it did not)."""
        if tracker.region is None:
            return 0
        if not cut and tracker.checked_us is not None and time_us - tracker.checked_us < RECHECK_US:
            return 0
        people = self._people(frame, tracker, time_us)
        if any(supports(person, tracker.region) for person in people):
            return 0
        tracker.lose()
        tracker.region = _largest(people)
        return ENDED_AT_CUT if cut else ENDED_AT_RECHECK

    @staticmethod
    def _record(out: PoseOutput, position: int, found: LandmarkAnswer) -> None:
        body = found.landmarks[:BODY]
        out.keypoints[position, 0] = body
        out.world[position, 0] = found.world[:BODY]
        out.boxes[position, 0] = [*body[:, :2].min(0), *body[:, :2].max(0), found.presence]

    def describe(self) -> dict:
        described = {**super().describe(), "weights": f"pose_landmark_{self.variant}", "variant": self.variant, "device": self.device,
                     "precision": self.landmarks.precision, "smooth_landmarks": self.smooth,
                     "tracking": "continuous (MediaPipe's video mode): the detector runs when the person is lost"
                     + (f", at scene cuts and every {RECHECK_US / 1e6:g} s" if self.second_opinion else ""),
                     "detector_executor": self.detector.executor}
        if self.precision_check is not None:
            described["precision_check"] = self.precision_check
        return described

    def unpinned(self) -> dict[str, str]:
        """The detector, unless the sparse kernel runs it: oneDNN's dense sums (or a GPU's) are not the same bits
        on every machine, and the first detection sets the whole track."""
        if self.detector.pinned:
            return {}
        why = "the sparse kernel was not built or this CPU cannot run it" if self.device == "cpu" else f"it runs on {self.device}"
        return {"detector": f"{self.detector.executor}: {why}"}


def _largest(people: list[Detection]) -> RegionOfInterest | None:
    """The region of the largest of ``people`` (the main worker), or None: the detector's boxes are all about one
    size, its alignment points are not."""
    return max((region_of_interest(person) for person in people), key=lambda roi: roi.size, default=None)


def supports(person: Detection, region: RegionOfInterest) -> bool:
    """Whether a detected person is the one followed in ``region``: its hip centre near the region's centre and its
    region about as large (:data:`SUPPORT_OFFSET`, :data:`SUPPORT_SCALE`)."""
    detected = region_of_interest(person)
    offset = float(np.abs(detected.center - region.center).max()) / region.size
    return offset <= SUPPORT_OFFSET and 1 / SUPPORT_SCALE <= detected.size / region.size <= SUPPORT_SCALE
