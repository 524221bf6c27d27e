"""The emulator's one fault and traffic layer, shared by every route: injected faults (admin
``/_emulator/faults``), per-route request counts (``/_emulator/requests``, kept on the emulator as
``requests``) and the world's per-scope rate limits (``check_rate``). The HTTP layer
(``controller.emulator.app``) consults it before any domain sees a request.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter, deque
from typing import Any

from controller.bird import routes
from controller.emulator import policy
from controller.emulator.errors import ApiError, invalid_field
from controller.emulator.world import World

FAULT_EFFECTS = ("status", "rate-limit", "timeout", "commit-then-fail")


class RequestLimits:
    """Request counting and rate limiting over the emulator's store (``requests``, ``rate_windows``)."""

    world: World
    requests: Counter[str]
    rate_windows: dict[tuple[str, str], deque[float]]

    def check_rate(self, scope_id: str, method: str, now: float | None = None) -> None:
        """429 when this workspace (or organization) made more ``method`` requests in the last second
        than the world's ``rateLimits`` allow (policy RATE_LIMIT_*). Uses the real time, not the emulator's
        clock."""
        limits = dict(self.world.rate_limits)
        if method not in limits and method != "GET":
            method = policy.RATE_LIMIT_WRITES_COUNT_AS
        limit = limits.get(method)
        if limit is None:
            return
        now = time.monotonic() if now is None else now
        window = self.rate_windows.setdefault((scope_id, method), deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= limit:
            raise ApiError(429, policy.CODE_RATE_LIMITED,
                           f"Too many {method} requests: the limit is {limit:g} per second per workspace",
                           headers={"Retry-After": str(policy.RATE_LIMIT_RETRY_AFTER)})
        window.append(now)



class Faults:
    """Injected faults, matched by method and route template; each may apply a few times, at random."""

    def __init__(self, seed: int) -> None:
        self.items: list[dict[str, Any]] = []
        self.rng = random.Random(seed)

    def add(self, spec: Any) -> dict[str, Any]:
        if not isinstance(spec, dict):
            raise invalid_field("body", "must be a JSON object describing the fault")
        effect = spec.get("effect")
        if effect not in FAULT_EFFECTS:
            raise invalid_field("effect", "must be one of " + ", ".join(FAULT_EFFECTS))
        route = spec.get("route")
        if route is not None and not any(r.path == route for r in routes.ROUTES):
            raise invalid_field("route", f"{route!r} is not a Bird route template the emulator serves")
        method = (spec.get("method") or "").upper() or None
        status = spec.get("status", 503 if effect == "status" else 502)
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise invalid_field("status", "must be an HTTP error status (400-599)")
        times = spec.get("times")
        if times is not None and (not isinstance(times, int) or times < 1):
            raise invalid_field("times", "must be a whole number >= 1 (leave it out for every time)")
        probability = spec.get("probability", 1.0)
        if not isinstance(probability, int | float) or not 0 <= probability <= 1:
            raise invalid_field("probability", "must be between 0 and 1")
        scope = spec.get("workspaceId") or spec.get("organizationId")
        if scope is not None and not isinstance(scope, str):
            raise invalid_field("workspaceId", "must be a workspace (or organization) id")
        fault = {"id": str(uuid.uuid4()), "method": method, "route": route, "effect": effect, "status": status,
                 "times": times, "probability": float(probability),
                 "retryAfter": int(spec.get("retryAfter", policy.RATE_LIMIT_RETRY_AFTER)),
                 "seconds": float(spec.get("seconds", policy.TIMEOUT_FAULT_SECONDS)),
                 "drop": bool(spec.get("drop", False)), "applied": 0,
                 # Only the requests about this workspace (or organization): one tenant's Bird slow, not all.
                 "scope": scope}
        self.items.append(fault)
        return fault

    def take(self, method: str, route: routes.Route, where: str = "") -> dict[str, Any] | None:
        """The fault to apply to this request, if any (counting it against ``times``). `where`: the
        workspace (or organization) id the request's path names."""
        for fault in self.items:
            if fault["method"] not in (None, method) or fault["route"] not in (None, route.path):
                continue
            if fault["scope"] not in (None, where):
                continue
            if fault["probability"] < 1 and self.rng.random() >= fault["probability"]:
                continue
            fault["applied"] += 1
            if fault["times"] is not None and fault["applied"] >= fault["times"]:
                self.items.remove(fault)
            return fault
        return None
