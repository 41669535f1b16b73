"""Left and right kept (pipeline/sides.py): BlazePose's left/right swaps found and undone.

The real sequences: Pose2Sim's four-camera demo (benchmarks/accuracy.py's loader), cam02 (a frontal view of a
strong side bend, where BlazePose turns the worker round for a run of frames) and cam01 (an oblique view where it
does not), analysed at 15 frames per second as the pose model gives them, before the swaps are undone.
"""

from __future__ import annotations

import numpy as np
import pytest

import pipeline.analysis
from benchmarks import accuracy
from ergo_tasks.analysis.settings import AnalysisSettings
from pipeline.angles import AngleSettings, camera_tilt
from pipeline.pose.blazepose import BlazePose
from pipeline.sides import SideSettings, _turn_back, face_agreement, keep_sides, mirrored
from pipeline.tracking import MainPerson


@pytest.fixture(scope="module")
def raw(pose_models):
    """cam01's and cam02's analyses with the model's labels as it gave them (the hook switched off)."""
    model = BlazePose(models_dir=AnalysisSettings().models_folder(), device="cpu")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline.analysis, "keep_sides", lambda *args, **kwargs: None)
        return accuracy.analyse_cameras(accuracy.fetch_demo(), model, ("cam01", "cam02"), fps=15.0)


def _main(result: dict) -> MainPerson:
    return MainPerson(result["keypoints"].copy(), result["boxes"].copy(), result["detected"].copy(), result["world_keypoints"].copy())


def _left_of_right(main: MainPerson, names: list[str], part: str) -> np.ndarray:
    """Per detected frame, whether the left point lies right of its twin in the image: facing the camera."""
    left, right = main.keypoints[main.detected, names.index(f"left_{part}"), 0], main.keypoints[main.detected, names.index(f"right_{part}"), 0]
    return left > right


def test_a_frontal_view_with_a_strong_side_bend_keeps_its_sides(raw):
    """cam02's worker faces the camera throughout (the four cameras agree); BlazePose turns them round for a run of
    frames (9 of the 21 it keeps at 15 fps: the left shoulder on the image's left).  Undone, every frame faces the camera,
    the 3D face looks along the chest again, and undoing twice changes nothing."""
    result = raw["cam02"]
    names = result["keypoint_names"]
    main = _main(result)
    before = {part: _left_of_right(main, names, part) for part in ("shoulder", "hip")}
    assert (~before["shoulder"]).sum() >= 4
    swapped = keep_sides(main, names, result["timestamps"])
    assert swapped.sum() == (~before["shoulder"]).sum()
    for part in ("shoulder", "hip"):
        assert _left_of_right(main, names, part).all(), part
    agreement = face_agreement(main.world, main.keypoints, names, SideSettings().min_confidence)
    assert (agreement[main.detected] > 0.5).all()
    again = _main({**result, "keypoints": main.keypoints, "world_keypoints": main.world})
    assert not keep_sides(again, names, result["timestamps"]).any()


def test_a_view_the_model_labels_right_is_left_alone(raw):
    result = raw["cam01"]
    main = _main(result)
    assert not keep_sides(main, result["keypoint_names"], result["timestamps"]).any()
    np.testing.assert_array_equal(main.keypoints, result["keypoints"])
    np.testing.assert_array_equal(main.world, result["world_keypoints"])


@pytest.fixture(scope="module")
def kept(raw):
    """cam02's real sequence with its sides kept: the truth the injected swaps are undone back to."""
    result = raw["cam02"]
    main = _main(result)
    keep_sides(main, result["keypoint_names"], result["timestamps"])
    return main, result["keypoint_names"], result["timestamps"]


def _inject(main: MainPerson, names: list[str], frames: np.ndarray, turned: bool) -> MainPerson:
    """A copy of ``main`` with ``frames`` labelled left for right; ``turned``: as BlazePose does it, the 3D body
    turned round with the labels (its face still along its chest), else the labels alone (the face against it)."""
    swapped = np.zeros(len(main.keypoints), bool)
    swapped[frames] = True
    twin = mirrored(names)
    keypoints, world = main.keypoints.copy(), main.world.copy()
    keypoints[swapped], world[swapped] = keypoints[swapped][:, twin], world[swapped][:, twin]
    if turned:
        down = camera_tilt(main.world[~swapped], main.keypoints[~swapped], names).down  # as keep_sides finds it
        _turn_back(world, swapped, down, names)
    return MainPerson(keypoints, main.boxes.copy(), main.detected.copy(), world)


@pytest.mark.parametrize("turned", [True, False], ids=["turned-round", "labels-only"])
def test_swaps_injected_into_a_real_sequence_are_undone_exactly(kept, turned):
    main, names, times = kept
    detected = np.flatnonzero(main.detected)
    frames = np.concatenate([detected[2:5], detected[11:12], detected[-3:]])  # two runs and a single frame, one at the end
    injected = _inject(main, names, frames, turned)
    swapped = keep_sides(injected, names, times)
    np.testing.assert_array_equal(np.flatnonzero(swapped), frames)
    np.testing.assert_array_equal(injected.keypoints, main.keypoints)
    if turned:  # mirrored twice across a plane found from the data: to within float rounding
        np.testing.assert_allclose(injected.world, main.world, atol=1e-5)
    else:
        np.testing.assert_array_equal(injected.world, main.world)


def test_a_turn_the_camera_did_not_see_is_not_undone(kept):
    """Past a gap longer than ``max_gap_s`` the frames are not compared: the worker may have turned round meanwhile;
    the labels stay as given (a minority run is not overruled)."""
    main, names, times = kept
    detected = np.flatnonzero(main.detected)
    later = detected[-4:]
    injected = _inject(main, names, later, turned=True)
    times = times.copy()
    times[later[0]:] += SideSettings().max_gap_s + 0.5  # a second unseen before the last frames
    assert not keep_sides(injected, names, times).any()


def test_a_given_camera_tilt_places_the_mirror(kept):
    """The turned-round body is mirrored along gravity's horizontal: a given tilt sets it, and the body's own
    vertical (hips over ankles) is unchanged by the mirror only when that is gravity's."""
    main, names, times = kept
    frames = np.flatnonzero(main.detected)[2:5]
    given = AngleSettings(camera_pitch=18.0, camera_roll=-3.0)
    down = camera_tilt(main.world, main.keypoints, names, given).down
    world = main.world.copy()
    _turn_back(world, np.isin(np.arange(len(world)), frames), down, names)
    along = np.einsum("nkd,d->nk", world[frames] - main.world[frames], down)
    assert np.abs(along).max() < 1e-5  # the mirror moves points only square to gravity
    injected = _inject(main, names, frames, turned=True)
    keep_sides(injected, names, times, given)
    np.testing.assert_array_equal(injected.keypoints, main.keypoints)


def test_a_model_without_3d_points_has_its_image_labels_kept_by_time_alone(kept):
    main, names, times = kept
    frames = np.flatnonzero(main.detected)[3:6]
    injected = _inject(main, names, frames, turned=False)
    injected.world = None  # keypointrcnn's: image points only
    np.testing.assert_array_equal(np.flatnonzero(keep_sides(injected, names, times)), frames)
    np.testing.assert_array_equal(injected.keypoints, main.keypoints)
