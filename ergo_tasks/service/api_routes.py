"""The job API's routes: ``POST /api/<action>`` for every public action, ``GET /api/info``, and the envelope
for an unknown action or a wrong method.

One route per row of :data:`~.actions.PUBLIC_ACTIONS`, typed with the action's request model so the OpenAPI
spec documents it; the service validates the body again (the one path every transport takes), and runs the
action in the thread pool, since storage calls block.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from .access import Gateway, gateway, rate_limited, reply
from .actions import PUBLIC_ACTIONS, service_info
from .errors import error_reply
from .requests import Caller

router = APIRouter(prefix="/api")


async def _body(request: Request) -> dict | Any:
    """The request's JSON as sent (an empty body is an empty request)."""
    return await request.json() if await request.body() else {}


def _action_route(action: str, model: type) -> None:
    async def endpoint(request: Request, caller: Annotated[Caller, Depends(rate_limited)],
                       gate: Annotated[Gateway, Depends(gateway)], body=Body(default=None)) -> JSONResponse:  # noqa: B008 - FastAPI's idiom
        # storage calls block: in the thread pool, so one slow read never holds up the other callers
        return reply(await run_in_threadpool(gate.service.handle, action, await _body(request), caller))

    # Real types (not strings) so FastAPI validates the body and documents it in the OpenAPI spec.
    endpoint.__annotations__ = {**endpoint.__annotations__, "request": Request, "body": model | None, "return": JSONResponse}
    router.post(f"/{action}", summary=PUBLIC_ACTIONS[action].summary, name=action)(endpoint)


for _name, _action in PUBLIC_ACTIONS.items():
    _action_route(_name, _action.request)


@router.get("/info", summary="What the page needs to know before uploading")
async def info(gate: Annotated[Gateway, Depends(gateway)]) -> dict:
    return {**service_info(gate.service.settings), "auth_required": gate.tokens is not None}


@router.post("/{action}", include_in_schema=False, dependencies=[Depends(rate_limited)])
async def unknown_action(action: str) -> JSONResponse:
    return reply(error_reply("unknown_action", f"Unknown action; use one of: {', '.join(sorted(PUBLIC_ACTIONS))}."))


@router.api_route("/{path:path}", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def wrong_method(path: str) -> JSONResponse:
    # included before the page's mount at "/", which would answer a GET here with a bare 404
    return JSONResponse(error_reply("method_not_allowed", "The API takes POST (and GET /api/info)."), status_code=405,
                        headers={"Allow": "POST"})
