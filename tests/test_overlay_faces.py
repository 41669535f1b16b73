"""What the annotated video and the posture pictures search faces with is passed to them, not found by looking
inside what they are given (pipeline/results.py, pipeline/evidence.py): the video searches with the detector given
as ``faces``; the pictures ask the job's remembered faces (``memory``) first.  A stand-in detector counts the calls."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.face_memory import RememberedFaces
from pipeline.results import write_results
from pipeline.synthetic import make_video


class Detector:
    """BlazeFace's two ways in, finding nothing: ``faces`` (a whole frame: the pictures) and ``search`` (squares of
    one: the annotated video, :mod:`pipeline.face_changes`)."""

    def __init__(self) -> None:
        self.pictures, self.searches = 0, 0

    def faces(self, image: np.ndarray) -> list:
        self.pictures += 1
        return []

    def search(self, image: np.ndarray, rects: list) -> list:
        self.searches += 1
        return [(np.zeros(0), np.zeros((0, 4)), np.zeros((0, 6, 2))) for _ in rects]


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """A real analysis (keypointrcnn with random weights) of a small generated clip: (result, video)."""
    from pipeline.analysis import AnalysisOptions, analyze_video
    from pipeline.pose.keypointrcnn import KeypointRCNN
    from pipeline.presets import get_preset

    video = make_video(tmp_path_factory.mktemp("overlay") / "station.mp4", frames=40, width=96, height=64, fps=10)
    result = analyze_video(video, KeypointRCNN("random", device="cpu", precision="fp32"), AnalysisOptions(get_preset("low"), chunk_size=4))
    return result, video


def test_the_video_searches_with_the_detector_given_and_the_pictures_with_the_memory(analysed, tmp_path):
    result, video = analysed
    detector = Detector()
    # a decoy where the old code looked (``faces.detector``): the detector given is the one that must search
    detector.detector = decoy = Detector()
    first = RememberedFaces(Detector())
    write_results(result.model_copy(deep=True), tmp_path / "first", video, faces=detector, memory=first, overlay=True)
    assert first.searched > 0 and detector.pictures == 0, "the pictures ask the memory, which searches with its own"
    assert detector.searches > 0 and decoy.searches == 0, "the annotated video searches with the detector given"

    again, detector = RememberedFaces(Detector(), first.to_bytes()), Detector()
    write_results(result.model_copy(deep=True), tmp_path / "again", video, faces=detector, memory=again, overlay=True)
    assert again.searched == 0 and detector.pictures == 0  # every pictured frame remembered: nothing searched again
    assert detector.searches > 0


def test_without_a_memory_the_pictures_search_with_the_detector(analysed, tmp_path):
    result, video = analysed
    detector = Detector()
    paths = write_results(result.model_copy(deep=True), tmp_path, video, faces=detector)
    assert "mp4" not in paths and detector.searches == 0 and detector.pictures > 0
