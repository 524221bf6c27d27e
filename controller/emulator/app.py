"""The emulator's ASGI app: Bird's routes (auth, faults, request counting) and the ``/_emulator`` admin API.

Use it in-process with ``httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=...)`` or
serve it with uvicorn (``controller.emulator.server``). ``app.state.emulator`` is the ``Emulator``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from email.utils import formatdate
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from controller.bird import routes
from controller.emulator import policy
from controller.emulator.core import Emulator
from controller.emulator.errors import ApiError, invalid_field
from controller.emulator.faults import Faults
from controller.emulator.latency import Distance
from controller.emulator.webhooks import deliver
from controller.emulator.world import World

BIRD_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def read_json(request: Request, *, required: bool = False) -> Any:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ApiError(400, policy.CODE_INVALID_JSON, "The request body must be a JSON object")
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, policy.CODE_INVALID_JSON, "The request body is not valid JSON") from None


class InjectedDisconnect(ConnectionAbortedError):
    """Raised mid-response by a ``drop`` fault: the server closes the connection without a full answer."""


class DroppedResponse(Response):
    """Starts a 200 answer, sends part of its body, then fails: uvicorn closes the connection, so the
    client sees the connection drop after Bird may have applied the change."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")]})
        await send({"type": "http.response.body", "body": b'{"id": "', "more_body": True})
        raise InjectedDisconnect("connection dropped by an injected fault")


