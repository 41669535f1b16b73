"""The analysis's settings, from the environment (``ERGO_*``) or a ``.env`` file: the one place this layer reads them.

They are handed to :mod:`pipeline` as arguments (:class:`pipeline.pose.PoseSettings`);
the pipeline itself never reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.pose import DEFAULT_MODEL, PoseSettings
from statestore import StorageSettings

#: Sampled frames per checkpointed chunk, unless a job says otherwise.
DEFAULT_CHUNK_SIZE = 32
#: The largest video accepted, by the service when it is uploaded and by the worker before it downloads.
MAX_UPLOAD_BYTES = 10 * 1024**3


class AnalysisSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ERGO_", env_file=".env", extra="ignore")

    #: Pose model for jobs that do not name one (``blazepose`` or ``keypointrcnn``).
    pose_model: str = DEFAULT_MODEL
    #: blazepose: lite, full or heavy; keypointrcnn: a weights file, ``default`` or ``random`` (tests only).
    pose_weights: str | None = None
    #: ``cuda`` or ``cpu``; unset: CUDA when a GPU is present.
    device: str | None = None
    #: keypointrcnn: frames per network batch; unset: its default for the device (BlazePose reads one crop at a time).
    batch_size: int | None = Field(None, ge=1)
    #: blazepose: filter the landmarks over time as MediaPipe does by default (``smooth_landmarks``); recorded in the
    #: result's ``model.smooth_landmarks``.
    smooth_landmarks: bool = True
    #: blazepose: ``fp32`` (default), or ``fp16``/``bf16`` for the landmark network where it stays within 0.5 px of fp32
    #: (checked when the model loads; the result's ``model.precision_check`` says what was measured and kept);
    #: keypointrcnn: ``auto``, ``fp32``, ``fp16`` or ``bf16`` autocast.
    precision: str | None = None
    #: Folder of the verified BlazePose files; unset: ``<ERGO_DATA_DIR>/models``.
    models_dir: Path | None = None
    #: Slack-compatible webhook told when an analysis succeeds or fails.
    webhook_url: str | None = None
    #: A video larger than this is refused before it is downloaded (``ERGO_MAX_UPLOAD_BYTES``, as for the service).
    max_upload_bytes: int = Field(MAX_UPLOAD_BYTES, gt=0)
    #: A video of more chunks than this is analysed in parts of this many chunks, side by side on as many workers as
    #: are free (0: never split).  32 chunks of 32 sampled frames: about 3.4 min of video at `medium`.  Every worker
    #: that takes a part downloads the video, so a part should be worth minutes of work.
    part_chunks: int = Field(32, ge=0)
    #: Torch's threads for the pose model on the CPU; unset: one for BlazePose, one per core this process may use
    #: for keypointrcnn.  BlazePose reads one crop at a time (each frame's region comes from the frame before), and
    #: with so little work per step a second thread only adds waking under the PASSIVE policy (its landmark network:
    #: 34 ms per crop with two threads against 15 with one, on 2 cores); the decoder has the other core.  For
    #: keypointrcnn's batches, a core per thread beat one thread less (benchmarks/pipeline_bench.py --threads).
    torch_threads: int | None = Field(None, ge=1)
    #: OpenMP's wait policy, set before Torch loads: PASSIVE lets idle threads sleep instead of spinning on a core
    #: the decoder or another process needs (the same value in ``OMP_WAIT_POLICY`` wins).
    omp_wait_policy: Literal["PASSIVE", "ACTIVE"] = "PASSIVE"

    def threads(self, model: str | None = None) -> int:
        """Torch's threads for ``model`` (see ``torch_threads``); without one, the size of OpenMP's pool."""
        if self.torch_threads:
            return self.torch_threads
        return 1 if model == "blazepose" else usable_cores()

    def models_folder(self) -> Path:
        return self.models_dir or StorageSettings().data_dir / "models"

    def pose(self, model: str | None = None, weights: str | None = None) -> PoseSettings:
        """The pose settings of one job: its own model and weights where it names them, else these defaults."""
        chosen = model or self.pose_model
        return PoseSettings(model=chosen, weights=weights or (self.pose_weights if chosen == self.pose_model else None),
                            device=self.device, batch_size=self.batch_size, models_dir=self.models_folder(), threads=self.threads(chosen),
                            precision=self.precision, smooth=self.smooth_landmarks)

    def prepare_process(self) -> None:
        """What must be set before Torch is imported in this process: OpenMP's wait policy and thread count."""
        os.environ.setdefault("OMP_WAIT_POLICY", self.omp_wait_policy)
        os.environ.setdefault("OMP_NUM_THREADS", str(self.threads()))


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers narrow), not the machine's count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
