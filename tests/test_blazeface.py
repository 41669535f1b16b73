"""Everyone's face blurred: BlazeFace (MediaPipe's short-range face detector, run by our Torch executor) against
MediaPipe's own face detection, and the posture pictures of a real clip with two people (Sports2D's demo, faces
labelled by hand in tests/data/real_sports2d_faces.json)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks import pose_parity
from pipeline.boxes import iou
from pipeline.pose.blazeface import INPUT_SIZE, NETWORK_SMALLEST_FACE, FaceDetector, tiles
from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
LABELS = json.loads((REPO / "tests" / "data" / "real_sports2d_faces.json").read_text())
#: Half the side of the square of a face whose sharpness is measured (the faces are 20-28 px across).
HALF = 6


@pytest.fixture(scope="module")
def detector(pose_models):
    return FaceDetector(pose_models["face_detection_short_range"], "cpu")


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> dict[int, np.ndarray]:
    """The labelled frames of Sports2D's demo, as the pipeline reads them (960x540)."""
    from pipeline.presets import analysis_size
    from pipeline.video import FrameReader, probe
    from tests.helpers import fetch_clip

    video = fetch_clip(LABELS, tmp_path_factory.mktemp("faces"))
    info = probe(video)
    indices = np.array(sorted(int(i) for i in LABELS["frames"]))
    read = FrameReader(video, info, analysis_size(info.width, info.height), indices).read_each(indices)
    return dict(zip(indices.tolist(), read, strict=True))


def test_a_job_finds_the_face_model_in_its_models_folder_or_blurs_the_worker_only(pose_models, tmp_path):
    """Where the models folder predates BlazeFace, the job still writes its pictures, blurring the worker's face
    only (each picture says so: ``faces_searched``), rather than failing at its very end."""
    from ergo_tasks.analysis.job_files import face_detector
    from ergo_tasks.analysis.settings import AnalysisSettings

    assert isinstance(face_detector(AnalysisSettings(models_dir=pose_models["face_detection_short_range"].parent)), FaceDetector)
    assert face_detector(AnalysisSettings(models_dir=tmp_path)) is None


def test_anything_but_an_rgb_image_is_refused_in_words(detector):
    with pytest.raises(ValueError, match="uint8 RGB"):
        detector.faces(np.zeros((64, 64), np.uint8))


def test_the_tiles_hold_every_face_whole_at_some_scale():
    """A face between the smallest searched and twice that lies inside one of the finest tiles, and so on up: the
    network sees it whole, at NETWORK_SMALLEST_FACE px or more."""
    rng = np.random.default_rng(0)
    width, height = 960, 540
    squares = tiles(width, height)
    sides = sorted({rect.width for rect in squares})
    assert len(sides) >= 3 and sides[0] == INPUT_SIZE  # 20 px faces: tiles of 128 px, read at their own size
    for side in sides:
        level = np.array([[r.center[0] - side / 2, r.center[1] - side / 2, r.center[0] + side / 2, r.center[1] + side / 2]
                          for r in squares if r.width == side])
        smallest = side * NETWORK_SMALLEST_FACE / INPUT_SIZE
        for _ in range(300):
            size = rng.uniform(smallest, 2 * smallest)
            x, y = rng.uniform(0, width - size), rng.uniform(0, height - size)
            inside = (level[:, 0] <= x) & (level[:, 1] <= y) & (level[:, 2] >= x + size) & (level[:, 3] >= y + size)
            assert inside.any(), (side, x, y, size)


# -- against MediaPipe itself ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference():
    if not pose_parity.REFERENCE_PYTHON.exists():
        pytest.fail("MediaPipe's environment is missing: run `make reference` (make test builds it).")
    return pose_parity.REFERENCE_PYTHON


def mediapipe_faces(python: Path, images: list[np.ndarray], folder: Path) -> list[list[dict]]:
    """MediaPipe's face detection (short range) on each image, in its own environment, one image at a time (they
    differ in size)."""
    answers = []
    for number, image in enumerate(images):
        frames, out = folder / f"image{number}.npy", folder / f"faces{number}.json"
        np.save(frames, image[None])
        subprocess.run([str(python), str(REPO / "benchmarks" / "mediapipe_face_reference.py"), str(frames), str(out)],
                       check=True, capture_output=True)
        answers.append(json.loads(out.read_text())[0])
    return answers


