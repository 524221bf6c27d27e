"""Two daemon replicas while their PostgreSQL server restarts (a server of the test's own: see
tests/private_postgres.py). The server goes down mid-apply long enough for every lease to lapse, and comes
back: no Bird write arrives from a holder after its epoch moved on, nothing is bought twice, and the
replicas take their organizations again and finish the work.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.daemon.conftest import wait_until
from tests.daemon.test_fencing import (
    LEASE_TTL,
    ORGANIZATIONS,
    add_numbers,
    check_fenced,
    converged,
    fenced_emulator,  # noqa: F401 (a fixture)
    owned,
    specs,
    writes_by,
)
from tests.private_postgres import PrivateServer, private_postgres

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def restartable() -> Iterator[PrivateServer]:
    with private_postgres() as server:
        yield server


def test_replicas_survive_a_database_restart_mid_apply_fenced(tmp_path, daemons, restartable, fenced_emulator):  # noqa: F811
    emulator = fenced_emulator
    state_url = restartable.url
    spec_dir = specs(tmp_path)
    group = [daemons(spec_dir, state_url, emulator.url, extra=("--lease-ttl", LEASE_TTL)) for _ in range(2)]
    for d in group:
        d.wait_healthy()
    wait_until(lambda: all(len(owned(d) or []) == ORGANIZATIONS // 2 for d in group), 60, "an even split")
    add_numbers(spec_dir)
    writer = wait_until(lambda: next((d for d in group if writes_by(emulator, d) >= 2), None), 60,
                        "a replica's first Bird writes")

    restartable.stop()
    try:
        # Down until both replicas have let their leases lapse (their local deadlines passed).
        wait_until(lambda: all(d.role() == "standby" for d in group), 60, "both replicas to stand down")
    finally:
        restartable.start()

    wait_until(lambda: sum(len(owned(d) or []) for d in group) == ORGANIZATIONS, 60,
               "the replicas to take every organization again")
    wait_until(lambda: converged(emulator, state_url), 120, "the work finished after the restart")
    check_fenced(emulator, state_url, writer.proc.pid)
    assert all(d.alive() for d in group)
