"""The fused CPU program (pipeline/pose/fused_cpu.py) computes what the step-by-step executor computes.

Held to the same tolerance against the TFLite runtime as the executor (tests/test_tflite_graph.py: every output
within 2e-4 of its range), and, closer, to the executor itself: its fusions change float rounding only (measured:
7e-7 of the range on these photos for the detector; the landmark network, whose steps are not fused but run through
oneDNN's convolutions rather than Torch's, differed by 1.8e-4 of its heatmap's range in one run of the whole suite,
where oneDNN chose other kernels).
"""


from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from pipeline.pose.blazepose_detector import PoseDetector
from pipeline.pose.fused_cpu import FusedCpu
from pipeline.pose.tflite_graph import Frozen, TFLiteGraph
from tests.test_tflite_graph import assert_close, ours, photos, reference

pytestmark = pytest.mark.slow

#: The fused detector against the executor, and the steps left unfused against it, as shares of an output's range.
FUSED_TOLERANCE = 1e-4
UNFUSED_TOLERANCE = 1e-3


def fused(graph: TFLiteGraph, batch: np.ndarray) -> list[np.ndarray]:
    with torch.inference_mode():
        outputs = FusedCpu(graph)(torch.from_numpy(batch))
    return [outputs[i].numpy() for i in np.argsort(graph.output_names)]


@pytest.fixture(scope="module")
def detector_graph(pose_models) -> TFLiteGraph:
    return TFLiteGraph(pose_models["pose_detection"]).eval()


def test_the_detector_matches_the_reference_runtime_and_the_executor(pose_models, detector_graph):
    for image in photos(224):
        scaled = (image * 2 - 1)[None]  # the detector takes [-1, 1]
        mine, executor = fused(detector_graph, scaled), ours(detector_graph, scaled)
        for got, want, step_by_step in zip(mine, reference(pose_models["pose_detection"], scaled[0]), executor, strict=True):
            assert got.shape == want.shape
            assert_close(got, want)
            assert float(np.abs(got - step_by_step).max()) <= FUSED_TOLERANCE * max(1.0, float(np.abs(step_by_step).max()))


@pytest.mark.parametrize("network", ["pose_landmark_full", "face_detection_short_range"])
def test_steps_it_does_not_fuse_run_as_the_executor_runs_them(pose_models, network):
    """The landmark network's uneven SAME paddings, BlazeFace's channel PADs, RELU and max pooling: run as they are
    (against the executor, which tests/test_tflite_graph.py holds to the reference runtime)."""
    graph = TFLiteGraph(pose_models[network]).eval()
    size = {"pose_landmark_full": 256, "face_detection_short_range": 128}[network]
    image = photos(size)[0] if network.startswith("pose_landmark") else photos(size)[0] * 2 - 1
    for got, want in zip(fused(graph, image[None]), ours(graph, image[None]), strict=True):
        assert got.shape == want.shape
        assert float(np.abs(got - want).max()) <= UNFUSED_TOLERANCE * max(1.0, float(np.abs(want).max()))


def test_the_detector_is_fused_as_the_module_says(detector_graph):
    from pipeline.pose.fused_cpu import _compile

    kinds = Counter(op.kind for op in _compile(detector_graph, 1))
    assert kinds["pointwise+upsample"] == 2  # both 1x1 convolutions after an upsampling run before it
    assert kinds["convolution+add"] == 13  # 13 of the 15 ADDs add inside a convolution (two add two activated outputs)
    assert kinds["ADD"] == 2 and "RESIZE_BILINEAR" not in kinds and "DEPTHWISE_CONV_2D" not in kinds and "CONV_2D" not in kinds
    assert sum(kinds.values()) == len(detector_graph.steps) - 15


def test_a_batch_gives_what_each_image_gives_alone(detector_graph):
    images = np.stack([image * 2 - 1 for image in photos(224)[:3]])
    batched = fused(detector_graph, images)
    for index in range(len(images)):
        for got, alone in zip(batched, fused(detector_graph, images[index:index + 1]), strict=True):
            assert np.abs(got[index] - alone[0]).max() <= FUSED_TOLERANCE * max(1.0, float(np.abs(alone).max()))


def test_other_inputs_are_refused_in_words(detector_graph):
    with pytest.raises(ValueError, match="float32 on the CPU"):
        FusedCpu(detector_graph)(torch.zeros((1, 224, 224, 3), dtype=torch.float16))


def test_the_detector_finds_what_the_frozen_graph_finds(pose_models):
    """The pipeline's detector runs the fused program on the CPU; its people are the frozen graph's to rounding."""
    from skimage import data

    detector = PoseDetector(pose_models["pose_detection"], "cpu")
    assert isinstance(detector._network, FusedCpu)
    image = data.astronaut()
    found = detector.detect(image, max_people=5)
    detector._network = Frozen(detector.graph)
    frozen = detector.detect(image, max_people=5)
    assert len(found) == len(frozen) == 1
    assert abs(found[0].score - frozen[0].score) < 1e-5
    assert np.abs(found[0].keypoints - frozen[0].keypoints).max() < 1e-3  # pixels of the 512 px photo
    assert np.abs(found[0].box - frozen[0].box).max() < 1e-3
