"""torchvision's Keypoint R-CNN (ResNet-50 FPN, COCO 17 keypoints), batched.

Weights, in order:

* a local file: ``weights=/path/to/file.pth`` (``ERGO_POSE_WEIGHTS``, or
  ``--weights`` on the command line), a state dict saved by torchvision;
* ``weights="default"``: torchvision's weights API, which uses its cache
  (``$TORCH_HOME``, baked into the Docker image at build time) and downloads
  on a machine with internet;
* ``weights="random"``: random initialisation for tests; the detector is made
  to return boxes anyway so every stage runs.  The results are meaningless
  for real scoring and are labelled so.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from ..errors import PoseModelUnavailable
from .base import COCO_KEYPOINTS, PoseModel, PoseOutput, default_device

RANDOM = "random"
DEFAULT = "default"


def _build(weights: str, max_persons: int):
    import torch
    from torchvision.models.detection import KeypointRCNN_ResNet50_FPN_Weights, keypointrcnn_resnet50_fpn

    if weights == RANDOM:
        torch.manual_seed(0)  # the same "random" model in every process, so runs are comparable
        return keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None, box_score_thresh=0.0,
                                         box_detections_per_img=max_persons, rpn_post_nms_top_n_test=100)
    model = keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None, box_detections_per_img=max_persons)
    if weights == DEFAULT:
        try:
            state = KeypointRCNN_ResNet50_FPN_Weights.DEFAULT.get_state_dict(progress=False, check_hash=True)
        except Exception as error:  # noqa: BLE001 - network errors come in many types
            raise PoseModelUnavailable(
                "The keypointrcnn weights are not cached and could not be downloaded "
                f"({type(error).__name__}). Either run once on a machine with internet (torchvision caches them "
                "under $TORCH_HOME), or give a local file with ERGO_POSE_WEIGHTS=/path/to/weights.pth or --weights PATH."
            ) from None
    else:
        path = Path(weights)
        if not path.is_file():
            raise PoseModelUnavailable(
                f"The weights file {path.name} does not exist. Give an existing file with ERGO_POSE_WEIGHTS or "
                "--weights PATH, or use weights 'default' to take torchvision's (cached or downloaded)."
            )
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001
            raise PoseModelUnavailable(f"The weights file {path.name} could not be read ({type(error).__name__}).") from None
    try:
        model.load_state_dict(state)
    except RuntimeError:
        raise PoseModelUnavailable("The weights file does not hold keypointrcnn_resnet50_fpn weights.") from None
    return model


class KeypointRCNN(PoseModel):
    name = "keypointrcnn"
    keypoint_names = COCO_KEYPOINTS

    def __init__(self, weights: str | None = None, *, device: str | None = None, batch_size: int | None = None,
                 precision: str = "auto", max_persons: int = 5):
        import torch

        self.weights = weights or DEFAULT
        self.device = torch.device(device or default_device())
        self.max_persons = max_persons
        self.min_person_score = 0.0 if self.weights == RANDOM else 0.7
        self.batch_size = batch_size or (8 if self.device.type == "cuda" else 2)
        self.precision = self._precision(precision)
        self.model = _build(self.weights, max_persons).eval().to(self.device)

    def _precision(self, requested: str) -> str:
        if requested != "auto":
            return requested
        return "fp16" if self.device.type == "cuda" else "bf16"  # bf16 autocast measured ~2.5x faster on CPU

    def _autocast(self):
        import torch

        if self.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
        return torch.autocast(self.device.type, dtype=dtype)

    def predict(self, frames: np.ndarray) -> PoseOutput:
        import torch

        count, height, width = frames.shape[:3]
        out = PoseOutput.empty(count, self.max_persons, len(self.keypoint_names))
        # No rescaling inside the model: frames already come at the preset's size.
        self.model.transform.min_size = (min(height, width),)
        self.model.transform.max_size = max(height, width)
        with torch.inference_mode(), self._autocast():
            batch = torch.from_numpy(frames).to(self.device).permute(0, 3, 1, 2).float().div_(255)
            detections = self.model(list(batch))
        for index, found in enumerate(detections):
            n = min(len(found["scores"]), self.max_persons)
            if n == 0:
                continue
            points = found["keypoints"][:n, :, :2].float().cpu().numpy()
            confidence = torch.sigmoid(found["keypoints_scores"][:n].float()).cpu().numpy()
            out.keypoints[index, :n] = np.concatenate([points, confidence[..., None]], axis=-1)
            out.boxes[index, :n, :4] = found["boxes"][:n].float().cpu().numpy()
            out.boxes[index, :n, 4] = found["scores"][:n].float().cpu().numpy()
        return out

    def describe(self) -> dict:
        info = {**super().describe(), "weights": self.weights if self.weights in (RANDOM, DEFAULT) else Path(self.weights).name,
                "device": str(self.device), "precision": self.precision}
        if self.weights == RANDOM:
            info["warning"] = "RANDOM WEIGHTS: test mode, the poses and scores are meaningless"
        return info