def photos(frames: dict[int, np.ndarray]) -> list[np.ndarray]:
    """Real photographs, changed as a camera would change them, and close-ups of the two people of the clip."""
    from skimage import data, transform

    astronaut = data.astronaut()
    camera = np.repeat(data.camera()[..., None], 3, axis=2)
    close_ups = [frames[44][y - 48:y + 48, x - 48:x + 48] for x, y in (face["centre"] for face in LABELS["frames"]["44"]["faces"])]
    return [astronaut, camera, astronaut[:300, 100:400], astronaut[:, ::-1],
            (transform.rescale(astronaut, 0.5, channel_axis=2) * 255).astype(np.uint8),
            np.pad(astronaut, ((0, 0), (200, 200), (0, 0))),  # wide: letterboxed above and below
            *(np.ascontiguousarray(c) for c in close_ups), frames[44]]


def test_the_faces_are_mediapipes(reference, detector, frames, tmp_path):
    """Frame for frame, the faces found on a whole image are MediaPipe's: as many, the same boxes, keypoints and
    scores (measured: boxes and scores equal to 0.1 px and 0.001)."""
    images = photos(frames)
    theirs = mediapipe_faces(reference, images, tmp_path)
    found = 0
    for image, expected in zip(images, theirs, strict=True):
        mine = detector.detect(image)
        assert len(mine) == len(expected)
        for face, want in zip(mine, sorted(expected, key=lambda f: -f["score"])):
            assert abs(face.score - want["score"]) < 0.005
            assert iou(face.box, np.array([want["box"]]))[0] > 0.97
            assert np.abs(face.keypoints - np.array(want["keypoints"])).max() < 1.0  # px
        found += len(mine)
    assert found >= 7  # a face in every photo and close-up; the whole frame's faces are too small for either


def test_the_tiles_find_the_small_faces_the_whole_frame_misses(detector, frames):
    """In the clip's frame as analysed, the faces are 20-28 px across: too small in a 128 px view of the whole
    frame (MediaPipe finds none, above), found by the tiles."""
    for index, labelled in LABELS["frames"].items():
        found = detector.faces(frames[int(index)])
        for face in labelled["faces"]:
            assert any(f.box[0] < face["centre"][0] < f.box[2] and f.box[1] < face["centre"][1] < f.box[3] for f in found), face["who"]


# -- the posture pictures ------------------------------------------------------------------------------
def still(points: dict[str, list[float]], frames: int = 1) -> SimpleNamespace:
    """A result of ``frames`` frames, BlazePose points at ``points`` (none elsewhere) and no scores: what draw() reads
    (no video recorded with it, so a video given is probed)."""
    from pipeline.result_model import RebaColumns, RulaColumns

    keypoints = np.full((frames, len(BLAZEPOSE_KEYPOINTS), 3), np.nan)
    for name, (x, y) in points.items():
        keypoints[:, BLAZEPOSE_KEYPOINTS.index(name)] = [x, y, 1.0]
    unscored = {model: model(**{name: np.full(frames, np.nan) for name in model.model_fields}) for model in (RulaColumns, RebaColumns)}
    return SimpleNamespace(keypoint_names=list(BLAZEPOSE_KEYPOINTS), keypoints=keypoints, angles={},
                           rula=unscored[RulaColumns], reba=unscored[RebaColumns], video=SimpleNamespace(size_bytes=None))


def sharpness(picture: np.ndarray, centre: list[int]) -> float:
    """The fine detail in the square around ``centre`` (mean absolute Laplacian of the grey levels): what blurring
    removes, where a smooth shading (the light around a small blurred face) stays."""
    x, y = centre
    grey = picture[y - HALF - 1:y + HALF + 1, x - HALF - 1:x + HALF + 1].astype(float).mean(axis=2)
    laplacian = 4 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:]
    return float(np.abs(laplacian).mean())


def pictures(frame: np.ndarray, result: SimpleNamespace, **blurring) -> tuple[np.ndarray, np.ndarray, int]:
    """(sharp picture, blurred picture, faces blurred) of ``frame`` as the posture pictures draw it."""
    from pipeline.evidence import draw

    sharp, _ = draw(frame, result, 0, 0.0, blur_faces=False)
    blurred, count = draw(frame, result, 0, 0.0, **blurring)
    return np.asarray(sharp), np.asarray(blurred), count


