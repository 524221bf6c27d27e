"""One spec per Bird object, one Bird object per spec.

No two records hold one Bird id (a unique index in the state, and a plan refusal naming both specs);
adoption by natural key refuses an ambiguous match and names the Bird objects; `dump` pins each
object it writes (senderctl.io/bird-id) so that `import` adopts each by id, never a look-alike."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from controller.state import Conflict, ResourceRecord, StateStore
from tests.engine.conftest import Emulator, senderctl
from tests.engine.test_forgotten_numbers_found_again import converge, env_for
from tests.support import ORGANIZATION

PINNED = """\
---
apiVersion: senderctl/v1
kind: PhoneNumber
metadata:
  name: carol-line
spec:
  workspace: acme-main
  number: "{number}"
  assignee: carol@acme.example
"""


def records(state_url: str) -> dict[str, ResourceRecord]:
    with StateStore.open(state_url) as store:
        return store.records()


def test_a_number_pinned_by_a_second_spec_is_refused_naming_both(
        quickstart: Path, emulator: Emulator, state_url: str) -> None:
    env = env_for(emulator, state_url)
    converge(quickstart, env, emulator)
    alice = records(state_url)["PhoneNumber/alice-line"].data["number"]
    before = emulator.state()["numbers"]
    with (quickstart / "numbers.yaml").open("a") as f:
        f.write(PINNED.format(number=alice))

    for command in ("plan", "apply"):
        run = senderctl(command, str(quickstart), *(["--auto-approve"] if command == "apply" else []), env=env)
        assert run.returncode == 3, run.stdout + run.stderr
        text = " ".join((run.stdout + run.stderr).split())
        assert "PhoneNumber/alice-line and PhoneNumber/carol-line both name Bird object" in text, text
    assert "PhoneNumber/carol-line" not in records(state_url)
    assert emulator.state()["numbers"] == before


def test_the_state_holds_one_bird_id_in_one_record(state_url: str) -> None:
    with StateStore.open(state_url) as store:
        store.save_record(ResourceRecord(address="Campaign/a", kind="Campaign", bird_id="c-1", spec={}, data={}))
        with pytest.raises(Conflict, match="Campaign/a already holds Bird object c-1"):
            store.save_record(ResourceRecord(address="Campaign/b", kind="Campaign", bird_id="c-1", spec={}, data={}))
        store.settle("Campaign/b", [], ResourceRecord(address="Campaign/b", kind="Campaign", bird_id="c-1",
                                                      spec={}, data={}), handover={"Campaign/a"})  # a rename
        assert {a: r.bird_id for a, r in store.records().items()} == {"Campaign/b": "c-1"}
        with store.engine.begin() as connection:  # the index itself, below the store's check
            from sqlalchemy import text
            from sqlalchemy.exc import IntegrityError

            with pytest.raises(IntegrityError):
                connection.execute(text(
                    "INSERT INTO resources (address, kind, bird_id, spec_hash, spec, data, created_at, updated_at) "
                    "VALUES ('Campaign/c', 'Campaign', 'c-1', '', '{}', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))


def twin_campaign(specs: Path) -> None:
    """A second Campaign document with the same Bird name under the same brand (look-alikes on Bird)."""
    brand = (specs / "brand.yaml").read_text()
    campaign = brand[brand.index("kind: Campaign"):]
    (specs / "brand.yaml").write_text(brand + "---\napiVersion: senderctl/v1\n"
                                      + campaign.replace("name: acme-alerts", "name: acme-alerts-twin", 1))


def strip_annotations(directory: Path) -> None:
    for path in directory.glob("*.yaml"):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        for doc in docs:
            doc["metadata"].pop("annotations", None)
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def test_dump_pins_look_alike_campaigns_and_import_adopts_each_by_id(
        quickstart: Path, emulator: Emulator, tmp_path: Path) -> None:
    env = env_for(emulator, f"sqlite:///{tmp_path / 'first.db'}")
    twin_campaign(quickstart)
    converge(quickstart, env, emulator)
    campaigns = emulator.state()["campaigns"]
    assert len(campaigns) == 2 and len({c["name"] for c in campaigns}) == 1

    dumped = tmp_path / "dumped"
    run = senderctl("dump", "--organization", ORGANIZATION, "--out", str(dumped), "--name", "acme", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "senderctl.io/bird-id" in "".join(p.read_text() for p in dumped.glob("*.yaml"))
    keys = {}
    for path in dumped.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "WebhookSubscription":
                keys[doc["spec"]["signingKey"]["fromEnv"]] = "test-signing-key"

    fresh = {**env, **keys, "SENDERCTL_STATE": f"sqlite:///{tmp_path / 'fresh.db'}"}
    imported = senderctl("import", str(dumped), env=fresh)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    held = sorted(r.bird_id for r in records(fresh["SENDERCTL_STATE"]).values() if r.kind == "Campaign")
    assert held == sorted(c["id"] for c in campaigns)

    strip_annotations(dumped)  # without the pins, the name matches two campaigns: refused, naming them
    blind = {**fresh, "SENDERCTL_STATE": f"sqlite:///{tmp_path / 'blind.db'}"}
    refused = senderctl("plan", str(dumped), env=blind)
    text = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode == 3, text
    assert "2 Bird campaigns match" in text and all(c["id"] in text for c in campaigns), text


def test_dump_pins_look_alike_subscriptions_and_import_adopts_each_by_id(
        quickstart: Path, emulator: Emulator, tmp_path: Path) -> None:
    """Two identical subscriptions on Bird: dumped with their ids, each is adopted by its own spec; without
    the pins, one spec matches both and adoption is refused, naming both Bird ids."""
    env = env_for(emulator, f"sqlite:///{tmp_path / 'first.db'}")
    converge(quickstart, env, emulator)
    brand_status = next(s for s in emulator.state()["webhookSubscriptions"] if s["event"] == "10dlc.brand")
    twin = emulator.bird("POST", f"/organizations/{brand_status['organizationId']}/workspaces/"
                                 f"{brand_status['workspaceId']}/webhook-subscriptions",
                         {"service": "numbers", "event": "10dlc.brand", "url": brand_status["url"],
                          "signingKey": "another-key"}).json()
    twins = sorted([brand_status["id"], twin["id"]])

    dumped = tmp_path / "dumped"
    run = senderctl("dump", "--organization", ORGANIZATION, "--out", str(dumped), "--name", "acme", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    keys, pins = {}, []
    for path in dumped.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "WebhookSubscription":
                keys[doc["spec"]["signingKey"]["fromEnv"]] = "test-signing-key"
                pins.append(doc["metadata"]["annotations"]["senderctl.io/bird-id"])
    assert set(twins) <= set(pins)

    fresh = {**env, **keys, "SENDERCTL_STATE": f"sqlite:///{tmp_path / 'fresh.db'}"}
    imported = senderctl("import", str(dumped), env=fresh)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    held = sorted(r.bird_id for r in records(fresh["SENDERCTL_STATE"]).values() if r.kind == "WebhookSubscription")
    assert held == sorted(pins)

    strip_annotations(dumped)
    blind = {**fresh, "SENDERCTL_STATE": f"sqlite:///{tmp_path / 'blind.db'}"}
    refused = senderctl("plan", str(dumped), env=blind)
    text = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode == 3, text
    assert "2 Bird webhook subscriptions match" in text and all(i in text for i in twins), text
