"""Client-side rate limits, as Bird documents them: per workspace and per HTTP method.

Bird's Channels API "Rate Limit" page (https://docs.bird.com/api/channels-api/rate-limit): the default
limit is per workspace (all channels in it), 50 GET and 500 POST requests per second; a 429 means the
request was not processed and may be retried. Staying under the limit is cheaper than being told 429 and
backing off, so each (workspace, method) pair has its own token bucket:

* GET (and HEAD) requests draw on the read bucket, at ``get_rate``;
* every other method (POST, PATCH, PUT, DELETE) draws on the write bucket, at ``post_rate``. Bird names
  only GET and POST; counting PATCH/PUT/DELETE with POST can never exceed a separate limit for them.

The scope is the workspace id of the path; routes without one (``/organizations/{id}/numbers-stock-items``)
are limited per organization. A bucket starts with ``burst`` tokens (a tenth of a second's worth by default:
small, so the client never runs ahead of a server that allows one second's worth at once) and refills at
its rate. Waiters are served in arrival order (one lock per bucket), so a burst of concurrent calls is
spread evenly instead of stampeding. After a 429 the bucket is paused for the Retry-After, so the other
requests of that workspace wait too instead of collecting their own 429s.

A token bucket alone lets ``burst + rate`` requests through in some second; a server that counts the
requests of the last second (as the emulator does, and as "N per second" most plainly reads) answers
the excess with 429 and a Retry-After of a second: at the limit that cost a quarter of the throughput.
So each bucket also remembers when its last ``rate`` requests went out, and sends the next one only once
the oldest of them is more than a second old (with a margin for the network's jitter, which each 429
widens a little, up to a tenth of a second).

"Went out" is when the request's last byte was written, not when its token was taken: between the two the
client builds the request, and a pause of its event loop there (a garbage collection, another task's CPU
work: 20-50 ms measured) sends it late, closer to the requests after it than their tokens were. Each token
is a ``Departure`` that the HTTP layer moves to the moment of the write (httpcore's ``trace`` extension).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

# Bird's documented defaults (requests per second, per workspace).
DEFAULT_GET_RATE = 50.0
DEFAULT_POST_RATE = 500.0
# Share of one second's worth of requests a bucket may send at once.
DEFAULT_BURST_SECONDS = 0.1
# No more than `rate` requests in any window of this many seconds: one second, and a margin for requests
# that reach Bird closer together than they were sent.
WINDOW_SECONDS = 1.03
# Each 429 says the margin was too small for the path to Bird (a loaded event loop sends some requests
# later than their token, a distant Bird's jitter brings others closer): the bucket's window grows by
# this much, up to MAX_WINDOW_SECONDS (which still keeps 90 % of the limit usable), and shrinks back a
# little with every request sent.
WINDOW_STEP = 0.02
MAX_WINDOW_SECONDS = 1.1
WINDOW_RECOVERY = 0.001  # share of the extra margin given back per request sent
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# httpcore's trace events that mean a request's last byte was handed to the socket.
WRITTEN_EVENTS = frozenset({"http11.send_request_body.complete", "http2.send_request_body.complete"})


class Departure:
    """When one rate-limited request went out: its token's time until the request is written."""

    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at

    def left(self, at: float) -> None:
        self.at = max(self.at, at)

    async def trace(self, event: str, info: dict[str, object]) -> None:
        """httpcore's ``trace`` extension: the request is out once its body is written."""
        if event in WRITTEN_EVENTS:
            self.left(time.monotonic())


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
        self.window = WINDOW_SECONDS
        # When the last `rate` requests went out (below one request a second, the bucket alone suffices).
        self._sent: deque[Departure] | None = deque(maxlen=int(self.rate)) if self.rate >= 1 else None

    def _refill(self) -> float:
        now = self._clock()
        if now > self._updated:
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
        return now

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (Bird said 429 with this Retry-After); then resume at the rate, not
        in a burst."""
        self._refill()
        self.window = min(MAX_WINDOW_SECONDS, self.window + WINDOW_STEP)
        until = self._clock() + max(0.0, seconds)
        if until > self._updated:
            self._tokens = min(self._tokens, 0.0)
            self._updated = until

    async def acquire(self) -> Departure:
        """Take one token, sleeping as long as needed. The request's ``Departure`` starts at the token's time;
        the caller moves it to when the request was written (``Departure.trace``)."""
        async with self._lock:
            while True:
                now = self._refill()
                window_wait = self._window_wait(now)
                if self._tokens >= 1.0 and window_wait <= 0:
                    self._tokens -= 1.0
                    departure = Departure(now)
                    if self._sent is not None:
                        self._sent.append(departure)
                        self.window -= (self.window - WINDOW_SECONDS) * WINDOW_RECOVERY
                    return departure
                token_wait = 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate
                await asyncio.sleep(max(window_wait, max(0.0, self._updated - now) + token_wait))

    def _window_wait(self, now: float) -> float:
        """Seconds until one more request keeps the last window within `rate` requests."""
        sent = self._sent
        if sent is None or len(sent) < (sent.maxlen or 0):
            return 0.0
        return sent[0].at + self.window - now


class RateLimits:
    """One token bucket per (scope, read|write): what a single Bird client may send."""

    def __init__(
        self,
        get_rate: float = DEFAULT_GET_RATE,
        post_rate: float = DEFAULT_POST_RATE,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, rate in (("GET", get_rate), ("POST", post_rate)):
            if rate <= 0:
                raise ValueError(f"the {name} rate limit must be a positive number of requests per second, "
                                 f"got {rate}")
        self.rates = {"read": float(get_rate), "write": float(post_rate)}
        self.burst = burst
        self._clock = clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    @staticmethod
    def method_class(method: str) -> str:
        return "read" if method.upper() in READ_METHODS else "write"

    def bucket(self, scope: str, method: str) -> TokenBucket:
        key = (scope, self.method_class(method))
        bucket = self._buckets.get(key)
        if bucket is None:
            rate = self.rates[key[1]]
            burst = self.burst if self.burst is not None else max(1.0, rate * DEFAULT_BURST_SECONDS)
            bucket = self._buckets[key] = TokenBucket(rate, burst=burst, clock=self._clock)
        return bucket

    async def acquire(self, scope: str, method: str) -> Departure:
        return await self.bucket(scope, method).acquire()

    def pause(self, scope: str, method: str, seconds: float) -> None:
        self.bucket(scope, method).pause(seconds)

    def __repr__(self) -> str:
        return f"RateLimits(GET={self.rates['read']:g}/s, POST={self.rates['write']:g}/s per workspace)"
