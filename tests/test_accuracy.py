"""The short version of ``benchmarks/accuracy.py``: each of four calibrated cameras against the triangulated skeleton.

Pose2Sim's four-camera recordings (1.7 s each: one person, and two people; fetched from the pinned wheel on PyPI into
``~/.cache/ergo``), analysed at 15 frames per second.  The thresholds hold with a wide margin over what was measured
(in comments).
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import accuracy
from ergo_tasks.analysis.settings import AnalysisSettings
from pipeline.angles import AngleSettings
from pipeline.pose.blazepose import BlazePose

pytestmark = pytest.mark.slow  # four camera videos through BlazePose: the fast lane leaves it to make test


@pytest.fixture(scope="module")
def demo():
    return accuracy.fetch_demo()


@pytest.fixture(scope="module")
def calibration(demo):
    return accuracy.read_qca(demo / "calibration" / "Calib.qca.txt")


@pytest.fixture(scope="module")
def measured(demo, calibration, pose_models):
    model = BlazePose(models_dir=AnalysisSettings().models_folder(), device="cpu")
    results = accuracy.analyse_cameras(demo, model, accuracy.CAMERAS, fps=15.0)
    truths = accuracy.references(results, calibration, AngleSettings().min_confidence)
    return results, truths, accuracy.compare(results, truths, calibration)


@pytest.fixture(scope="module")
def two_people(calibration, pose_models):
    model = BlazePose(models_dir=AnalysisSettings().models_folder(), device="cpu")
    folder, min_confidence = accuracy.fetch_demo(recording="multi"), AngleSettings().min_confidence
    results = accuracy.analyse_cameras(folder, model, accuracy.CAMERAS, fps=15.0)
    others = accuracy.painted_views(folder, model, results, calibration, 15.0, min_confidence)  # ~25 s the first time, 7 cached
    return accuracy.compare(results, accuracy.references(results, calibration, min_confidence, others), calibration)


def test_triangulation_recovers_points_from_the_calibrated_cameras(calibration):
    rng = np.random.default_rng(0)
    points = rng.uniform([-1.0, -1.0, 0.0], [1.0, 1.0, 2.0], size=(3, 5, 3))  # (frames, keypoints, xyz) in the room
    projections = np.stack([camera.projection for camera in calibration.values()])
    seen = np.stack([accuracy.project(points, projection) for projection in projections])
    weights = np.ones(seen.shape[:-1])
    np.testing.assert_allclose(accuracy.triangulate(seen, weights, projections), points, atol=1e-6)
    weights[1:, 0, 0] = 0  # seen by one camera only: no depth
    weights[2:, 0, 1] = 0  # by two: enough
    found = accuracy.triangulate(seen, weights, projections)
    assert np.isnan(found[0, 0]).all()
    np.testing.assert_allclose(found[0, 1], points[0, 1], atol=1e-6)


def test_a_view_that_labels_the_body_left_for_right_is_relabelled(calibration):
    from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS
    from pipeline.sides import mirrored

    names = list(BLAZEPOSE_KEYPOINTS)
    rng = np.random.default_rng(1)
    points = rng.uniform([-0.3, -0.3, 0.0], [0.3, 0.3, 1.8], size=(6, len(names), 3))
    projections = np.stack([camera.projection for camera in calibration.values()])
    seen = np.stack([accuracy.project(points, projection) for projection in projections])
    twin = mirrored(names)
    assert names[twin[names.index("left_wrist")]] == "right_wrist" and names[twin[0]] == "nose"
    seen[2, [1, 4]] = seen[2, [1, 4]][:, twin]  # the third camera swaps frames 1 and 4
    fixed, _, swapped = accuracy.undo_swaps(seen.copy(), np.ones(seen.shape[:-1]), projections, names)
    assert swapped.sum() == 2 and swapped[2, [1, 4]].all()
    np.testing.assert_allclose(accuracy.triangulate(fixed, np.ones(seen.shape[:-1]), projections), points, atol=1e-6)


def test_a_view_that_misses_the_others_is_left_out_and_two_that_disagree_leave_the_point_unknown(calibration):
    rng = np.random.default_rng(2)
    points = rng.uniform([-0.3, -0.3, 0.5], [0.3, 0.3, 1.8], size=(4, 3, 3))
    projections = np.stack([camera.projection for camera in calibration.values()])
    seen = np.stack([accuracy.project(points, projection) for projection in projections])
    seen[1, 2, 1] += 80.0  # the second view guesses frame 2's second point 80 px off
    weights = np.ones(seen.shape[:-1])
    found, used = accuracy.triangulate_robust(seen, weights, projections)
    np.testing.assert_allclose(found, points, atol=1e-6)
    assert not used[1, 2, 1] and used.sum() == used.size - 1
    weights[2:, 3, 0] = 0  # frame 3's first point seen by two views only, which disagree: no view can be told wrong
    seen[0, 3, 0] += 120.0
    found, used = accuracy.triangulate_robust(seen, weights, projections)
    assert np.isnan(found[3, 0]).all() and not used[:, 3, 0].any()


def test_the_head_point_does_not_depend_on_which_ear_a_view_calls_left():
    from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS

    names = list(BLAZEPOSE_KEYPOINTS)
    rng = np.random.default_rng(3)
    points, weights = rng.uniform(0, 1000, size=(2, 4, len(names), 2)), rng.uniform(0.3, 1, size=(2, 4, len(names)))
    relabelled = points.copy()
    ears = [names.index("left_ear"), names.index("right_ear")]
    relabelled[1][:, ears] = relabelled[1][:, ears[::-1]]  # the second view calls the right ear left
    mid, mid_weights = accuracy.with_mid_ear(points, weights, names)
    np.testing.assert_allclose(accuracy.with_mid_ear(relabelled, weights, names)[0][:, :, -1], mid[:, :, -1])
    np.testing.assert_allclose(mid[:, :, -1], points[:, :, ears].mean(axis=2))
    assert mid.shape[2] == len(names) + 1 and (mid_weights[:, :, -1] <= weights[:, :, ears[0]]).all()


def test_cameras_stand_where_the_laboratory_says(calibration):
    """Four cameras around the person, 1.7-2.1 m up, each projecting the room's centre into its frame."""
    assert sorted(calibration) == list(accuracy.CAMERAS)
    for camera in calibration.values():
        assert 1.5 < camera.centre[2] < 2.3
        x, y = accuracy.project(np.array([0.0, 0.0, 1.0]), camera.projection)
        assert 0 < x < 1088 and 0 < y < 1920


