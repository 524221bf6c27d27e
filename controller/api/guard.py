"""The ASGI guard in front of the daemon's HTTP app: what a request may cost is decided before any
handler runs.

In order, before a byte of the body is read:
  1. a path under /v1/ or /api/ that no route has: 404; a method the path does not take: 405 + Allow;
  2. an API route without a valid token: 401 (no database work beyond one indexed lookup);
  3. the token's role and scopes against controller/api/access.py: 403;
  4. the body: a Content-Length above the route's cap is 413 at once; a streamed body is counted as it
     arrives and refused (413) the moment it passes the cap. At most the cap is ever held in memory.
Only then does the app run, with the body replayed from the guard's buffer. Every refusal answers in
the API's JSON error shape.

A refusal of a request that carries a body says `Connection: close`: the body is left unread, and on
a kept-alive connection the server would go on parsing and dropping whatever the client still sends,
for as long as it sends (a client streaming for ever cost the daemon CPU for ever). The daemon's
server closes such a connection with a lingering close (controller/daemon/lingering.py), so that the
client still receives the answer; tests/api/test_streaming_clients.py checks it over raw sockets.

An exception that escapes the app after its answer started is logged here and goes no further.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from controller.api import access
from controller.api.tokens import Principal

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PRINCIPAL = "senderctl.principal"
MAX_TOKEN_CHARS = 200
# Paths outside the API (the daemon's own): the webhook receiver reads and caps its body itself
# (controller.daemon.webhooks.MAX_BODY_BYTES), the status page's forms are small, the rest take none.
DEFAULT_CAP = 0


class Unavailable(Exception):
    """The state database cannot answer: 503."""


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str  # no_token, unknown_token, expired, revoked, role, scope
    token_id: str | None
    method: str
    path: str


Authenticate = Callable[[str], Awaitable["Principal | str"]]


class Guard:
    def __init__(self, app: ASGIApp, authenticate: Authenticate, *,
                 on_refused: Callable[[Refusal], None] = lambda _: None,
                 on_error: Callable[[BaseException], None] = lambda _: None,
                 caps: dict[tuple[str, str], int | None] | None = None) -> None:
        """`authenticate(token)`: the principal or why it is refused; raises Unavailable when the state
        cannot answer. `caps`: the daemon's own routes (method, path) and their body caps (None: the
        handler caps it)."""
        self.app, self.authenticate, self.on_refused, self.on_error = app, authenticate, on_refused, on_error
        self.caps = caps or {}
        self.own: dict[str, tuple[str, ...]] = {}
        for method, path in self.caps:
            self.own[path] = tuple(sorted({*self.own.get(path, ()), method}))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        found = access.match(method, path)
        if found is None:
            if path.startswith(access.API_PREFIXES):
                await refuse(scope, send, 404, "not_found", f"no route {method} {path}")
                return
            methods = self.own.get(path, (method,))
            if method not in methods:
                await refuse(scope, send, 405, "method_not_allowed", f"{path} takes {', '.join(methods)}",
                             [(b"allow", ", ".join(methods).encode())])
                return
            cap = self.caps.get((method, path), DEFAULT_CAP)
        elif method not in found.allowed:
            await refuse(scope, send, 405, "method_not_allowed", f"{path} takes {', '.join(found.allowed)}",
                         [(b"allow", ", ".join(found.allowed).encode())])
            return
        else:
            cap = found.body_cap
            if found.access is not None:
                who = await self.admit(scope, send, found.access)
                if who is None:
                    return
                scope[PRINCIPAL] = who
        await self.run(scope, receive, send, cap)

    async def admit(self, scope: Scope, send: Send, rule: access.Access) -> Principal | None:
        """The caller, or None once refused (401, 403, 503)."""
        method, path = scope["method"], scope["path"]
        token = bearer(scope)
        if not token:
            return await self.refused(scope, send, Refusal(401, "no_token", None, method, path),
                                      "no token: send Authorization: Bearer <token> (make one with "
                                      "`senderctl tokens create`)")
        try:
            found = await self.authenticate(token) if len(token) <= MAX_TOKEN_CHARS else "unknown token"
        except Unavailable as exc:
            await refuse(scope, send, 503, "unavailable", f"the state database cannot be read now ({exc}); retry",
                         [(b"retry-after", b"5")])
            return None
        if isinstance(found, str):
            reason = "revoked" if "revoked" in found else "expired" if "expired" in found else "unknown_token"
            token_id = found.split()[1] if reason != "unknown_token" else None
            return await self.refused(scope, send, Refusal(401, reason, token_id, method, path),
                                      f"{found}: make a new one with `senderctl tokens create`")
        if rule.role is not None and found.role != rule.role:
            return await self.refused(scope, send, Refusal(403, "role", found.token_id, method, path),
                                      f"{method} {path} needs role {rule.role}; token {found.token_id} has role "
                                      f"{found.role}")
        missing = [s for s in rule.scopes if s not in found.scopes]
        if missing:
            return await self.refused(scope, send, Refusal(403, "scope", found.token_id, method, path),
                                      f"{method} {path} needs scope {', '.join(missing)}; token {found.token_id} "
                                      f"has {', '.join(sorted(found.scopes)) or 'no scopes'}")
        return found

    async def refused(self, scope: Scope, send: Send, refusal: Refusal, message: str) -> None:
        self.on_refused(refusal)
        code = "unauthorized" if refusal.status == 401 else "forbidden"
        extra = [(b"www-authenticate", b"Bearer")] if refusal.status == 401 else []
        await refuse(scope, send, refusal.status, code, message, extra)
        return None

    async def run(self, scope: Scope, receive: Receive, send: Send, cap: int | None) -> None:
        if cap is None:
            await self.call(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or not declared.isascii()):
            await refuse(scope, send, 400, "malformed_request", f"Content-Length {declared[:40]!r} is not a number")
            return
        if declared is not None and int(declared) > cap:
            await too_large(scope, send, cap, f"{int(declared)} bytes declared")
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away: nobody to answer
            body = message.get("body", b"")
            size += len(body)
            if size > cap:
                await too_large(scope, send, cap, f"more than {cap} bytes sent")
                return
            if body:
                chunks.append(body)
            if not message.get("more_body", False):
                break
        await self.call(scope, replay(b"".join(chunks), receive), send)

    async def call(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:  # the app's error handlers have answered (or will never): log, stop here
            self.on_error(exc)
            if not started:
                await refuse(scope, send, 500, "internal", "the daemon failed to answer; it is logged")


def replay(body: bytes, receive: Receive) -> Receive:
    """The body once, then the connection's own messages (a disconnect)."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1")).strip()
    return None


def carries_body(scope: Scope) -> bool:
    """A body is announced: a Content-Length other than 0, or a Transfer-Encoding (chunked)."""
    length = header(scope, b"content-length")
    return (length is not None and length != "0") or header(scope, b"transfer-encoding") is not None


def bearer(scope: Scope) -> str | None:
    value = header(scope, b"authorization")
    if not value:
        return None
    kind, _, token = value.partition(" ")
    return token.strip() if kind.lower() == "bearer" and token.strip() else None


async def too_large(scope: Scope, send: Send, cap: int, seen: str) -> None:
    what = f"at most {cap} bytes" if cap else "no body"
    await refuse(scope, send, 413, "too_large", f"{scope['method']} {scope['path']} takes {what} ({seen})")


async def refuse(scope: Scope, send: Send, status: int, code: str, message: str,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """An answer in the API's error shape."""
    body = json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":")).encode()
    extra = list(headers or [])
    if carries_body(scope):
        extra.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *extra]})
    await send({"type": "http.response.body", "body": body})
