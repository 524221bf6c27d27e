"""The work queue: what to reconcile, and when (pure: the caller passes the clock's reading).

Keys are resource addresses ("Campaign/acme-alerts") or FULL (a whole reconcile). A key is queued
once; asking for it again keeps the earlier time, so a burst of webhooks is one reconcile. A key
whose reconcile failed comes back after an exponential backoff with jitter, so a broken resource
neither spins nor returns in lockstep with others.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

FULL = "*"


def jittered(seconds: float, fraction: float, rng: random.Random) -> float:
    """seconds ± fraction (uniform), never negative."""
    return max(0.0, seconds * rng.uniform(1.0 - fraction, 1.0 + fraction))


@dataclass(frozen=True)
class Backoff:
    initial: float = 5.0
    factor: float = 2.0
    maximum: float = 600.0
    jitter: float = 0.2

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait before retry number `attempt` (1-based)."""
        base = min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))
        return min(self.maximum * (1 + self.jitter), jittered(base, self.jitter, rng))


@dataclass
class Entry:
    due: float
    reason: str
    # How much earlier the key may run when a reconcile happens anyway (re-checks are not urgent):
    # near-simultaneous re-checks of many resources then share one reconcile.
    slack: float = 0.0


@dataclass
class WorkQueue:
    backoff: Backoff = field(default_factory=Backoff)
    rng: random.Random = field(default_factory=random.Random)
    entries: dict[str, Entry] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, key: str, due: float, reason: str, slack: float = 0.0) -> bool:
        """Queue `key` at `due` unless it is already queued sooner. True when this moved it."""
        current = self.entries.get(key)
        if current is not None and current.due <= due:
            return False
        self.entries[key] = Entry(due, reason, slack)
        return True

    def replace(self, key: str, due: float, reason: str) -> None:
        """Queue `key` at exactly `due` (the resync timer moves later as well as sooner)."""
        self.entries[key] = Entry(due, reason)

    def discard(self, key: str) -> None:
        self.entries.pop(key, None)

    def next_due(self, where: Callable[[str], bool] = lambda _key: True) -> float | None:
        return min((e.due for k, e in self.entries.items() if where(k)), default=None)

    def pop_due(self, now: float, window: float = 0.5,
                where: Callable[[str], bool] = lambda _key: True) -> dict[str, str]:
        """Every key due by now (+ a small window, to batch near-simultaneous work): key -> reason.
        `where`: only such keys (the others stay queued)."""
        if not any(e.due <= now + window for k, e in self.entries.items() if where(k)):
            return {}
        due = {k: e.reason for k, e in self.entries.items() if e.due - e.slack <= now + window and where(k)}
        for key in due:
            del self.entries[key]
        return due

    def failed(self, key: str, now: float, reason: str) -> float:
        """Requeue after the key's next backoff; returns the delay."""
        attempt = self.attempts.get(key, 0) + 1
        self.attempts[key] = attempt
        delay = self.backoff.delay(attempt, self.rng)
        self.add(key, now + delay, f"retry {attempt} after: {reason}")
        return delay

    def succeeded(self, key: str) -> None:
        self.attempts.pop(key, None)