def test_each_camera_against_the_triangulated_skeleton(measured):
    results, truths, report = measured
    assert report["frames"] == 25 and report["groups"] == [list(accuracy.CAMERAS)]
    assert report["reprojection_px_median"][0] < 30  # 13.7 px: the calibration is read right (241 px when it was not)
    truth = truths["cam01"]
    height = np.nanmax(truth["skeleton"][..., 2]) - np.nanmin(truth["skeleton"][..., 2])
    assert 1.4 < height < 2.1  # a person, in metres
    assert np.isfinite(truth["rula"]["grand_score"]).mean() > 0.9
    assert report["views_left_out"][0] < 0.1  # 1%: the four views agree within 30 px on nearly every point
    # every view's labels agree with the others': cam02's left/right swaps (7 frames, which the triangulation had
    # to relabel before pipeline/sides.py) are undone by the analysis itself
    assert report["swapped_frames"] == dict.fromkeys(accuracy.CAMERAS, 0)
    for camera, figures in report["cameras"].items():
        assert figures["mae_p95"]["knee"][0] < 35, camera  # 8-20 degrees
        assert figures["mae_p95"]["wrist"][0] < 40, camera  # 7-24 degrees
        assert set(figures["parts_differ"]["rula"]) == set(accuracy.PARTS) == set(figures["parts_differ"]["reba"]), camera
        assert figures["parts_differ"]["rula"]["upper_arm"] < 0.6, camera  # 0.05-0.32 of frames
        assert figures["rula"]["within_1"] >= 0.4, camera  # 0.72-1.0
        # no upper-arm flips: p95 10-33 degrees (158 and 179 at 30 fps when the sagittal flexion flipped at the side;
        # cam04's 51 when its extension was read near the frontal plane, where the depth from behind is no guide)
        assert figures["mae_p95"]["upper_arm"][1] < 45, camera
        # the 3D points placed on the image (pipeline/viewpoint.py): upper arm 3.9-11.7 (7.0-16.9 on the model's own
        # points), elbow 9.0-18.4 (15.3-24.2)
        assert figures["mae_p95"]["upper_arm"][0] < 25, camera
        assert figures["mae_p95"]["elbow"][0] < 35, camera


def test_the_reference_says_what_it_can_be_trusted_for(measured):
    """Leaving any one view out moves the reference's trunk by 2.6-2.7 degrees, its neck by 6.1-6.9, but its wrists by
    15.6-17.6 (the hand's points, centimetres apart, rest on single views); its head is narrower than a head (ears
    9.6-9.7 cm apart where heads have 14-15) with the nose 5.6 cm ahead of the ears' midpoint (10-12 on a head):
    BlazePose's image ear points, which every view places inside the head's outline, so the reference's neck is
    consistent between views but not an anatomical one (figures: ATEN_CPU_CAPABILITY default and avx2)."""
    _, _, report = measured
    stability = report["reference_stability"][0]
    assert stability["trunk_flexion"] < 6 and stability["neck_flexion"] < 12
    assert stability["wrist"] > 2 * stability["trunk_flexion"]
    head = report["reference_checks"][0]["head"]
    assert head["ear_to_ear_cm"] < head["expected"]["ear_to_ear_cm"][0] - 2
    assert head["nose_ahead_cm"] < head["expected"]["nose_ahead_cm"][0] - 2
    assert max(head["mid_ear_px"].values()) < 30  # the views agree on that point all the same (7-14 px)
    hands = report["reference_checks"][0]["hands"]
    assert all(hand["triangulated"] > 0.9 for hand in hands.values())  # four views: 98-100% of frames


