"""The state's public records: plain values, detached from any database session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

ConditionStatus = Literal["Ready", "Waiting", "Failed", "Paused"]
OperationStatus = Literal["intent", "succeeded", "failed", "abandoned"]
Outcome = Literal["succeeded", "failed", "abandoned"]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ResourceRecord:
    """What the state remembers of one spec object: its Bird id and the last applied spec (secret-free)."""

    address: str
    kind: str
    bird_id: str | None = None
    natural_key: str | None = None
    spec_hash: str = ""
    spec: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class Condition:
    address: str
    status: ConditionStatus
    reason: str = ""
    since: datetime = field(default_factory=utcnow)


@dataclass
class Operation:
    id: int
    address: str
    action: str
    key: str
    request: dict[str, Any]
    status: OperationStatus
    result: dict[str, Any] | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None
