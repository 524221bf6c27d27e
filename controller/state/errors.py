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
        return f"{self.owner} (pid {self.pid or '?'} on {self.host or '?'}, since {since}; lock id {self.lock_id})"

    @property
    def lock_id(self) -> str:
        """What `senderctl force-unlock LOCK_ID` takes: names this holding of the lock, and no later one."""
        import hashlib

        since = self.since.isoformat() if self.since else ""
        return hashlib.sha256(f"{self.owner}|{self.pid}|{self.host}|{since}".encode()).hexdigest()[:12]


class StateLocked(StateError):
    """Another apply holds the state's lock."""

    def __init__(self, holder: LockHolder | None, url_hint: str = "") -> None:
        self.holder = holder
        who = holder.describe() if holder else "another process (no owner record)"
        where = f" {url_hint}" if url_hint else ""
        super().__init__(f"the state{where} is locked by {who}")


class LockHolderAlive(StateError):
    """force-unlock without --force while the holder still runs."""


class LockLost(StateError):
    """The connection that held the apply lock is gone: another apply could start beside this one."""
