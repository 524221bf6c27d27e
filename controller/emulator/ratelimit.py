"""Bird's per-workspace rate limits, enforced from the world file's ``rateLimits``.

Bird (https://docs.bird.com/api/channels-api/rate-limit): "Our default per workspace limit (all channels in a
given workspace) is GET 50 req/s, POST 500 req/s"; excessive requests are rejected with 429 Too Many
Requests and were not processed. What the page leaves open is decided in ``policy`` (RATE_LIMIT_*): how a
second is measured (a token bucket that holds one second's worth, so a second's worth may come at once),
what PATCH/PUT/DELETE count against (POST's limit, unless the world names them), the scope of routes
without a workspace (their organization), and the Retry-After sent (the whole seconds until a request
would be accepted, at least 1).

A world without ``rateLimits`` has no limits (tests stay fast); the benchmark's world sets Bird's.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping

from controller.emulator import policy


class RateLimiter:
    def __init__(self, limits: Mapping[str, float], *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = {method.upper(): float(rate) for method, rate in limits.items()}
        self.clock = clock
        self.rejected = 0  # 429s answered since the last reset
        self._buckets: dict[tuple[str, str], list[float]] = {}  # (scope, method) -> [tokens, updated]
        self._lock = threading.Lock()

    def limit_for(self, method: str) -> float | None:
        method = method.upper()
        if method in self.limits:
            return self.limits[method]
        if method != "GET":
            return self.limits.get(policy.RATE_LIMIT_WRITES_COUNT_AS)
        return None

    def check(self, scope: str, method: str) -> float | None:
        """None when the request may proceed (and counts against the limit); else the Retry-After seconds."""
        limit = self.limit_for(method)
        if limit is None:
            return None
        capacity = limit * policy.RATE_LIMIT_BURST_SECONDS
        with self._lock:
            now = self.clock()
            bucket = self._buckets.setdefault((scope, method.upper()), [capacity, now])
            bucket[0] = min(capacity, bucket[0] + (now - bucket[1]) * limit)
            bucket[1] = now
            if bucket[0] >= 1.0:
                bucket[0] -= 1.0
                return None
            self.rejected += 1
            return max(policy.RATE_LIMIT_MIN_RETRY_AFTER, math.ceil((1.0 - bucket[0]) / limit))

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
            self.rejected = 0
