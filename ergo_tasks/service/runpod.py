"""The one RunPod client: ``/run`` queues a request on the endpoint, ``/cancel`` withdraws one.

Both carry the API key, which stays on the server that holds it (the gateway,
never a browser).  Every call has a deadline for all its tries together, so a
slow RunPod never holds up the request that called it for longer; transient
failures (throttling, 5xx, connection trouble) are retried within it.
"""

from __future__ import annotations

import json
import time
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
    def __init__(self, endpoint_id: str, api_key: str, base_url: str, *, timeout: float = 5.0, retry: RetryPolicy | None = None):
        if not endpoint_id or not api_key:
            raise UpstreamUnavailable("RunPod needs RUNPOD_ENDPOINT_ID and RUNPOD_API_KEY.", code="invalid_input")
        self.endpoint_url = f"{base_url.rstrip('/')}/{endpoint_id}"
        self._api_key = api_key
        #: Seconds one call may take, all its tries included.
        self.timeout = timeout
        self.retry = retry or RetryPolicy(attempts=3, backoff=Backoff(base=0.25, cap=1.0))

    @classmethod
    def from_settings(cls, settings: RunPodSettings, timeout: float = 5.0) -> RunPodClient:
        key = settings.runpod_api_key.get_secret_value() if settings.runpod_api_key else ""
        return cls(settings.runpod_endpoint_id or "", key, settings.runpod_api_base, timeout=timeout)

    def run(self, payload: dict) -> dict:
        """Queue ``{"input": payload}``; returns RunPod's answer (``id``, ``status``)."""
        return self._post("run", {"input": payload})

    def cancel(self, request_id: str) -> dict:
        """Withdraw a queued or running request (RunPod stops its worker's handler)."""
        return self._post(f"cancel/{request_id}", None)

    def _post(self, path: str, body: dict | None) -> dict:
        deadline = time.monotonic() + self.timeout
        data = json.dumps(body).encode() if body is not None else b""
        request = urllib.request.Request(f"{self.endpoint_url}/{path}", data=data, method="POST",
                                         headers={"Authorization": f"Bearer {self._api_key}", "Content-Type": "application/json"})

        def send() -> dict:
            left = deadline - time.monotonic()
            if left <= 0.05:
                raise TimeoutError("out of time")
            with urllib.request.urlopen(request, timeout=left) as response:
                answer = json.loads(response.read() or b"{}")
            if not isinstance(answer, dict):
                raise ValueError("not a JSON object")
            return answer

        try:
            return self.retry.call(send, _transient)
        except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as error:
            if isinstance(error, urllib.error.HTTPError):
                reason = f"HTTP {error.code}"
            elif isinstance(error, TimeoutError) or isinstance(getattr(error, "reason", None), TimeoutError):
                reason = f"no answer within {self.timeout:g} s"
            else:
                reason = type(error).__name__
            raise UpstreamUnavailable(f"RunPod did not answer ({reason}).") from None
