"""How far away the emulated Bird is: the world file's ``latency`` delays every Bird answer.

Bird is an internet service: from a cloud region a call answers in tens to hundreds of milliseconds, not
the ~2 ms of the loopback interface. Each Bird request waits half its delay before the emulator handles it
(the request's way there: the rate limit counts it when it arrives) and the other half before its answer
leaves (the way back: a change is applied before the client hears of it). The waits are ``asyncio.sleep``
in the ASGI app, so a delayed request never holds up another one. Delays are drawn from a
``random.Random`` seeded with the emulator's seed: the same seed and the same order of requests give the
same delays. Admin routes (``/_emulator/...``) are never delayed.
"""

from __future__ import annotations

import random

from controller.emulator.world import Latency


class Distance:
    def __init__(self, latency: Latency, seed: int) -> None:
        self.latency = latency
        self.rng = random.Random(seed)
        self.none = latency.none

    def sample(self, method: str) -> float:
        """One request's round-trip delay in seconds: uniform in mean +- jitter, never below 0."""
        delay = self.latency.for_method(method)
        if delay.jitter <= 0:
            return delay.mean
        return max(0.0, self.rng.uniform(delay.mean - delay.jitter, delay.mean + delay.jitter))
