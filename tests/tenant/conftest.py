"""Tenant test helpers: a real state (SQLite file or PostgreSQL database) with organizations and numbers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner

from cli import cli
from controller import tenant
from controller.state import StateStore

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # Monday of ISO week 2026-W47
WEEK = "2026-W47"


def number(i: int) -> str:
    """A valid US number, distinct per i (0..9999)."""
    return f"+1415555{i:04d}"


@pytest.fixture
def store(state_url: str) -> Iterator[StateStore]:
    s = StateStore.open(state_url)
    yield s
    s.close()


def make_org(store: StateStore, org: str = "acme", *, enabled: bool = True, limit: int = 10,
             price: str = "2.99", active: bool = True, currency: str = "USD") -> None:
    tenant.sync_org_config(store, org, bird_organization_id=f"{org}-bird-id", enabled=enabled, limit=limit,
                           weekly_price=Decimal(price), currency=currency)
    tenant.set_ten_dlc_active(store, org, active)


def buy(store: StateStore, org: str, *indices: int, workspace: str = "main", at: datetime = T0,
        price: str | None = "1.15") -> list[str]:
    numbers = [number(i) for i in indices]
    tenant.record_numbers_acquired(store, org, workspace,
                                   [(n, f"bird-{n}", Decimal(price) if price else None) for n in numbers], at=at)
    return numbers


def later(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def senderctl(state_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*args, "--state", state_url], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def senderctl_json(state_url: str, *args: str) -> Any:
    code, out, err = senderctl(state_url, *args, "-o", "json")
    assert code == 0, err
    return json.loads(out)
