"""Operators act through the service: `ergo jobs cancel/resume/purge` call the same actions as the API, so RunPod
hears of a cancel and a resumed job is dispatched at once; purge is an operator action of the API too."""

from __future__ import annotations

from datetime import timedelta

from ergo_tasks import State
from ergo_tasks.analysis import TASK_MODULES
from ergo_tasks.analysis.keys import upload_key
from ergo_tasks.service.actions import build_service
from ergo_tasks.service.requests import Caller
from ergo_tasks.service.settings import ServiceSettings
from ergo_tasks.timeutil import utcnow
from tests.fakes import runpod_standin
from tests.helpers import make_app, mp4_lookalike
from tests.test_cli import ergo

RUNPOD_ENV = {"ERGO_DISPATCH_MODE": "runpod", "RUNPOD_ENDPOINT_ID": "ep", "RUNPOD_API_KEY": "rp-key"}


def _runpod_service(store, runpod):
    app = make_app(store, eager=False, tasks=TASK_MODULES)
    return build_service(app, ServiceSettings(dispatch_mode="runpod", runpod_endpoint_id="ep", runpod_api_key="rp-key",
                                              runpod_api_base=f"{runpod.url}/v2"))


def _started(service, store) -> str:
    key = upload_key("clip.mp4")
    store.put(key, mp4_lookalike(2000), content_type="video/mp4")
    return service.handle_event({"input": {"action": "start_processing", "video_key": key}})["job_id"]


def test_ergo_jobs_cancel_withdraws_the_runpod_request_and_resume_dispatches_again(local_store):
    with runpod_standin() as runpod:
        service = _runpod_service(local_store, runpod)
        job_id = _started(service, local_store)
        env = {**RUNPOD_ENV, "RUNPOD_API_BASE": f"{runpod.url}/v2"}
        cancelled = ergo(local_store, "jobs", "cancel", job_id, **env)
        assert cancelled.returncode == 0, cancelled.stderr
        assert service.app.jobs.read(job_id).doc.state == State.REVOKED
        assert runpod.requests[-1]["path"] == "/v2/ep/cancel/job-1" and "withdrawn" in cancelled.stdout
        resumed = ergo(local_store, "jobs", "resume", job_id, **env)
        assert resumed.returncode == 0, resumed.stderr
        assert [r["path"] for r in runpod.requests].count("/v2/ep/run") == 2  # dispatched again, not left waiting
        assert service.app.jobs.read(job_id).doc.state == State.PENDING
        again = ergo(local_store, "jobs", "resume", job_id, **env)
        assert again.returncode == 2 and "Traceback" not in again.stderr


def test_purge_is_an_operator_action_of_the_api(local_store):
    service = build_service(make_app(local_store, eager=False, tasks=TASK_MODULES), ServiceSettings(dispatch_mode="worker"))
    job_id = _started(service, local_store)
    service.handle_event({"input": {"action": "cancel_job", "job_id": job_id}})
    current = service.app.jobs.read(job_id)
    service.app.jobs.write(current, current.doc.updated(finished_at=utcnow() - timedelta(days=10)))
    user = Caller(client="a" * 16, operator=False, internal=False)
    assert service.handle("purge_jobs", {"older_than_days": 7, "dry_run": False}, user)["code"] == "forbidden"
    dry = service.handle_event({"input": {"action": "purge_jobs", "older_than_days": 7}})
    assert [job["job_id"] for job in dry["would_delete"]] == [job_id] and dry["deleted"] == []
    assert service.handle_event({"input": {"action": "purge_jobs", "older_than_days": 30, "dry_run": False}})["deleted"] == []
    done = service.handle_event({"input": {"action": "purge_jobs", "older_than_days": 7, "dry_run": False}})
    assert done["deleted"] == [job_id] and service.handle_event({"input": {"action": "get_status", "job_id": job_id}})["code"] == "job_not_found"
