"""Each safety rail through the real CLI: the refusal (plan exit 3, apply exit 3, nothing written)
and the flag that lifts it; protected numbers are never archived; Orphan forgets without a Bird call."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tests.gitops.conftest import QUICKSTART, Bird, Senderctl, changes_of, converge, setup_apply

NUMBER = """---
apiVersion: senderctl/v1
kind: PhoneNumber
metadata: {{name: {name}}}
spec:
  workspace: acme-main
  select: {{country: US, type: local}}
  deletionPolicy: {policy}
  protected: {protected}
"""

WEBHOOK = """---
apiVersion: senderctl/v1
kind: WebhookSubscription
metadata: {{name: hook-{i:02d}}}
spec:
  workspace: acme-main
  service: channels
  event: sms.inbound
  url: {url}
  signingKey: {{fromEnv: SENDERCTL_DEMO_SIGNING_KEY}}
  eventFilters: [{{key: channelId, value: channel-{i:02d}}}]  # Bird: five per filter combination
"""


def organization_only(tmp_path: Path) -> Path:
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(QUICKSTART / "organization.yaml", specs)
    return specs


def recorded_number(state_url: str, address: str) -> str:
    from controller.state import StateStore

    store = StateStore.open(state_url)
    try:
        return store.records()[address].data["number"]
    finally:
        store.close()


def owned(bird: Bird) -> set[str]:
    return {n["number"] for n in bird.state()["numbers"]}


def archived(state_url: str) -> list[str]:
    """Archived workspace numbers, read from the state in process (the CLI view has its own tests)."""
    from controller import tenant
    from controller.state import StateStore

    store = StateStore.open(state_url)
    try:
        return sorted(tenant.snapshot(store).archived_numbers)
    finally:
        store.close()


def test_archive_needs_allow_archive_and_protected_numbers_are_never_archived(
        bird: Bird, sqlite_senderctl: Senderctl, sqlite_url: str, tmp_path: Path) -> None:
    specs = organization_only(tmp_path)
    line = specs / "line.yaml"
    line.write_text(NUMBER.format(name="line", policy="Archive", protected="false"))
    setup_apply(specs, bird, sqlite_url)
    (number,) = owned(bird)

    line.unlink()
    bird.zero_requests()
    saved = tmp_path / "plan.json"
    plan = sqlite_senderctl("plan", str(specs), "-o", "json", "--out", str(saved))
    assert plan.returncode == 3, plan.stdout + plan.stderr
    refusal = json.loads(plan.stdout)["refusals"]
    assert [(r["address"], r["flag"]) for r in refusal] == [("PhoneNumber/line", "--allow-archive")]
    refused = sqlite_senderctl("apply", "--plan", str(saved), "--force")  # --force is not the flag
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "PhoneNumber/line" in refused.stderr and "--allow-archive" in refused.stderr
    assert bird.writes() == {} and archived(sqlite_url) == []

    done = sqlite_senderctl("apply", "--plan", str(saved), "--allow-archive")  # CI: a label grants the flag
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✓ archive PhoneNumber/line" in done.stdout
    assert archived(sqlite_url) == [number]

    # protected: true (the default) is never archived, whatever the flags.
    kept = specs / "kept.yaml"
    kept.write_text(NUMBER.format(name="kept", policy="Archive", protected="true"))
    setup_apply(specs, bird, sqlite_url)
    kept_number = recorded_number(sqlite_url, "PhoneNumber/kept")
    kept.unlink()
    plan, both_flags = (sqlite_senderctl("plan", str(specs)),
                        sqlite_senderctl("apply", str(specs), "--auto-approve", "--allow-archive", "--force"))
    assert plan.returncode == 3, plan.stdout + plan.stderr  # refused (no flag lifts it: the specs must change)
    assert both_flags.returncode == 3, both_flags.stdout + both_flags.stderr
    assert "protected" in both_flags.stderr and "PhoneNumber/kept" in both_flags.stderr
    assert kept_number not in archived(sqlite_url)


def test_orphan_forgets_without_touching_bird(bird: Bird, sqlite_senderctl: Senderctl, sqlite_url: str,
                                              tmp_path: Path) -> None:
    specs = organization_only(tmp_path)
    line = specs / "line.yaml"
    line.write_text(NUMBER.format(name="line", policy="Orphan", protected="false"))
    setup_apply(specs, bird, sqlite_url)
    before = bird.state()

    line.unlink()
    bird.zero_requests()
    done = sqlite_senderctl("apply", str(specs), "--auto-approve")  # no flag needed to forget
    assert done.returncode == 0, done.stdout + done.stderr
    assert bird.writes() == {}, bird.writes()
    after = bird.state()
    assert after["numbers"] == before["numbers"] and after["charges"] == before["charges"]
    assert archived(sqlite_url) == []
    # Forgotten: the next plan neither archives it nor knows it.
    again = sqlite_senderctl("plan", str(specs), "-o", "json", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "PhoneNumber/line" not in again.stdout


def test_updating_more_than_ten_percent_of_a_kind_needs_force(bird: Bird, sqlite_senderctl: Senderctl,
                                                                sqlite_url: str, tmp_path: Path) -> None:
    specs = organization_only(tmp_path)
    hooks = specs / "hooks.yaml"

    def write_hooks(moved: set[int]) -> None:
        hooks.write_text("".join(WEBHOOK.format(i=i, url=f"http://127.0.0.1:{9000 if i in moved else 8080}/hook")
                                 for i in range(12)))

    write_hooks(set())
    setup_apply(specs, bird, sqlite_url)
    assert len(bird.state()["webhookSubscriptions"]) == 12

    write_hooks({0, 1})  # 2 of 12 existing subscriptions: more than 10 %
    bird.zero_requests()
    plan = sqlite_senderctl("plan", str(specs), "-o", "json")
    assert plan.returncode == 3, plan.stdout + plan.stderr
    data = json.loads(plan.stdout)
    assert [(r["address"], r["flag"]) for r in data["refusals"]] == [("WebhookSubscription/*", "--force")]
    assert "2 of 12" in data["refusals"][0]["reason"]
    assert {a: c["action"] for a, c in changes_of(data).items()} == {
        "WebhookSubscription/hook-00": "update", "WebhookSubscription/hook-01": "update"}
    refused = sqlite_senderctl("apply", str(specs), "--auto-approve", "--allow-archive")
    assert refused.returncode == 3 and "--force" in refused.stderr, refused.stdout + refused.stderr
    assert bird.writes() == {}

    forced = sqlite_senderctl("apply", str(specs), "--auto-approve", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    urls = sorted(s["url"] for s in bird.state()["webhookSubscriptions"])
    assert urls.count("http://127.0.0.1:9000/hook") == 2 and len(urls) == 12

    write_hooks({0, 1, 2})  # one more: 1 of 12 is within the rail, no flag needed
    within = sqlite_senderctl("apply", str(specs), "--auto-approve")
    assert within.returncode == 0, within.stdout + within.stderr
    assert sorted(s["url"] for s in bird.state()["webhookSubscriptions"]).count("http://127.0.0.1:9000/hook") == 3


USER_POOL = """---
apiVersion: senderctl/v1
kind: NumberPool
metadata: {{name: users}}
spec:
  workspace: acme-main
  count: {count}
  select: {{country: US, type: local}}
  assignees: [{assignees}]
