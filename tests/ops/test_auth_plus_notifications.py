"""The daemon notifies a PUBLIC_PROFIT brand's Authentication+ both ways: waiting on the e-mail (also when
the brand was already Waiting on its review), and Failed with Bird's reason once the link expired."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from controller.daemon.notify import condition_events
from controller.reconcile.plan import Waiting
from controller.state.records import Condition
from tests.daemon.conftest import Emulator, quickstart_copy, wait_until
from tests.daemon.conftest import daemons as daemons  # noqa: F401 - the fixture
from tests.daemon.conftest import emulator as emulator  # noqa: F401 - the fixture
from tests.ops.test_notifications import NOTIFY_KEY, Receiver, changed
from tests.ops.test_notifications import receiver as receiver  # noqa: F401 - the fixture

AUTH = "Auth+ e-mail sent to j***@acme.example on 2026-12-03, link valid until 2026-12-10 19:00 UTC"


def plan_waiting(reason: str) -> Any:
    return SimpleNamespace(ready=(), waiting=(Waiting("Brand/acme", reason),), failed=(), paused=())


def test_waiting_on_auth_plus_is_notified_although_the_brand_was_waiting_already() -> None:
    before = {"Brand/acme": Condition("Brand/acme", "Waiting", "brand acme is PENDING")}
    [item] = condition_events(before, plan_waiting(f"{AUTH}; brand acme is PENDING"), None)
    assert item["from"] == item["to"] == "Waiting" and item["reason"].startswith("Auth+ e-mail sent to j***@")
    again = {"Brand/acme": Condition("Brand/acme", "Waiting", f"{AUTH}; brand acme is PENDING")}
    assert condition_events(again, plan_waiting(AUTH), None) == []  # still waiting on it: said once
    other = {"Brand/acme": Condition("Brand/acme", "Waiting", "brand acme is PENDING")}
    assert condition_events(other, plan_waiting("brand acme is IN_REVIEW"), None) == []


def test_daemon_notifies_auth_plus_waiting_then_expired(tmp_path: Path, emulator: Emulator,  # noqa: F811
                                                        daemons: Any, receiver: Receiver) -> None:  # noqa: F811
    from tests.daemon.conftest import free_port

    port = free_port()
    specs = quickstart_copy(tmp_path / "specs", port)
    brand = specs / "brand.yaml"
    brand.write_text(brand.read_text().replace(
        "  entityType: PRIVATE_PROFIT\n", "  entityType: PUBLIC_PROFIT\n  stockSymbol: ACME\n  stockExchange: NASDAQ\n"
        "  businessContactEmail: jane.doe@acme.example\n"))
    d = daemons(specs, f"sqlite:///{tmp_path / 'state.db'}", emulator.url, port=port, resync="4s",
                extra=("--notify", f"{receiver.url}/a"), env={"SENDERCTL_NOTIFY_KEY": NOTIFY_KEY})
    d.wait_healthy()
    waiting = wait_until(lambda: next((e for e in receiver.events("/a") if e.get("address") == "Brand/acme"
                                       and e["reason"].startswith("Auth+ e-mail sent to j***@acme.example")), None),
                         60, "Brand/acme waiting on Auth+")
    assert waiting["to"] == "Waiting" and "link valid until" in waiting["reason"]

    emulator.advance(7 * 24 * 3600)
    failed = wait_until(lambda: changed(receiver, "/a", "Brand/acme", "Failed"), 60, "Brand/acme -> Failed")
    assert failed["rejection"]["code"] == "AUTH_PLUS_EXPIRED"
    assert "expired unanswered" in failed["reason"]
    # /metrics: what the brand and its campaign may send (the carriers' published tiers)
    metrics = wait_until(lambda: (lambda text: text if 'senderctl_att_messages_per_minute{address="Campaign/acme-alerts"'
                                  in text else None)(d.get("/metrics").text), 60, "the campaign's AT&T rate gauged")
    assert 'senderctl_tmobile_daily_cap{address="Brand/acme"}' in metrics
    code, _ = d.terminate()
    assert code == 0