def test_both_peoples_faces_are_blurred_and_nothing_else_changes(detector, frames):
    """Frame 44: the man on the box and the woman walking past both face the camera; the pose found nobody (no
    points), so every blur is the face detector's."""
    sharp, blurred, count = pictures(frames[44], still({}), faces=detector)
    labelled = LABELS["frames"]["44"]["faces"]
    assert count >= len(labelled)
    for face in labelled:
        # measured: 0.12-0.24 of the sharp face's detail left (0.06-0.33 in both tests)
        assert sharpness(blurred, face["centre"]) < 0.5 * sharpness(sharp, face["centre"]), face["who"]
    louvres = (slice(280, 400), slice(60, 240))  # the utility box's grille, far from any face: fine, sharp detail
    assert np.array_equal(blurred[louvres], sharp[louvres])


def test_the_worker_stays_blurred_where_the_face_detector_misses_him(detector, frames):
    """Frame 140: the man's face is turned away behind his arm, and the detector does not find it; his head, from
    the pose, is blurred all the same, and the woman walking past by the detector.  Without the detector only the
    worker's face would be (as before issue 22): the woman's stays sharp."""
    labelled = LABELS["frames"]["140"]
    head = {name: point for name, point in labelled["worker_head"].items() if name != "who"}
    result = still(head)
    assert not any(f.box[0] < head["nose"][0] < f.box[2] and f.box[1] < head["nose"][1] < f.box[3]
                   for f in detector.faces(frames[140]))  # the case this test stands for
    sharp, blurred, _ = pictures(frames[140], result, faces=detector)
    for centre in [head["nose"], *(face["centre"] for face in labelled["faces"])]:
        assert sharpness(blurred, centre) < 0.5 * sharpness(sharp, centre)
    _, worker_only, count = pictures(frames[140], result, faces=None)
    assert count == 1
    woman = labelled["faces"][0]["centre"]
    assert sharpness(worker_only, woman) == pytest.approx(sharpness(sharp, woman))


# -- the annotated video ------------------------------------------------------------------------------
def test_the_annotated_video_blurs_both_peoples_faces_on_the_frames_between_searches(detector, tmp_path, monkeypatch):
    """The clip analysed at 5 frames a second (``medium``), its labelled frames 44 and 140 among them: the annotated
    video searches every third frame for faces (pipeline.face_schedule), not those two, yet each labelled face is
    blurred there, as far as it may have moved since a search.  The pose found nobody: every blur is the detector's."""
    import av

    from pipeline.evidence import write_overlay
    from tests.helpers import fetch_clip

    video = fetch_clip(LABELS, tmp_path)
    indices = np.arange(2, 230, 6)  # every sixth frame of the 30 fps clip, 44 and 140 among them
    result = still({}, frames=len(indices))
    result.frame_indices, result.timestamps, result.preset = indices, indices / 30, SimpleNamespace(sample_fps=5.0)
    searched, find = [], detector.search  # each search reads the squares that changed (pipeline.face_changes)
    monkeypatch.setattr(detector, "search", lambda frame, rects: searched.append(frame) or find(frame, rects))
    paths = {blurring: write_overlay(result, video, tmp_path / f"{blurring}.mp4", blur_faces=blurring, faces=detector)
             for blurring in (True, False)}
    assert len(searched) == 14  # 0, 3, 6, ... and the last of 38 frames
    with av.open(str(paths[True])) as soft, av.open(str(paths[False])) as sharp:
        drawn = {int(index): (a.to_ndarray(format="rgb24"), b.to_ndarray(format="rgb24"))
                 for index, a, b in zip(indices, soft.decode(video=0), sharp.decode(video=0), strict=True)}
    for index, labelled in LABELS["frames"].items():
        assert list(indices).index(int(index)) % 3 != 0  # the case this test stands for: a frame between searches
        blurred, plain = drawn[int(index)]
        for face in labelled["faces"]:
            # measured: 0.05-0.13 of the sharp face's detail left
            assert sharpness(blurred, face["centre"]) < 0.5 * sharpness(plain, face["centre"]), (index, face["who"])
