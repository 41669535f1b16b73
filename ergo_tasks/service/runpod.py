"""The one RunPod client: ``/run`` queues a request on the endpoint, ``/runsync`` waits for its answer.

Both carry the API key, which stays on the server that holds it (the gateway,
never a browser).  ``/run`` is retried on transient failures (throttling, 5xx,
connection trouble); ``/runsync`` is not, since repeating an action could do it
twice.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from statestore.retry import Backoff, RetryPolicy

from .errors import UpstreamUnavailable
from .settings import RunPodSettings


def _transient(error: BaseException) -> bool:
    if isinstance(error, urllib.error.HTTPError):
        return error.code == 429 or error.code >= 500
    return isinstance(error, (urllib.error.URLError, TimeoutError, ConnectionError))


class RunPodClient:
    def __init__(self, endpoint_id: str, api_key: str, base_url: str, *, retry: RetryPolicy | None = None):
        if not endpoint_id or not api_key:
            raise UpstreamUnavailable("RunPod needs RUNPOD_ENDPOINT_ID and RUNPOD_API_KEY.", code="invalid_input")
        self.endpoint_url = f"{base_url.rstrip('/')}/{endpoint_id}"
        self._api_key = api_key
        self.retry = retry or RetryPolicy(attempts=3, backoff=Backoff(base=0.5, cap=4.0))

    @classmethod
    def from_settings(cls, settings: RunPodSettings) -> RunPodClient:
        key = settings.runpod_api_key.get_secret_value() if settings.runpod_api_key else ""
        return cls(settings.runpod_endpoint_id or "", key, settings.runpod_api_base)

    def run(self, payload: dict, timeout: float = 15.0) -> dict:
        """Queue ``{"input": payload}``; returns RunPod's answer (``id``, ``status``)."""
        return self._post("run", payload, timeout, retry=True)

    def runsync(self, payload: dict, timeout: float = 90.0) -> dict:
        """Run ``{"input": payload}`` and wait for RunPod's answer (``status``, ``output`` or ``error``)."""
        return self._post("runsync", payload, timeout, retry=False)

    def _post(self, path: str, payload: dict, timeout: float, *, retry: bool) -> dict:
        request = urllib.request.Request(f"{self.endpoint_url}/{path}", data=json.dumps({"input": payload}).encode(), method="POST",
                                         headers={"Authorization": f"Bearer {self._api_key}", "Content-Type": "application/json"})

        def send() -> dict:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = json.loads(response.read() or b"{}")
            if not isinstance(answer, dict):
                raise ValueError("not a JSON object")
            return answer

        try:
            return self.retry.call(send, _transient) if retry else send()
        except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as error:
            reason = f"HTTP {error.code}" if isinstance(error, urllib.error.HTTPError) else type(error).__name__
            raise UpstreamUnavailable(f"RunPod did not answer ({reason}).") from None
