"""Errors the state layer raises; every message says what is wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class StateError(Exception):
    """The state database cannot do what was asked (unreachable, bad URL, conflicting write)."""


class Conflict(StateError):
    """A write would break a uniqueness rule (two live rows for one number, one user, one message)."""


class DuplicateOperation(StateError):
    """A journal entry with this idempotency key already exists."""


@dataclass(frozen=True)
class LockHolder:
    owner: str
    pid: int | None
    host: str | None
    since: datetime | None

    def describe(self) -> str:
        since = self.since.strftime("%Y-%m-%dT%H:%M:%SZ") if self.since else "an unknown time"
        return f"{self.owner} (pid {self.pid or '?'} on {self.host or '?'}, since {since})"


class StateLocked(StateError):
    """Another apply holds the state's lock."""

    def __init__(self, holder: LockHolder | None, url_hint: str = "") -> None:
        self.holder = holder
        who = holder.describe() if holder else "another process (no owner record)"
        where = f" {url_hint}" if url_hint else ""
        super().__init__(f"the state{where} is locked by {who}")
