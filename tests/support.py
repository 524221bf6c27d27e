"""Helpers shared by the test suites that drive a real emulator over HTTP."""

from __future__ import annotations

from typing import Any

import httpx

ACCESS_KEY = "emulator-key"  # the emulator's default world (CONTRACT.md)
ORGANIZATION = "11111111-1111-4111-8111-111111111111"
WORKSPACE = "22222222-2222-4222-8222-222222222222"


class EmulatorAdmin:
    """The emulator's admin API (/_emulator/...), and Bird's own API as a user editing Bird by hand."""

    organization = ORGANIZATION
    workspace = WORKSPACE

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)
        self.auth = {"Authorization": f"AccessKey {ACCESS_KEY}"}

    def advance(self, seconds: int) -> dict[str, Any]:
        return self.http.post("/_emulator/clock/advance", json={"seconds": seconds}).raise_for_status().json()

    def state(self) -> dict[str, Any]:
        return self.http.get("/_emulator/state").raise_for_status().json()

    def request_counts(self) -> dict[str, Any]:
        """{"total": N, "byRoute": {"GET /workspaces/{workspaceId}/numbers": n, ...}}"""
        return self.http.get("/_emulator/requests").raise_for_status().json()

    def write_routes(self) -> dict[str, int]:
        """Non-GET requests Bird received since the counts were last zeroed."""
        return {r: n for r, n in self.request_counts()["byRoute"].items() if not r.startswith("GET ")}

    def zero_requests(self) -> None:
        self.http.delete("/_emulator/requests").raise_for_status()

    def fault(self, **spec: Any) -> None:
        self.http.post("/_emulator/faults", json=spec).raise_for_status()

    def reset(self) -> None:
        self.http.delete("/_emulator/faults").raise_for_status()
        self.http.post("/_emulator/reset").raise_for_status()

    def snapshot(self, name: str) -> None:
        self.http.post("/_emulator/snapshot", json={"name": name}).raise_for_status()

    def restore(self, name: str) -> None:
        self.http.post("/_emulator/restore", json={"name": name}).raise_for_status()

    def bird(self, method: str, path: str, body: Any = None) -> httpx.Response:
        response = self.http.request(method, path, json=body, headers=self.auth)
        assert response.status_code < 300, response.text
        return response

    def close(self) -> None:
        self.http.close()


def backdate_holdings(state_url: str, days: int = 7) -> str:
    """Move every holding and assignment in the state `days` back (as if bought a week ago), so billing,
    which bills only weeks that have ended, has a week in which they were held. Returns that week."""
    from datetime import UTC, datetime, timedelta

    from sqlmodel import select

    from controller.state import StateStore
    from controller.state.tables import AssignmentRow, ProviderPhoneRow
    from controller.tenant import rules

    shift = timedelta(days=days)
    with StateStore.open(state_url) as store, store.transaction() as tx:
        for phone in tx.exec(select(ProviderPhoneRow)):
            phone.acquired_at -= shift
            phone.released_at = phone.released_at - shift if phone.released_at else None
            tx.add(phone)
        for row in tx.exec(select(AssignmentRow)):
            row.assigned_at -= shift
            row.unassigned_at = row.unassigned_at - shift if row.unassigned_at else None
            tx.add(row)
    return rules.previous_week(datetime.now(UTC))
