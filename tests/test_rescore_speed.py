"""What makes a re-score fast (issue 28, item 3: rescore time / analysis time <= 0.05) without changing what it
writes: the hidden trunk's candidates measured in blocks give the numbers measuring them all at once gives, to the
bit; a job the inline executor runs is created claimed, so it never waits a write interval between its creation and
its claim, while every write to its status key still keeps that interval."""

from __future__ import annotations

import numpy as np
import pytest

from ergo_tasks.analysis import AnalysisSettings, register
from ergo_tasks.jobstore import JobStore
from ergo_tasks.service.actions import build_service
from ergo_tasks.service.requests import Caller
from ergo_tasks.service.settings import ServiceSettings
from ergo_tasks.states import State
from pipeline import angles
from pipeline.angles import (
    HIDDEN_TRUNK_FLEXION,
    HIDDEN_TRUNK_SIDE_BEND,
    TRUNK_DEPENDENT,
    AngleSettings,
    CameraTilt,
    hidden_trunk_angles,
)
from tests.helpers import RecordingStore, make_app


def _all_at_once(world: np.ndarray, keypoints: np.ndarray, names: list[str], settings: AngleSettings, tilt: CameraTilt) -> dict:
    """The candidates of every frame in one set of arrays, as hidden_trunk_angles measured them before it went block by
    block: the reference its numbers must equal."""
    world = angles.levelled(world, tilt.down)
    joints = angles.Joints(world, keypoints[..., 2], names, settings.min_confidence)
    hidden = np.isnan(joints.mid("left_hip", "right_hip")).any(-1) & ~np.isnan(joints.mid("left_shoulder", "right_shoulder")).any(-1)
    up = np.array([0.0, -1.0, 0.0])
    forward = angles.unit(np.cross(angles.unit(joints["left_shoulder"] - joints["right_shoulder"]), up))
    left = np.cross(up, forward)
    flexion, side = (np.radians(a)[None, :, None] for a in np.array(np.meshgrid(HIDDEN_TRUNK_FLEXION, HIDDEN_TRUNK_SIDE_BEND)).reshape(2, -1))
    trunk = np.cos(side) * np.cos(flexion) * up + np.sin(flexion) * forward[:, None] + np.cos(flexion) * np.sin(side) * left[:, None]
    trunk[~hidden] = np.nan
    measured = {"trunk_flexion": angles.signed_tilt(trunk, up, forward[:, None]), "trunk_side_bend": angles.side_bend(trunk, up, left[:, None]),
                **angles.against_trunk(joints, trunk)}
    return {name: measured[name].reshape(len(world), -1) for name in TRUNK_DEPENDENT}


def _seated_worker(frames: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """BlazePose's 33 points of a worker moving at random, hips hidden in most frames, seen in some, nobody in a few."""
    from pipeline.pose.blazepose import BLAZEPOSE_KEYPOINTS

    names = list(BLAZEPOSE_KEYPOINTS)
    rng = np.random.default_rng(seed)
    world = rng.normal(0.0, 0.3, (frames, len(names), 3)).astype(np.float32)
    keypoints = np.concatenate([rng.uniform(0, 500, (frames, len(names), 2)), rng.uniform(0.6, 1.0, (frames, len(names), 1))], axis=-1)
    hips = [names.index("left_hip"), names.index("right_hip")]
    keypoints[:, hips, 2] = np.where(rng.random(frames) < 0.7, 0.05, 0.9)[:, None]  # hidden in about 70% of frames
    keypoints[rng.random(frames) < 0.05, :, 2] = 0.0  # nobody
    return world, keypoints.astype(np.float32), names


@pytest.mark.parametrize("frames", [1, 700, 1300])  # one block, a block and a bit, several blocks
def test_hidden_trunk_angles_in_blocks_equal_all_at_once_to_the_bit(frames):
    world, keypoints, names = _seated_worker(frames)
    settings, tilt = AngleSettings(), CameraTilt(12.0, -4.0, "given")
    blocks, reference = hidden_trunk_angles(world, keypoints, names, settings, tilt), _all_at_once(world, keypoints, names, settings, tilt)
    assert set(blocks) == set(reference)
    for name in TRUNK_DEPENDENT:
        assert blocks[name].shape == reference[name].shape == (frames, len(HIDDEN_TRUNK_FLEXION) * len(HIDDEN_TRUNK_SIDE_BEND))
        assert np.array_equal(blocks[name], reference[name], equal_nan=True), name
    hidden = ~np.isnan(blocks["trunk_flexion"][:, 0])
    assert 0 < hidden.sum() < frames or frames == 1  # both kinds of frame are there to compare


def test_a_job_the_inline_executor_runs_is_created_claimed_and_keeps_the_write_interval(local_store):
    """No wait between creation and claim (one write does both: a claim after the creation would be a third write, an
    interval after it); the end still waits the interval after it.  The heartbeat is far off (a renewal is also a
    write, an interval after the claim, whenever a loaded machine reaches the task's end that late)."""
    interval = 0.6
    recording = RecordingStore(local_store)
    app = make_app(recording, eager=False, status_write_interval=interval, heartbeat_seconds=30.0, lease_seconds=60.0)

    register(app, AnalysisSettings())

    @app.task(name="quick")
    def quick():
        return "done"

    service = build_service(app, ServiceSettings(dispatch_mode="inline"))
    job_id = service._enqueue("quick", {}, 0, Caller(client="alice"), None, {})["job_id"]
    key = JobStore.status_key(job_id)
    writes = [at for name, k, at in recording.calls if name == "put" and k == key]
    assert len(writes) == 2, writes  # created claimed, finished: no separate claim
    assert writes[1] - writes[0] >= interval - 0.01
    doc = app.jobs.read(job_id).doc
    assert doc.state == State.SUCCESS and doc.result == "done" and doc.attempts == 1
    assert [step.to_state for step in doc.history] == [State.PENDING, State.STARTED, State.SUCCESS]


def test_a_job_created_claimed_is_not_run_once_cancelled(local_store):
    """The creator runs only the claim it created: a job cancelled before it ran is left cancelled."""
    app = make_app(local_store, eager=False)
    ran = []

    @app.task(name="quick")
    def quick():
        ran.append(1)

    created = app.queue.enqueue("quick", [], {}, 0, claim_for="here")
    assert created.state == State.STARTED and created.lease.worker_id == "here"
    app.queue.revoke(created.job_id)
    assert app.run_until_ready(created.job_id, "here", created).state == State.REVOKED
    assert ran == []
