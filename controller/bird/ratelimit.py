"""A client-side token bucket, shared by every request of one Bird client.

Bird rate-limits per access key; staying under the limit is cheaper than being told 429 and backing off.
The bucket starts full (``burst`` tokens) and refills at ``rate`` tokens per second; ``acquire`` waits
until a token is available. Waiters are served in arrival order (one lock), so a burst of concurrent
calls is spread evenly instead of stampeding.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"requests per second must be positive, got {rate}")
        self.rate = float(rate)
        self.capacity = float(burst) if burst is not None else max(1.0, self.rate)
        self._tokens = self.capacity
        self._clock = clock
        self._updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self) -> float:
        """Take one token, sleeping as long as needed; returns the seconds waited."""
        waited = 0.0
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return waited
                delay = (1.0 - self._tokens) / self.rate
                waited += delay
                await asyncio.sleep(delay)