"""


def write_pool(path: Path, first: int) -> None:
    """Users first..11, one pool member each."""
    path.write_text(USER_POOL.format(count=12 - first, assignees=", ".join(f"user{i:02d}@acme.example"
                                                                            for i in range(first, 12))))


def test_unassigning_and_forgetting_more_than_ten_percent_needs_force(bird: Bird, senderctl: Senderctl,
                                                                       state_url: str, tmp_path: Path) -> None:
    """Users losing their numbers count: a pool cut from 12 to 10 members unassigns 2 users and forgets
    2 numbers, each more than 10 % of its kind."""
    specs = organization_only(tmp_path)
    org = specs / "organization.yaml"
    org.write_text(org.read_text().replace("limit: 5", "limit: 20"))
    shutil.copy(QUICKSTART / "brand.yaml", specs)  # extra numbers wait for the organization's 10DLC
    pool = specs / "pool.yaml"
    write_pool(pool, 0)
    converge(specs, bird, state_url)
    assert len(owned(bird)) == 12

    write_pool(pool, 2)
    plan = senderctl("plan", str(specs), "-o", "json")
    assert plan.returncode == 3, plan.stdout + plan.stderr
    data = json.loads(plan.stdout)
    refusals = {r["address"]: r for r in data["refusals"]}
    assert set(refusals) == {"Assignment/*", "NumberPool/*"}, data["refusals"]
    # Members shift (user02 takes member [0]): two users lose their number, counted whether their records
    # are unassigned or, handed over make-before-break, forgotten.
    assert re.search(r"(unassign|forget) 2 of 12", refusals["Assignment/*"]["reason"]), refusals
    assert "forget 2 of 12" in refusals["NumberPool/*"]["reason"]
    assert {r["flag"] for r in refusals.values()} == {"--force"}
    refused = senderctl("apply", str(specs), "--auto-approve")
    assert refused.returncode == 3 and "--force" in refused.stderr, refused.stdout + refused.stderr
    # The two numbers, and the two assignment records whose users moved to other members.
    assert sorted(senderctl.plan_json(str(specs))["forget"]) == [
        "Assignment/users[10]", "Assignment/users[11]", "NumberPool/users[10]", "NumberPool/users[11]"]

    forced = senderctl("apply", str(specs), "--auto-approve", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    write_pool(pool, 3)  # 1 of 10: within the rail
    within = senderctl("apply", str(specs), "--auto-approve")
    assert within.returncode == 0, within.stdout + within.stderr
    assert len(owned(bird)) == 12  # forgotten, never released
