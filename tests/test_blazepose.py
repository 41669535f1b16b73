"""BlazePose as the pipeline's pose model: tracking, batching, 3D points, and angles on real photographs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ergo_tasks.analysis.settings import AnalysisSettings
from pipeline.analysis import AnalysisOptions, analyze_video
from pipeline.pose import load_pose_model
from pipeline.pose.base import TRACK_ENDED
from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS, ENDED_AT_CUT, ENDED_AT_RECHECK, RECHECK_US, BlazePose, supports
from pipeline.pose.blazepose_detector import Detection, RegionOfInterest, region_of_interest
from pipeline.presets import PRESETS

pytestmark = pytest.mark.slow
SHOULDERS = [BLAZEPOSE_KEYPOINTS.index("left_shoulder"), BLAZEPOSE_KEYPOINTS.index("right_shoulder")]
HIPS = [BLAZEPOSE_KEYPOINTS.index("left_hip"), BLAZEPOSE_KEYPOINTS.index("right_hip")]
CANVAS = 900


def posed(degrees: float = 0.0, shift: int = 0) -> np.ndarray:
    """scikit-image's astronaut on a grey canvas, turned about a point below her waist and shifted sideways."""
    from skimage import data, transform

    canvas = np.full((CANVAS, CANVAS, 3), 96, np.uint8)
    canvas[150:662, 194 + shift:706 + shift] = data.astronaut()
    if not degrees:
        return canvas
    return (transform.rotate(canvas, degrees, center=(450, 700), mode="constant", cval=96 / 255) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def model(pose_models):
    return BlazePose(models_dir=AnalysisSettings().models_folder(), device="cpu")


class Calls:
    """Counts the images each detector call and the crops each landmark call receives."""

    def __init__(self, model: BlazePose, monkeypatch):
        self.detections, self.crops = [], []
        detect, look = model.detector.detect_batch, model.landmarks.predict

        def counted_detect(images, *args, **kwargs):
            self.detections.append(len(images))
            return detect(images, *args, **kwargs)

        def counted_look(frames, rois, index):
            self.crops.append(len(rois))
            return look(frames, rois, index)

        monkeypatch.setattr(model.detector, "detect_batch", counted_detect)
        monkeypatch.setattr(model.landmarks, "predict", counted_look)


def test_mediapipes_detector_runs_only_when_the_person_is_lost(pose_models, monkeypatch):
    mediapipe = BlazePose(models_dir=AnalysisSettings().models_folder(), device="cpu", second_opinion=False)
    blank = np.full((CANVAS, CANVAS, 3), 96, np.uint8)
    frames = np.stack([posed(), posed(shift=15), posed(8, 30), blank, posed(), posed(shift=-20)])
    calls = Calls(mediapipe, monkeypatch)
    out = mediapipe.predict_sequence(frames)
    found = np.isfinite(out.boxes[:, 0, 4])
    assert found.tolist() == [True, True, True, False, True, True]
    # as in MediaPipe's video mode: the first frame is detected; on the blank frame the tracked crop finds nobody,
    # which is reported as nobody (no detection in the same frame); the frame after it is detected afresh
    assert calls.detections == [1, 1]
    assert calls.crops == [1] * 6
    assert (out.boxes[found, 0, 4] > 0.9).all()
    assert out.world.shape == (6, 1, 33, 3) and np.isnan(out.world[3]).all()
    assert not out.ended.any()


def test_a_track_is_ended_at_a_scene_cut_without_a_person_and_says_why(model, monkeypatch):
    """The second opinion: the blank frame is a cut, so the detector is asked before the landmark network, finds
    nobody where the person was followed, and the track ends there (MediaPipe's tracker would read the old region)."""
    blank = np.full((CANVAS, CANVAS, 3), 96, np.uint8)
    frames = np.stack([posed(), posed(shift=15), posed(8, 30), blank, posed(), posed(shift=-20)])
    calls = Calls(model, monkeypatch)
    out = model.predict_sequence(frames)
    assert np.isfinite(out.boxes[:, 0, 4]).tolist() == [True, True, True, False, True, True]
    assert calls.detections == [1, 1, 1]  # the first frame, the cut to the blank frame, the cut back (nobody followed)
    assert calls.crops == [1] * 5  # no landmarks read in a region the detector found empty
    assert out.ended.tolist() == [0, 0, 0, ENDED_AT_CUT, 0, 0]
    assert out.cuts.tolist() == [False, False, False, True, True, False]  # where shots change (pipeline/continuity.py)
    assert "scene cut" in TRACK_ENDED[ENDED_AT_CUT]


def test_a_followed_person_is_checked_regularly_and_a_track_no_detection_supports_ends(model, monkeypatch):
    frames = np.stack([posed(shift=s) for s in range(0, 60, 5)])  # no cut: the person moves 5 px a frame
    times = np.arange(len(frames)) * (RECHECK_US // 4)
    calls = Calls(model, monkeypatch)
    followed, _ = model.track(frames, times)
    assert calls.detections == [1] * 3  # the first frame, then every fourth (RECHECK_US on)
    assert np.isfinite(followed.boxes[:, 0, 4]).all() and not followed.ended.any()  # each re-check found the person
    detect = model.detector.detect_batch
    answers = iter([True])  # the first frame is detected; the re-check, and the frame after it, find nobody
    monkeypatch.setattr(model.detector, "detect_batch",
                        lambda images, max_people: detect(images, max_people) if next(answers, False) else [[]])
    ended, _ = model.track(frames[:6], times[:6])
    assert ended.ended.tolist() == [0, 0, 0, 0, ENDED_AT_RECHECK, 0] and np.isnan(ended.boxes[4:, 0, 4]).all()


def test_a_detection_supports_a_region_near_it_and_about_its_size():
    person = Detection(0.9, np.array([0, 0, 10, 10.0]), np.array([[100, 100], [100, 40], [100, 60], [100, 50.0]]))
    region = region_of_interest(person)  # 150 px
    assert supports(person, region)
    assert supports(person, RegionOfInterest(region.center + [0.25 * region.size, 0], region.size, 0.0))
    assert not supports(person, RegionOfInterest(region.center + [0.35 * region.size, 0], region.size, 0.0))
    assert not supports(person, RegionOfInterest(region.center, region.size * 5, 0.0))


def test_tracking_goes_on_from_a_saved_state_exactly(model, monkeypatch):
    frames = np.stack([posed(shift=s) for s in (0, 10, 20, 30, 40, 50)])
    times = np.arange(6) * 200_000
    whole, _ = model.track(frames, times)
    first, state = model.track(frames[:3], times[:3])
    saved = {name: np.array(value) for name, value in state.items()}  # what a checkpoint keeps
    calls = Calls(model, monkeypatch)
    second, _ = model.track(frames[3:], times[3:], saved)
    assert calls.detections == [1] * int(times[-1] // RECHECK_US)  # followed from the saved region, checked as if uninterrupted
    np.testing.assert_array_equal(np.concatenate([first.keypoints, second.keypoints]), whole.keypoints)
    np.testing.assert_array_equal(np.concatenate([first.world, second.world]), whole.world)
    # tracked frames follow the person, who moves 10 px a frame
    nose = whole.keypoints[:, 0, 0, :2]
    assert np.abs(np.diff(nose[:, 0]) - 10).max() < 5 and np.ptp(nose[:, 1]) < 10


def test_smoothing_steadies_a_still_person_and_follows_a_moving_one(pose_models):
    settings = AnalysisSettings().models_folder()
    smooth, raw = BlazePose(models_dir=settings, device="cpu"), BlazePose(models_dir=settings, device="cpu", smooth=False)
    still = np.stack([posed(shift=s % 2) for s in range(8)])  # a 1 px tremble
    times = np.arange(8) * 200_000
    steady, shaky = (model.track(still, times)[0].keypoints[:, 0, :, :2] for model in (smooth, raw))
    assert np.abs(np.diff(steady[:, SHOULDERS, 0], axis=0)).mean() < np.abs(np.diff(shaky[:, SHOULDERS, 0], axis=0)).mean() / 2
    moving = np.stack([posed(shift=20 * s) for s in range(8)])
    followed = smooth.track(moving, times)[0].keypoints[:, 0, SHOULDERS, 0].mean(1)
    assert followed[-1] - followed[0] > 0.8 * 140  # One Euro filters let real movement through
    assert smooth.describe()["smooth_landmarks"] and not raw.describe()["smooth_landmarks"]


def trunk_inclinations(model, image) -> tuple[float, float]:
    """Signed lean of the trunk from vertical in the image (2D keypoints) and in the frontal plane (3D world points)."""
    out = model.predict(image[None])
    points, world = out.keypoints[0, 0], out.world[0, 0]
    flat = points[SHOULDERS, :2].mean(0) - points[HIPS, :2].mean(0)
    deep = world[SHOULDERS].mean(0) - world[HIPS].mean(0)
    return math.degrees(math.atan2(flat[0], -flat[1])), math.degrees(math.atan2(deep[0], -deep[1]))


@pytest.mark.parametrize("degrees", [20, 40, -30])
def test_turning_the_photo_turns_the_measured_trunk_by_that_angle(model, degrees):
    upright = trunk_inclinations(model, posed())
    turned = trunk_inclinations(model, posed(degrees))
    for before, after in zip(upright, turned):
        # a counter-clockwise turn leans the trunk towards -x; measured -20.1/-40.8/+26.6 (2D), -20.1/-41.7/+27.5 (3D)
        assert after - before == pytest.approx(-degrees, abs=10)


def test_world_points_are_metric_and_the_pose_plausible(model):
    out = model.predict(posed()[None])
    points, world = out.keypoints[0, 0], out.world[0, 0]
    assert points[0, 1] < points[SHOULDERS, 1].min() and points[SHOULDERS, 1].max() < points[HIPS, 1].min()  # nose, shoulders, hips
    assert points[SHOULDERS[1], 0] < points[SHOULDERS[0], 0]  # facing the camera: her left shoulder on the image's right
    shoulder_width = np.linalg.norm(world[SHOULDERS[0]] - world[SHOULDERS[1]])
    assert 0.2 < shoulder_width < 0.5  # metres
    assert np.abs(world[HIPS].mean(0)).max() < 0.05  # the origin lies between the hips


def test_blazepose_is_the_default_model(pose_models, monkeypatch):
    monkeypatch.delenv("ERGO_POSE_MODEL", raising=False)
    monkeypatch.delenv("ERGO_POSE_WEIGHTS", raising=False)
    model = load_pose_model(AnalysisSettings().pose())
    assert model.name == "blazepose" and model.describe()["weights"] == "pose_landmark_full"


def test_an_analysis_says_which_angles_came_from_3d(pose_models, tmp_path):
    from pipeline.demo import make_demo_video

    video = make_demo_video(tmp_path / "demo.mp4", fps=4)
    result = analyze_video(video, load_pose_model(AnalysisSettings().pose("blazepose")), AnalysisOptions(PRESETS["low"], chunk_size=8))
    assert result.detected.mean() > 0.8
    sources = result.inputs.angle_sources
    # the photo shows no hips: where their visibility (MediaPipe's) is too low for the world points, the image's are used
    trunk = sources["trunk_flexion"]
    assert trunk["3d"] >= 0.8 * result.detected.sum() and trunk["3d"] + trunk["2d"] <= result.detected.sum()
    assert sources["trunk_side_bend"]["3d"] > 0 and "trunk_side_bent" in result.inputs.measured
    side_bend, times = result.angles["trunk_side_bend"], result.timestamps
    # the demo leans 40 degrees to the side from 5 s to 9 s and is upright before 3 s; the photo shows no hips, so
    # MediaPipe's hips (which BlazePose places where they would be) lean with the trunk: measured 13.9 against 4.2
    # (with the numeric libraries pinned, on every CPU with AVX2; 14.5 against 1.7 before, on another machine)
    assert np.nanmedian(side_bend[(times >= 5.5) & (times <= 8.5)]) > np.nanmedian(side_bend[times < 3]) + 6
    assert result.world_keypoints.shape == result.keypoints.shape
    from openpyxl import load_workbook

    from pipeline.results import write_results

    paths = write_results(result, tmp_path / "results")
    summary = json.loads(paths["json"].read_text())
    assert summary["inputs"]["angle_sources"]["trunk_flexion"] == sources["trunk_flexion"]
    rows = {row[0]: row[1] for row in load_workbook(paths["xlsx"], read_only=True)["Summary"].iter_rows(values_only=True)
            if len(row) > 1}
    assert rows["Angle trunk_flexion"].startswith(f"from 3D points in {sources['trunk_flexion']['3d']} frames")
    header = paths["csv"].read_text().splitlines()[0].split(",")
    assert {"wrist_left", "trunk_side_bend"} <= set(header)


def test_ergo_demo_runs_offline_and_shows_the_risk_changing(pose_models, local_store, tmp_path):
    import os
    import subprocess
    import sys

    from tests.helpers import storage_env

    out = tmp_path / "demo"
    env = storage_env(local_store, ERGO_MODELS_DIR=os.environ["ERGO_MODELS_DIR"])
    result = subprocess.run([sys.executable, "-m", "ergo_tasks.cli", "demo", "--out", str(out)], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    detected = int(result.stdout.split("Check: person detected in ")[1].split("%")[0])
    assert detected >= 80 and "RULA changes over the clip" in result.stdout
    assert "RULA over time" in result.stdout and "REBA over time" in result.stdout
    # the lean is scored or ranged, and the risk visibly rises with it and falls after it ("6s:3-7, 8s:≤7, 10s:3")
    rula = next(line for line in result.stdout.splitlines() if line.startswith("RULA over time")).split("): ", 1)[1]
    tops = [int(step.split(":")[1].split("-")[-1].lstrip("≤")) for step in rula.split(", ") if not step.endswith(":-")]
    assert len(tops) >= 6 and tops[0] < max(tops) and tops[-1] < max(tops), rula
    assert {"demo.mp4", "result.pkl", "summary.json", "frames.csv", "report.xlsx", "report.pdf"} <= {p.name for p in out.iterdir()}
    assert f"PDF report: {out / 'report.pdf'}" in result.stdout and "Posture pictures (" in result.stdout
    assert list((out / "frames").glob("*.jpg"))
    # the CLI's process held the numeric libraries to AVX2, and the result says so
    assert json.loads((out / "summary.json").read_text())["model"]["numerics"] == {"isa": "avx2", "pinned": True}


def test_the_largest_person_is_followed(model):
    from skimage import data, transform

    photo = data.astronaut()
    small = (transform.rescale(photo, 0.7, channel_axis=-1) * 255).astype(np.uint8)
    scene = np.full((600, 1100, 3), 96, np.uint8)
    scene[560 - small.shape[0]:560, 1080 - small.shape[1]:1080] = small  # a smaller person to the right...
    scene[560 - 512:560, 20:532] = photo  # ...and the main worker, larger, to the left
    people = model.detector.detect_batch(scene[None], max_people=5)[0]
    assert len(people) == 2 and people[0].box[0] > 600  # the detector itself scores the smaller one first (0.93 vs 0.92)
    nose_x = model.predict(scene[None]).keypoints[0, 0, 0, 0]
    assert 20 < nose_x < 532


@pytest.mark.parametrize("bframes", [0, 3])  # read by decord, and by the PyAV reader that skips frames
def test_a_resumed_analysis_equals_an_uninterrupted_one(pose_models, tmp_path, bframes):
    from pipeline.analysis import MemoryCheckpoints
    from pipeline.demo import frames
    from pipeline.video import probe, write_video

    video = write_video(tmp_path / "demo.mp4", frames(fps=4), fps=4, bframes=bframes)
    assert probe(video).reader == ("pyav" if bframes else "decord")
    model, options = load_pose_model(AnalysisSettings().pose("blazepose")), AnalysisOptions(PRESETS["low"], chunk_size=5)
    finished = MemoryCheckpoints()
    whole = analyze_video(video, model, options, checkpoints=finished)
    assert len(finished.chunks) >= 4 and all(chunk.state for chunk in finished.chunks.values())
    # an interrupted run saved chunks 0 and 1: the rest go on from chunk 1's tracker; one that lost chunk 1 as well
    # computes everything from it on again
    for kept in ({0, 1}, {0, 2, 3}):
        partial = MemoryCheckpoints({i: c for i, c in finished.chunks.items() if i in kept})
        computed: list[int] = []
        resumed = analyze_video(video, model, options, checkpoints=partial, on_chunk=lambda c, into=computed: into.append(c.index))
        assert computed == list(range(min(set(finished.chunks) - kept), len(finished.chunks)))
        for key in ("keypoints", "world_keypoints", "detected"):
            np.testing.assert_array_equal(getattr(resumed, key), getattr(whole, key))
        assert resumed.rejections == whole.rejections  # the tracks the detector ended, from the checkpoints too


def test_tracking_runs_through_the_chunks_and_restarts_only_at_a_part(pose_models, tmp_path, monkeypatch):
    from pipeline.demo import make_demo_video

    video = make_demo_video(tmp_path / "demo.mp4", fps=4)
    # MediaPipe's tracking alone: the detector's re-checks while a person is followed are tested above
    model = BlazePose(models_dir=AnalysisSettings().models_folder(), device="cpu", second_opinion=False)
    calls = Calls(model, monkeypatch)
    continuous = analyze_video(video, model, AnalysisOptions(PRESETS["low"], chunk_size=5, part_chunks=0))
    assert len(continuous.frame_indices) > 20 and calls.detections == [1]  # one detection, then followed throughout
    calls.detections.clear()
    restarted = analyze_video(video, model, AnalysisOptions(PRESETS["low"], chunk_size=5, part_chunks=2))
    # every second chunk restarts, primed on the chunk before it (a detection there)
    parts = math.ceil(math.ceil(len(continuous.frame_indices) / 5) / 2)
    assert calls.detections == [1] * parts
    np.testing.assert_array_equal(restarted.keypoints[:10], continuous.keypoints[:10])  # the first part is the same track
    assert (restarted.detected == continuous.detected).all()


def test_a_worker_too_small_to_measure_well_is_flagged_in_the_result(pose_models, tmp_path):
    from benchmarks.pose_parity import make_clip
    from pipeline.presets import MIN_PERSON_PX
    from pipeline.results import write_results

    model, options = load_pose_model(AnalysisSettings().pose("blazepose")), AnalysisOptions(PRESETS["low"])
    small = analyze_video(make_clip(tmp_path / "small.mp4", "small"), model, options)
    assert small.summary.worker_height_px < MIN_PERSON_PX
    [warning] = small.summary.warnings
    assert f"about {small.summary.worker_height_px:.0f} px tall" in warning and "Film closer" in warning
    paths = write_results(small, tmp_path / "results")
    assert json.loads(paths["json"].read_text())["summary"]["warnings"] == [warning]
    from pypdf import PdfReader

    assert "Film closer" in " ".join(page.extract_text() for page in PdfReader(paths["pdf"]).pages).replace("\n", " ")
    large = analyze_video(make_clip(tmp_path / "demo.mp4", "demo"), model, options)
    assert large.summary.worker_height_px >= MIN_PERSON_PX and large.summary.warnings == []
