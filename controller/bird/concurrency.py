"""How many requests the client keeps on the wire: a limit that follows Bird's distance.

Bird's limits are rates (50 GET/s and 500 POST/s per workspace, ``ratelimit``); the requests needed in
flight to use a rate are rate x round-trip time (Little's law). On the loopback a call answers in ~2 ms and
16 in flight keep every limit busy; 150 ms away the same 16 carry ~100 calls a second. So the overall
limit adapts, as TCP's window and Netflix's concurrency-limits (Gradient2) do:

* every answer's round-trip time is measured (from the moment the request goes out, so time spent
  waiting for a slot or a rate token never counts);
* ``short`` is a fast average of them, ``long`` a slow one (the baseline);
* while ``short`` stays within ``tolerance`` x ``long`` nothing queues (not at Bird, not on our event
  loop): the limit grows by a small queue allowance per answer, which roughly doubles it per round trip;
* when answers slow down beyond that (our CPU is saturated and answers wait on the event loop, or Bird
  queues), the limit shrinks in proportion (never by more than half at once), but never below what the
  answers' own pace needs (BBR's bandwidth-delay product): answers per second over the last ones, times
  the baseline. Shrinking further starves a client that is busy but keeping up: a no-op plan 150 ms away,
  its CPU saturated by decoding pages, fell from 367 to 16 in flight and read a third as fast meanwhile;
* when fewer than half of the slots are used, the limit does not grow (nothing shows it would help);
* a request that timed out or lost its connection shrinks the limit by a tenth.

The limit stays between ``minimum`` (16, what the loopback needs) and ``maximum`` (what our CPU and file
descriptors allow). Each workspace also has its own cap: a workspace never holds more slots than its rate
limit can use at the measured round-trip time (rate x short x 2, at least 8), so requests waiting for
one workspace's rate tokens never take the slots that other workspaces' requests could use.

``GradientLimit`` is pure arithmetic (tested without a clock); ``Gate`` is the asyncio side: a FIFO of
waiters admitted while fewer than ``limit()`` requests hold a slot.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_MINIMUM = 16
DEFAULT_MAXIMUM = 512
WORKSPACE_MINIMUM = 8
# A workspace may hold this many round trips' worth of its rate in slots: room for jitter and for answers
# that wait on a busy event loop, without letting its waiters starve others.
WORKSPACE_HEADROOM = 2.0
# The answers the recent pace is measured over.
PACE_ANSWERS = 64


@dataclass
class GradientLimit:
    """The overall limit (Gradient2-style). ``sample`` takes one answer's round trip."""

    minimum: int = DEFAULT_MINIMUM
    maximum: int = DEFAULT_MAXIMUM
    tolerance: float = 1.5  # answers may take this much longer than the baseline before the limit shrinks
    smoothing: float = 0.2  # share of the newly computed limit taken at each answer
    short_weight: float = 0.1  # the fast average: ~10 answers
    long_weight: float = 0.002  # the baseline: ~500 answers
    limit: float = 0.0
    short: float | None = None
    long: float | None = None
    paced: deque[float] = field(default_factory=lambda: deque(maxlen=PACE_ANSWERS))  # answer times (clock)

    def __post_init__(self) -> None:
        if not 1 <= self.minimum <= self.maximum:
            raise ValueError(f"the in-flight limit needs 1 <= minimum <= maximum, got {self.minimum}, {self.maximum}")
        self.limit = float(max(self.minimum, min(self.maximum, self.limit or self.minimum)))

    @property
    def current(self) -> int:
        return int(self.limit)

    def sample(self, rtt: float, in_flight: int, now: float | None = None) -> None:
        """One answer came back after ``rtt`` seconds while ``in_flight`` requests (itself included) were out;
        ``now``: when, on a monotonic clock (without it the answers' pace is not measured)."""
        rtt = max(rtt, 1e-6)
        if now is not None:
            self.paced.append(now)
        self.short = rtt if self.short is None else self.short + self.short_weight * (rtt - self.short)
        if self.long is None:
            self.long = rtt
        else:
            # An answer slower than the tolerance is queueing: it pulls the baseline ten times more weakly,
            # so that sustained queueing (our saturated CPU) takes long to become the new normal, while a
            # Bird that really moved further away still becomes it.
            weight = self.long_weight if rtt <= self.tolerance * self.long else self.long_weight / 10
            self.long += weight * (rtt - self.long)
        if self.long > 2 * self.short:
            # Answers got much faster (the baseline was measured under load): let the baseline follow.
            self.long *= 0.95
        gradient = max(0.5, min(1.0, self.tolerance * self.long / self.short))
        if gradient >= 1.0 and in_flight < self.limit / 2:
            return  # app-limited: nothing shows that more slots would be used
        allowance = math.sqrt(self.limit)
        target = self.limit * gradient + allowance
        self.limit = self._clamp(max(self.limit + self.smoothing * (target - self.limit), self.paced_floor()))

    def paced_floor(self) -> float:
        """The requests in flight the recent answers' pace needs at the baseline round trip (0: unmeasured)."""
        if len(self.paced) < self.paced.maxlen or self.long is None:  # type: ignore[operator]
            return 0.0
        span = self.paced[-1] - self.paced[0]
        return (len(self.paced) - 1) / span * self.long if span > 0 else 0.0

    def dropped(self) -> None:
        """A request timed out or lost its connection: back off a little."""
        self.limit = self._clamp(self.limit * 0.9)

    def _clamp(self, value: float) -> float:
        return max(float(self.minimum), min(float(self.maximum), value))

    def workspace_cap(self, rate: float) -> int:
        """Slots one workspace may hold for a bucket of ``rate`` requests/s at the measured round trip."""
        rtt = self.short or 0.0
        return max(WORKSPACE_MINIMUM, math.ceil(rate * rtt * WORKSPACE_HEADROOM))


class Gate:
    """Admits at most ``limit()`` holders at once, first come first served; the limit may change any time."""

    def __init__(self, limit: Callable[[], int]) -> None:
        self.limit = limit
        self.holders = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if not self._waiters and self.holders < self.limit():
            self.holders += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # admitted just as it was cancelled: hand the slot on
            else:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        self.holders -= 1
        self.wake()

    def wake(self) -> None:
        """Admit waiters while the (possibly raised) limit allows."""
        while self._waiters and self.holders < self.limit():
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.holders += 1
                waiter.set_result(None)

    @property
    def waiting(self) -> int:
        return len(self._waiters)
