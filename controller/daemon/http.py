"""The daemon's HTTP endpoints (Starlette): /healthz, /readyz, /metrics, POST /webhooks/bird."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from controller.daemon.config import WEBHOOK_PATH
from controller.daemon.logs import event
from controller.daemon.webhooks import MAX_BODY_BYTES, Verdict, check, event_label

if TYPE_CHECKING:
    from controller.daemon.service import Daemon


class TooLarge(Exception):
    pass


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, refusing more than `limit` bytes without reading them all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(int(declared))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(size)
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(daemon: Daemon) -> Starlette:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "alive", "role": daemon.role})

    async def readyz(_: Request) -> Response:
        ready, body = await daemon.readiness()
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        data, content_type = daemon.metrics.render()
        return Response(data, media_type=content_type)

    async def webhook(request: Request) -> Response:
        try:
            body = await read_body(request)
        except TooLarge as exc:
            return answer(daemon, Verdict(413, "too_large", f"the body is larger than {MAX_BODY_BYTES} bytes"
                                          f" ({exc.args[0]} bytes)"))
        except ClientDisconnect:
            return Response(status_code=400)
        verdict = check(request.headers, body, keys=daemon.signing_keys(), urls=daemon.webhook_urls(str(request.url)),
                        now=time.time(), tolerance=daemon.options.webhook_tolerance,
                        subscribed=daemon.view.events if daemon.view is not None else None)
        if not verdict.ok:
            return answer(daemon, verdict)
        from controller.daemon.service import Unavailable

        try:
            outcome = await daemon.accept(verdict)
        except Unavailable as exc:
            return answer(daemon, Verdict(503, "unavailable", f"{exc}; retry later", event=verdict.event,
                                          request_id=verdict.request_id))
        message = "accepted" if outcome == "accepted" else "a replay of a delivery already received: ignored"
        return answer(daemon, Verdict(200, outcome, message, event=verdict.event, request_id=verdict.request_id))

    async def no_route(request: Request, exc: Exception) -> Response:
        # A path no route matches (e.g. an encoded newline, which Starlette's patterns never match)
        # answers in the API's JSON error shape, not Starlette's plain-text page.
        status = getattr(exc, "status_code", 404)
        code = "not_found" if status == 404 else "method_not_allowed"
        return JSONResponse({"error": {"code": code, "message": f"no route {request.method} {request.url.path}"}},
                            status_code=status)

    return Starlette(exception_handlers={404: no_route, 405: no_route}, routes=[
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route(WEBHOOK_PATH, webhook, methods=["POST"]),
        # The platform API (seeds 000 and 002) and its /openapi.json: everything else.
        Mount("", app=platform_api(daemon)),
    ])


def platform_api(daemon: Daemon) -> Starlette:
    from controller.api.app import ApiContext, create_api

    def specs_in_force() -> object:
        return daemon.view.specs if daemon.view is not None else None

    def log(name: str, message: str, **fields: object) -> None:
        event(name, message, role=daemon.role, **fields)

    return create_api(ApiContext(store=daemon.store, specs=specs_in_force, settings=daemon.settings, log=log))


def answer(daemon: Daemon, verdict: Verdict) -> Response:
    daemon.metrics.webhooks.labels(verdict.outcome, event_label(verdict.event)).inc()
    level = logging.INFO if verdict.status == 200 else logging.WARNING
    event(f"webhook.{verdict.outcome}", verdict.message, level, status=verdict.status,
          webhook_event=event_label(verdict.event), bird_request_id=verdict.request_id or None, role=daemon.role)
    body = {"status": verdict.outcome, "message": verdict.message}
    if verdict.request_id:
        body["requestId"] = verdict.request_id
    return JSONResponse(body, status_code=verdict.status)
