"""Reliability fixtures: one emulator per test (reset between runs), private copies of the examples."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.proof.harness import MULTI_ORG, QUICKSTART, private_specs
from tests.support import EmulatorAdmin


@pytest.fixture
def emulator() -> Iterator[EmulatorAdmin]:
    from controller.emulator.server import running_emulator

    with running_emulator() as running:
        admin = EmulatorAdmin(running.url)
        yield admin
        admin.close()


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    return private_specs(QUICKSTART, tmp_path / "quickstart")


@pytest.fixture
def multi_org(tmp_path: Path) -> Path:
    return private_specs(MULTI_ORG, tmp_path / "multi-org")


@pytest.fixture
def postgres_url_2() -> Iterator[str]:
    """A second fresh database on the same PostgreSQL server (dropped afterwards)."""
    import uuid

    import psycopg

    from tests.conftest import POSTGRES_ADMIN_URL, REQUIRE_POSTGRES, postgres_reason

    reason = postgres_reason()
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(f"CI requires PostgreSQL: {reason}")
        pytest.skip(reason)
    name = f"senderctl_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