def test_the_viewpoint_is_where_the_calibration_puts_the_camera(measured):
    """cam01 and cam02 film the worker from the front (their calibrated azimuths 31 and 18 degrees), cam03 and cam04
    from behind (140, 149): each camera's own 3D points tell it within 3-13 degrees; and where an arm's plane lies
    across the picture, its angle is the image's (cam04: 23 of 25 frames)."""
    _, _, report = measured
    for camera, figures in report["cameras"].items():
        assert abs(figures["viewpoint"]["median_azimuth"] - figures["calibrated_azimuth"]) < 30, camera
        assert sum(figures["viewpoint"]["frames"].values()) >= 12, camera  # 18-25 of 25 frames (cam02 keeps fewest)
    assert report["cameras"]["cam04"]["angle_sources"]["upper_arm"]["2d_in_picture"] >= 10


def test_a_recording_of_two_people_is_compared_person_by_person(two_people):
    """Each camera follows its largest person: cam01 and cam02 the woman, cam03 and cam04 the man; each camera is
    compared with its person's skeleton triangulated from all four cameras, the other pair's videos analysed again
    with their own person painted out (10-13 px; figures: ATEN_CPU_CAPABILITY default and avx2)."""
    report = two_people
    assert report["groups"] == [["cam01", "cam02"], ["cam03", "cam04"]] and report["without_reference"] == []
    assert max(report["reprojection_px_median"]) < 30
    # the painted copies follow the other person (the woman in cam03 13-15 of 25 frames, half behind the man; 22-25
    # elsewhere), so no point is left unknown for want of views (1-2%; 21% and 43% from each pair alone) and the
    # reference can be checked by leaving a view out (trunk 4.3-5.3 degrees, as on the single recording)
    assert all(view["following"] >= 6 for views in report["painted_views"] for view in views.values())
    assert max(report["unknown_points"]) < 0.1
    assert all(stability["trunk_flexion"] < 12 for stability in report["reference_stability"])
    for camera, figures in report["cameras"].items():
        assert figures["rula"]["within_1"] >= 0.4, camera  # 0.94-1.0
        assert figures["rula"]["frames"] >= 10, camera  # 16-25 of 25 (7-15 with two views): where the camera sees its person
        # 6.6-17.6 degrees, p95 26-70: a flexion taken for an extension from behind, and frames where the arm lies
        # near the body's side plane and the reference's own sign turns with the views it uses
        assert figures["mae_p95"]["upper_arm"][0] < 30, camera
        assert figures["mae_p95"]["upper_arm"][1] < 150, camera  # a full flip reads 158-179
        assert figures["mae_p95"]["knee"][0] < 35, camera  # 5.8-20.3
        assert abs(figures["viewpoint"]["median_azimuth"] - figures["calibrated_azimuth"]) < 30, camera  # 1-13 apart
    # no arm's sign from a back view's depth (pipeline.viewpoint.arms_in_front): where the reference knows the sign, p95 10-14 (avx2, default)
    assert all(report["cameras"][camera]["upper_arm_sign_settled"][1] < 30 for camera in ("cam02", "cam04"))  # cam04: 51 before


def test_the_camera_tilt_is_found_and_the_trunk_measured_against_gravity(measured):
    """cam01 and cam04 show the worker's straight legs in 11 and 17 of 25 frames (cam03 in 7, cam02, which reads
    6 frames, too few); the estimated pitch is 1.5-11 degrees from the calibration's, the roll 1-3.  Against
    gravity, their trunk is 5-9 degrees off the reference (29 and 33 against the camera's up); cam03's stays ~23."""
    _, _, report = measured
    for camera in ("cam01", "cam03", "cam04"):
        tilt = report["cameras"][camera]["tilt"]
        assert tilt["estimated"]["method"] in ("stance", "scene", "scene+stance") or camera == "cam03", camera  # scene: the room's edges
        if tilt["estimated"]["method"] != "none":
            assert abs(tilt["estimated"]["pitch"] - tilt["calibrated"]["pitch"]) < 20, camera
            assert abs(tilt["estimated"]["roll"] - tilt["calibrated"]["roll"]) < 8, camera
    for camera in ("cam01", "cam04"):
        assert report["cameras"][camera]["mae_p95"]["trunk_flexion"][0] < 16, camera
    assert report["spread"]["trunk_flexion"] < 45  # 33 (59 against each camera's up)
