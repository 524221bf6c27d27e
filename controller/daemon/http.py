"""The daemon's HTTP endpoints (Starlette): /healthz, /readyz, /metrics, POST /webhooks/bird."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from controller.api.guard import Guard, Refusal, Unavailable
from controller.daemon.config import WEBHOOK_PATH
from controller.daemon.logs import event
from controller.daemon.webhooks import MAX_BODY_BYTES, Verdict, check, event_label, scope

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


def create_app(daemon: Daemon) -> Guard:
    """The daemon's routes behind the guard (controller/api/guard.py): tokens, scopes and body caps are
    checked before any handler runs."""
    from controller.statuspage.web import MAX_FORM_BYTES

    caps: dict[tuple[str, str], int | None] = {
        ("POST", WEBHOOK_PATH): None,  # the receiver reads at most MAX_BODY_BYTES itself (read_body)
        ("POST", "/ui/login"): MAX_FORM_BYTES, ("POST", "/ui/logout"): MAX_FORM_BYTES,
        **{("GET", path): 0 for path in ("/healthz", "/readyz", "/metrics", "/ui", "/ui/", "/ui/login")}}
    return Guard(routes(daemon), authenticator(daemon), on_refused=refusal_logger(daemon),
                 on_error=error_logger(daemon), caps=caps)


LOOPBACK = ("127.0.0.1", "::1", "localhost")


async def may_see_details(daemon: Daemon, request: Request) -> bool:
    """Health details (pid, host, the lock, spec paths, database errors) are for operators: a caller with
    an admin token, or one on this machine when the daemon runs with --health-details loopback.
    Everyone else learns ready or not, and nothing else."""
    client = request.client.host if request.client else ""
    if daemon.options.health_details == "loopback" and (client in LOOPBACK or client.startswith("127.")):
        return True
    token = request.headers.get("authorization", "")
    kind, _, value = token.partition(" ")
    if kind.lower() != "bearer" or not value.strip():
        return False
    try:
        who = await authenticator(daemon)(value.strip())
    except Unavailable:
        return False
    return not isinstance(who, str) and who.role == "admin"


def authenticator(daemon: Daemon) -> Any:
    from controller.api.tokens import authenticate
    from controller.state import DatabaseError, StateError
    from controller.state.records import utcnow

    async def check(token: str) -> Any:
        try:
            return await asyncio.to_thread(authenticate, daemon.store, token, utcnow())
        except (StateError, DatabaseError) as exc:
            event("api.unavailable", f"a token could not be checked: {type(exc).__name__}: {exc}", logging.WARNING,
                  role=daemon.role)
            raise Unavailable("the state database does not answer") from None

    return check


def refusal_logger(daemon: Daemon) -> Any:
    def refused(r: Refusal) -> None:
        daemon.metrics.api_refused.labels(str(r.status), r.reason).inc()
        event("api.refused", f"{r.method} {r.path} refused with {r.status} ({r.reason})", logging.WARNING,
              status=r.status, reason=r.reason, token_id=r.token_id, role=daemon.role)

    return refused


def error_logger(daemon: Daemon) -> Any:
    def failed(exc: BaseException) -> None:
        event("http.error", f"{type(exc).__name__}: {exc}", logging.ERROR, role=daemon.role)

    return failed


def webhook_endpoint(daemon: Daemon) -> Any:
    """POST /webhooks/bird: read at most MAX_BODY_BYTES, check (webhooks.check), scope to the signers that
    could have sent the event, write it to the inbox; answered only once it is recorded."""

    async def webhook(request: Request) -> Response:
        try:
            body = await read_body(request)
        except TooLarge as exc:
            refused = answer(daemon, Verdict(413, "too_large", f"the body is larger than {MAX_BODY_BYTES} bytes"
                                             f" ({exc.args[0]} bytes)"))
            refused.headers["connection"] = "close"  # the rest is unread: end the connection, as the guard does
            return refused
        except ClientDisconnect:
            return Response(status_code=400)
        # A plain dict, read once: Starlette's Headers decode every header on each lookup.
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in request.headers.raw}
        verdict = check(headers, body, subscriptions=daemon.subscriptions(), public_url=daemon.webhook_url(),
                        now=daemon.clock(), tolerance=daemon.options.webhook_tolerance,
                        max_age=daemon.options.webhook_max_age,
                        subscribed=daemon.view.events if daemon.view is not None else None, place=daemon.place_of)
        if verdict.ok:
            workspace_id, channel_ids = await daemon.locate(verdict)
            verdict = scope(verdict, workspace_id, channel_ids)
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

    return webhook


async def no_route(request: Request, exc: Exception) -> Response:
    # A path no route matches (e.g. an encoded newline, which Starlette's patterns never match)
    # answers in the API's JSON error shape, not Starlette's plain-text page.
    status = getattr(exc, "status_code", 404)
    code = "not_found" if status == 404 else "method_not_allowed"
    return JSONResponse({"error": {"code": code, "message": f"no route {request.method} {request.url.path}"}},
                        status_code=status, headers=getattr(exc, "headers", None))


async def unexpected(_: Request, exc: Exception) -> Response:
    from controller.api.app import unexpected_error

    return unexpected_error(exc)


EXCEPTION_HANDLERS: dict[Any, Any] = {404: no_route, 405: no_route, Exception: unexpected}


def routes(daemon: Daemon) -> Starlette:
    async def healthz(request: Request) -> Response:
        details = await may_see_details(daemon, request)
        return JSONResponse({"status": "alive", **({"role": daemon.role} if details else {})})

    async def readyz(request: Request) -> Response:
        ready, body = await daemon.readiness()
        shown = body if await may_see_details(daemon, request) else {"ready": ready}
        return JSONResponse(shown, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        data, content_type = daemon.metrics.render()
        return Response(data, media_type=content_type)

    return Starlette(exception_handlers=EXCEPTION_HANDLERS, routes=[
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route(WEBHOOK_PATH, webhook_endpoint(daemon), methods=["POST"]),
        *status_page(daemon),
        # The platform API (seeds 000 and 002) and its /openapi.json: everything else.
        Mount("", app=platform_api(daemon)),
    ])


def create_webhook_app(daemon: Daemon) -> Guard:
    """A webhook receiving process's app (controller/daemon/receivers.py): POST /webhooks/bird and
    GET /healthz, behind the same guard; every other path is 404 (they are the parent's, on --listen)."""

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "alive"})

    app = Starlette(exception_handlers=EXCEPTION_HANDLERS, routes=[
        Route("/healthz", healthz, methods=["GET"]),
        Route(WEBHOOK_PATH, webhook_endpoint(daemon), methods=["POST"]),
    ])
    return Guard(app, authenticator(daemon), on_refused=refusal_logger(daemon), on_error=error_logger(daemon),
                 caps={("POST", WEBHOOK_PATH): None, ("GET", "/healthz"): 0})


def status_page(daemon: Daemon) -> list[Route]:
    from controller.statuspage.web import routes

    return routes(daemon)


def platform_api(daemon: Daemon) -> Starlette:
    from controller.api.app import ApiContext, create_api

    def specs_in_force() -> object:
        return daemon.view.specs if daemon.view is not None else None

    def log(name: str, message: str, **fields: object) -> None:
        event(name, message, role=daemon.role, **fields)

    return create_api(ApiContext(store=daemon.store, specs=specs_in_force, settings=daemon.settings, log=log))


def answer(daemon: Daemon, verdict: Verdict) -> Response:
    daemon.metrics.webhooks.labels(verdict.outcome, event_label(verdict.event)).inc()
    if verdict.status != 200:  # what was kept is logged per inbox transaction (service.log_received)
        event(f"webhook.{verdict.outcome}", verdict.message, logging.WARNING, status=verdict.status,
              webhook_event=event_label(verdict.event), bird_request_id=verdict.request_id or None, role=daemon.role)
    body = {"status": verdict.outcome, "message": verdict.message}
    if verdict.request_id:
        body["requestId"] = verdict.request_id
    return JSONResponse(body, status_code=verdict.status)
