"""`senderctl state list | show | rm | mv` (CONTRACT.md "Operations"), on SQLite and PostgreSQL: the
records as terraform's state commands show them; rm forgets without touching Bird; mv renames a
number with its channel and assignment, so a rename in the specs buys nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Senderctl
from tests.gitops.conftest import SIGNING_KEY, Bird, converge


def rename_alice(specs: Path) -> None:
    for name in ("numbers.yaml", "webhooks.yaml"):
        path = specs / name
        path.write_text(path.read_text().replace("name: alice-line", "name: alice-phone")
                        .replace("phoneNumber: alice-line", "phoneNumber: alice-phone"))


def test_list_and_show_the_records_without_secrets(specs: Path, bird: Bird, cli: Senderctl, state_url: str) -> None:
    converge(specs, bird, state_url)
    listed = cli("state", "list")
    assert listed.code == 0, listed
    addresses = listed.out.split()
    assert addresses == sorted(addresses)
    assert {"PhoneNumber/alice-line", "Channel/alice-line", "Assignment/alice-line", "Brand/acme"} <= set(addresses)
    as_json = json.loads(cli("state", "list", "-o", "json").out)
    assert {r["address"] for r in as_json} == set(addresses)
    assert all(r["status"] == "Ready" for r in as_json)

    shown = cli("state", "show", "PhoneNumber/alice-line")
    assert shown.code == 0 and "birdId" in shown.out and "data.number" in shown.out, shown
    hook = json.loads(cli("state", "show", "WebhookSubscription/inbound-sms-alice", "-o", "json").out)
    assert hook["kind"] == "WebhookSubscription" and hook["birdId"]
    everything = "".join(cli("state", "show", a, "-o", o).out for a in addresses for o in ("text", "json"))
    assert SIGNING_KEY not in everything and "emulator-key" not in everything

    missing = cli("state", "show", "PhoneNumber/nobody")
    assert missing.code == 1 and "PhoneNumber/nobody is not in the state" in missing.err, missing
    assert "state list" in missing.err


def test_mv_renames_a_number_with_its_channel_and_user_and_buys_nothing(specs: Path, bird: Bird, cli: Senderctl,
                                                                        state_url: str) -> None:
    converge(specs, bird, state_url)
    before = bird.state()
    rename_alice(specs)
    moved = cli("state", "mv", "PhoneNumber/alice-line", "PhoneNumber/alice-phone")
    assert moved.code == 0, moved
    assert "Moved Channel/alice-line to Channel/alice-phone" in moved.out
    assert "Moved Assignment/alice-line to Assignment/alice-phone" in moved.out

    bird.zero_requests()
    planned = cli("plan", str(specs), "-o", "json", "--detailed-exitcode")
    assert planned.code == 0, planned  # nothing to do: the records answer to the new names
    assert json.loads(planned.out)["changes"] == []
    assert bird.writes() == {}
    assert len(bird.state()["numbers"]) == len(before["numbers"])
    assert len(bird.state()["connectors"]) == len(before["connectors"])
    number = json.loads(cli("state", "show", "PhoneNumber/alice-phone", "-o", "json").out)["data"]["number"]
    mine = cli("numbers", "mine", "--org", "acme", "--user", "alice@acme.example", "-o", "json")
    assert mine.code == 0 and json.loads(mine.out)["number"] == number, mine  # alice keeps her number
    assert json.loads(cli("state", "show", "Channel/alice-phone", "-o", "json").out)["data"]["numberAddress"] == \
        "PhoneNumber/alice-phone"

    # Refusals: the target exists, the source does not, the kind changes.
    taken = cli("state", "mv", "PhoneNumber/alice-phone", "PhoneNumber/bob-line")
    assert taken.code == 1 and "PhoneNumber/bob-line already exists in the state" in taken.err, taken
    gone = cli("state", "mv", "PhoneNumber/alice-line", "PhoneNumber/x")
    assert gone.code == 1 and "PhoneNumber/alice-line is not in the state" in gone.err, gone
    kind = cli("state", "mv", "PhoneNumber/alice-phone", "Brand/alice-phone")
    assert kind.code == 1 and "keeps its kind" in kind.err, kind
    assert "PhoneNumber/alice-phone" in cli("state", "list").out.split()


def test_rm_forgets_without_touching_bird(specs: Path, bird: Bird, cli: Senderctl, state_url: str) -> None:
    converge(specs, bird, state_url)
    before = bird.state()
    bird.zero_requests()
    removed = cli("state", "rm", "PhoneNumber/bob-line")
    assert removed.code == 0, removed
    assert "Removed PhoneNumber/bob-line" in removed.out and "Removed Channel/bob-line" in removed.out
    assert "Bird was not touched" in removed.out
    assert bird.request_counts()["total"] == 0
    assert bird.state()["numbers"] == before["numbers"] and bird.state()["connectors"] == before["connectors"]
    left = cli("state", "list").out.split()
    assert "PhoneNumber/bob-line" not in left and "Channel/bob-line" not in left and "PhoneNumber/alice-line" in left
    again = cli("state", "rm", "PhoneNumber/bob-line")
    assert again.code == 1 and "is not in the state" in again.err, again
    bad = cli("state", "rm", "not-an-address")
    assert bad.code == 1 and "is not an address" in bad.err, bad