def create_app(world: World | None = None, *, seed: int = 0) -> Starlette:
    emulator = Emulator(world, seed=seed)
    faults = Faults(seed)
    distance = Distance(emulator.world.latency, seed)
    sending: set[asyncio.Task[Any]] = set()  # deliveries a Bird call queued (channel.created), in flight

    def send_queued() -> None:
        """Bird sends an API call's events after answering it: deliver them in the background."""
        if emulator.outbox:
            task = asyncio.create_task(deliver(emulator, emulator.take_outbox()))
            sending.add(task)
            task.add_done_callback(sending.discard)

    async def bird(request: Request) -> Response:
        try:
            response = await answer_at_distance(request)
        except ClientDisconnect:
            # The client went away before its body arrived (a Ctrl-C'd apply): Bird never processed it, and
            # nobody reads this answer. Not an error of the server's.
            return Response(status_code=400)
        # Bird's own clock, as any HTTP server states it (RFC 9110 "Date"): the emulator's, which moves only
        # when told, so a client can tell how old Bird's dates are (a campaign silent for 60 days).
        response.headers["date"] = formatdate(emulator.clock.now, usegmt=True)
        return response

    async def answer_at_distance(request: Request) -> Response:
        if distance.none:
            return await answer(request)
        # Half the round trip on the way there, half on the way back (controller.emulator.latency).
        delay = distance.sample(request.method)
        there = delay * policy.LATENCY_SHARE_BEFORE_HANDLING
        await asyncio.sleep(there)
        response = await answer(request)
        await asyncio.sleep(delay - there)
        return response

    async def answer(request: Request) -> Response:
        method, path = request.method, request.url.path
        found = routes.match(method, path)
        if found is None:
            return error_response(ApiError(404, policy.CODE_NOT_FOUND, f"no Bird route {method} {path}"))
        route, params = found
        with emulator.lock:
            emulator.requests[route.key] += 1
            # Per workspace (or organization) too: a test can tell which workspaces a reconcile read.
            where = params.get("workspaceId") or params.get("organizationId") or ""
            emulator.requests_by_scope.setdefault(where, Counter())[route.key] += 1
            if method != "GET":
                emulator.write_log.append({"seq": len(emulator.write_log) + 1, "at": time.time(), "route": route.key,
                                           "holder": request.headers.get(policy.HOLDER_HEADER)})
        try:
            key = emulator.authorize(request.headers.get("authorization"))
            fault = faults.take(method, route, where)
            if fault and fault["effect"] != "commit-then-fail":
                return await _fault_response(fault)
            body = await read_json(request) if method in ("POST", "PATCH", "PUT") else None
            query: dict[str, list[str]] = {}
            for name, value in request.query_params.multi_items():
                query.setdefault(name, []).append(value)
            with emulator.lock:
                scope: Any
                if "workspaceId" in params:
                    scope = emulator.owned_workspace(key, params["workspaceId"], params.get("organizationId"))
                elif "organizationId" in params:
                    scope = emulator.owned_organization(key, params["organizationId"])
                else:  # Bird-wide reference data (the TCR verticals): any valid access key reads it
                    scope = key
                if params.get("workspaceId") or params.get("organizationId"):
                    emulator.check_rate(params.get("workspaceId") or params["organizationId"], method)
                handler = emulator.handler(route.name)
                status, answer = handler(scope, params, query, body)
            send_queued()
            if fault:  # commit-then-fail: the change above is kept, the answer is lost
                return await _fault_response(fault)
        except ApiError as error:
            return error_response(error)
        if status == 204:
            return Response(status_code=204)
        return JSONResponse(answer, status_code=status, headers={"x-request-id": str(uuid.uuid4())})

    async def advance_delivering(seconds: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Move the clock timer by timer, delivering each one's webhooks at its own time: a failed delivery
        schedules its retry from then, so one long advance sees every retry Bird would have made in it."""
        target = emulator.clock.now + seconds
        transitions: list[dict[str, Any]] = []
        deliveries: list[dict[str, Any]] = []
        while True:
            due = emulator.next_due(target)
            transitions += emulator.advance(max(0.0, (target if due is None else due) - emulator.clock.now))
            deliveries += await deliver(emulator, emulator.take_outbox())
            if due is None:
                return transitions, deliveries

    async def _fault_response(fault: dict[str, Any]) -> Response:
        if fault["effect"] == "rate-limit":
            return JSONResponse({"code": policy.CODE_RATE_LIMITED, "message": "Too many requests"}, 429,
                                headers={"Retry-After": str(fault["retryAfter"])})
        if fault["effect"] == "commit-then-fail" and fault["drop"]:
            return DroppedResponse()
        if fault["effect"] == "timeout":
            await asyncio.sleep(fault["seconds"])
            return JSONResponse({"code": policy.CODE_FAULT, "message": "Gateway timeout (injected)"}, 504)
        return JSONResponse({"code": policy.CODE_FAULT, "message": f"Injected {fault['effect']} fault"},
                            fault["status"])

    async def admin(request: Request) -> Response:
        try:
            return await _admin(request)
        except ApiError as error:
            return error_response(error)

    async def _admin(request: Request) -> Response:
        action = request.path_params["action"]
        method = request.method
        if (action, method) == ("clock/advance", "POST"):
            body = await read_json(request, required=True)
            seconds = body.get("seconds") if isinstance(body, dict) else None
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                raise invalid_field("seconds", "is required: a number of seconds")
            if seconds < 0:
                raise invalid_field("seconds", "must be >= 0: the clock never goes back")
            if not seconds <= policy.MAX_ADVANCE_SECONDS:  # also NaN and infinity
                raise invalid_field("seconds", f"must be at most {policy.MAX_ADVANCE_SECONDS} (ten years) per call")
            transitions, deliveries = await advance_delivering(float(seconds))
            return JSONResponse({"now": emulator.clock.iso(), "transitions": transitions,
                                 "deliveries": deliveries})
        if (action, method) == ("decide", "POST"):
            body = await read_json(request, required=True)
            if not isinstance(body, dict):
                raise invalid_field("body", "must be a JSON object")
            item = emulator.decide(body.get("kind"), body.get("id"), body.get("status"), body.get("rejection"))
            deliveries = await deliver(emulator, emulator.take_outbox())
            return JSONResponse({"object": item, "deliveries": deliveries})
        if (action, method) == ("authplus/verify", "POST"):
            body = await read_json(request, required=True)
            brand = emulator.verify_auth_plus(body.get("brandId") if isinstance(body, dict) else None)
            deliveries = await deliver(emulator, emulator.take_outbox())
            return JSONResponse({"object": brand, "deliveries": deliveries})
        if (action, method) == ("inbound", "POST"):
            message = emulator.inbound(await read_json(request, required=True))
            deliveries = await deliver(emulator, emulator.take_outbox())
            return JSONResponse({"message": message, "deliveries": deliveries})
        if (action, method) == ("outbound", "POST"):
            message = emulator.outbound(await read_json(request, required=True))
            deliveries = await deliver(emulator, emulator.take_outbox())
            return JSONResponse({"message": message, "deliveries": deliveries})
        if action == "faults":
            if method == "POST":
                return JSONResponse(faults.add(await read_json(request, required=True)), 201)
            if method == "DELETE":
                faults.items.clear()
                return Response(status_code=204)
            return JSONResponse({"faults": faults.items})
        if action == "requests":
            if method == "DELETE":
                with emulator.lock:
                    emulator.requests.clear()
                    emulator.requests_by_scope.clear()
                    emulator.write_log.clear()
                return Response(status_code=204)
            with emulator.lock:
                holders = Counter(w["holder"] for w in emulator.write_log if w["holder"])
                answer = {"total": sum(emulator.requests.values()), "byRoute": dict(emulator.requests),
                          "byWorkspace": {w: dict(c) for w, c in emulator.requests_by_scope.items()},
                          "byHolder": dict(holders)}
                if request.query_params.get("writes") in ("1", "true"):
                    answer["writes"] = list(emulator.write_log)
                return JSONResponse(answer)
        if (action, method) == ("state", "GET"):
            return JSONResponse(emulator.dump())
        if action in ("snapshot", "restore") and method == "POST":
            body = await read_json(request, required=True)
            name = body.get("name") if isinstance(body, dict) else None
            if not isinstance(name, str) or not name:
                raise invalid_field("name", "is required: the snapshot's name")
            if action == "snapshot":
                emulator.snapshot(name)
                return JSONResponse({"name": name, "now": emulator.clock.iso()}, 201)
            try:
                emulator.restore(name)
            except KeyError:
                raise ApiError(404, policy.CODE_NOT_FOUND, f"no snapshot named {name!r}") from None
            faults.items.clear()
            return JSONResponse({"name": name, "now": emulator.clock.iso()})
        if (action, method) == ("reset", "POST"):
            emulator.reset()
            faults.items.clear()
            return JSONResponse({"now": emulator.clock.iso()})
        raise ApiError(404, policy.CODE_NOT_FOUND, f"no admin call {method} /_emulator/{action}")

    app = Starlette(routes=[
        Route("/_emulator/{action:path}", admin, methods=["GET", "POST", "DELETE"]),
        Route("/{path:path}", bird, methods=BIRD_METHODS),
    ])
    app.state.emulator = emulator
    app.state.faults = faults
    return app
