"""Property: random sequences of spec edits and reverts never make the organization pay for more than
the specs want, never give one Bird object to two records, never give a user two numbers.

Edits: a NumberPool's count up and down, PhoneNumber documents removed and restored, renamed, their
assignees moved between them, the campaign a document or the pool links its numbers to changed (one of
two campaigns, or none); a revert undoes the last edit (as `git revert` does). Each step is applied
through the engine against the emulator until nothing changes, then:
  * the numbers Bird holds for the organization = the numbers the records hold + those knowingly kept
    (forgotten: still in the organization's pool), and there are exactly as many as the most the
    specs ever wanted (deletionPolicy Orphan keeps them; a forgotten one is adopted before any purchase);
  * every desired number has one, no Bird id is held by two records;
  * every assignee the specs declare holds exactly the number of their document, and nobody holds two;
  * every number's SMS channel on Bird links the campaign its spec wants (none when it wants none);
  * weekly billing (of the weeks the example ran in) has one row per number the organization held, none
    for a number it never held, none for the week before.

Examples: SENDERCTL_PROPERTY_EXAMPLES (default 3, to stay within the normal suite's time; CI's slow job
sets more)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller import tenant
from controller.reconcile import engine
from controller.reconcile.engine import Settings
from controller.state import StateStore
from controller.state.records import utcnow
from controller.tenant import rules
from tests.engine.conftest import QUICKSTART, SIGNING_ENV, Emulator
from tests.engine.test_apply_emulator import APPROVAL_STEPS
from tests.support import ACCESS_KEY

pytestmark = pytest.mark.slow

BASES = ("line-a", "line-b", "line-c")
USERS = ("ann@acme.example", "ben@acme.example", "cat@acme.example")
NUMBER_KINDS = ("PhoneNumber", "NumberPool")
CAMPAIGNS = ("acme-alerts", "acme-notices")
LINKS = (None, *CAMPAIGNS)

Doc = tuple[str, str | None, str | None]  # (document name, assignee, campaign it links to)
Model = tuple[int, str | None, tuple[Doc, ...]]  # (pool count, the pool's campaign, documents)

actions = st.lists(st.one_of(
    st.tuples(st.just("pool"), st.integers(0, 4)),
    st.tuples(st.just("toggle"), st.sampled_from(BASES)),
    st.tuples(st.just("rename"), st.sampled_from(BASES)),
    st.tuples(st.just("assign"), st.sampled_from(BASES), st.sampled_from((None, *USERS))),
    st.tuples(st.just("link"), st.sampled_from(BASES), st.sampled_from(LINKS)),
    st.tuples(st.just("pool-link"), st.sampled_from(LINKS)),
    st.tuples(st.just("revert")),
), min_size=1, max_size=7)


def step(model: Model, action: tuple[Any, ...]) -> Model:
    """The specs after one edit (a revert is handled by the caller)."""
    count, pool_campaign = model[0], model[1]
    docs = {name: [assignee, campaign] for name, assignee, campaign in model[2]}
    name_of = {name.removesuffix("-r"): name for name in docs}
    kind, *args = action
    if kind == "pool":
        count = args[0]
    elif kind == "pool-link":
        pool_campaign = args[0]
    elif kind == "toggle":
        base = args[0]
        if base in name_of:
            del docs[name_of[base]]
        else:
            docs[base] = [None, CAMPAIGNS[0]]
    elif kind == "rename" and args[0] in name_of:
        old = name_of[args[0]]
        docs[old + "-r" if old == args[0] else args[0]] = docs.pop(old)
    elif kind == "assign" and args[0] in name_of:
        user = args[1]
        for doc in docs.values():  # a move: the user leaves their other document
            if user is not None and doc[0] == user:
                doc[0] = None
        docs[name_of[args[0]]][0] = user
    elif kind == "link" and args[0] in name_of:
        docs[name_of[args[0]]][1] = args[1]
    return count, pool_campaign, tuple(sorted((name, a, c) for name, (a, c) in docs.items()))


def write_specs(specs: Path, model: Model) -> None:
    count, pool_campaign, docs = model
    text = ""
    if count:
        text += ("---\napiVersion: senderctl/v1\nkind: NumberPool\nmetadata: {name: pool}\nspec:\n"
                 f"  workspace: acme-main\n  count: {count}\n  select: {{country: US, type: local}}\n")
        if pool_campaign:
            text += f"  campaign: {pool_campaign}\n"
    for name, assignee, campaign in docs:
        text += ("---\napiVersion: senderctl/v1\nkind: PhoneNumber\nmetadata:\n"
                 f"  name: {name}\nspec:\n  workspace: acme-main\n  select: {{country: US, type: local}}\n")
        if assignee:
            text += f"  assignee: {assignee}\n"
        if campaign:
            text += f"  campaign: {campaign}\n"
    (specs / "numbers.yaml").write_text(text or "# no numbers\n")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, Path, Path]]:
    """An emulator whose brand and campaign are approved (10DLC active: extra numbers may be bought) and the
    state that registered them, both kept as a starting point every example restores."""
    from controller.emulator.server import running_emulator

    root = tmp_path_factory.mktemp("property")
    specs = root / "specs"
    specs.mkdir()
    (specs / "brand.yaml").write_text(with_second_campaign((QUICKSTART / "brand.yaml").read_text()))
    org = (QUICKSTART / "organization.yaml").read_text().replace("limit: 5", "limit: 20")
    (specs / "organization.yaml").write_text(org)
    state = root / "base.db"
    with running_emulator() as running:
        emulator = Emulator(running.url)
        settings_ = settings_for(emulator, state)
        for seconds in APPROVAL_STEPS:
            if seconds:
                emulator.advance(seconds)
            outcome = asyncio.run(engine.apply([str(specs)], settings_))
            assert not outcome.report.failed, [r.error for r in outcome.report.failed]
        emulator.snapshot("approved")
        yield emulator, specs, state
        emulator.http.close()


def with_second_campaign(brand: str) -> str:
    """The quick start's brand file with a second campaign (acme-notices) to move number links between."""
    campaign = brand[brand.index("kind: Campaign"):]
    second = campaign.replace("name: acme-alerts", "name: acme-notices", 1).replace(
        "name: Acme account alerts", "name: Acme account notices", 1)
    return brand + "---\napiVersion: senderctl/v1\n" + second


def settings_for(emulator: Emulator, state: Path) -> Settings:
    return Settings(state_url=f"sqlite:///{state}", bird_url=emulator.url, access_key=ACCESS_KEY,
                    environ={**os.environ, **SIGNING_ENV})


def converge(specs: Path, settings_: Settings) -> None:
    for _ in range(4):
        outcome = asyncio.run(engine.apply([str(specs)], settings_))
        assert not outcome.report.failed, [r.error for r in outcome.report.failed]
        if not asyncio.run(engine.plan([str(specs)], settings_)).plan.changes:
            return
    raise AssertionError("the specs did not converge in 4 applies")


def check(emulator: Emulator, settings_: Settings, model: Model, most: int) -> None:
    count, pool_campaign, docs = model
    bird = emulator.state()
    on_bird = Counter(n["number"] for n in bird["numbers"])
    with StateStore.open(settings_.state_url) as store:
        records = store.records()
        held = {p.number for p in tenant.held_numbers(store, "acme")}
        assigned = tenant.active_assignments(store, "acme")
    numbers = {a: r for a, r in records.items() if r.kind in NUMBER_KINDS}
    wanted = {f"NumberPool/pool[{i}]" for i in range(count)} | {f"PhoneNumber/{name}" for name, _, _ in docs}
    assert set(numbers) == wanted, (sorted(numbers), sorted(wanted))
    ids = [r.bird_id for r in records.values() if r.bird_id]
    assert len(ids) == len(set(ids)), "a Bird id held by two records"
    recorded = {r.data["number"] for r in numbers.values()}
    forgotten = held - recorded
    assert max(on_bird.values(), default=1) == 1
    assert set(on_bird) == recorded | forgotten == held, (sorted(on_bird), sorted(recorded), sorted(forgotten))
    assert len(on_bird) == most, f"Bird holds {len(on_bird)} numbers; the specs never wanted more than {most}"
    users = Counter(assigned.values())
    assert all(n == 1 for n in users.values()), users
    for name, assignee, _ in docs:
        if assignee:
            number = numbers[f"PhoneNumber/{name}"].data["number"]
            assert assigned.get(number) == assignee, (name, assignee, assigned)
    declared = {a for _, a, _ in docs if a}
    assert set(users) <= declared, (users, declared)
    check_links(bird, records, numbers, pool_campaign, docs)


def check_links(bird: dict[str, Any], records: dict[str, Any], numbers: dict[str, Any], pool_campaign: str | None,
                docs: tuple[Doc, ...]) -> None:
    """Every number's SMS channel on Bird links the campaign its spec wants, and none when it wants none."""
    campaign_ids = {name: records[f"Campaign/{name}"].bird_id for name in CAMPAIGNS}
    linked = {c["identifier"]: c["useCaseId"] for c in bird["channels"]}
    want = {address: pool_campaign for address in numbers if address.startswith("NumberPool/")}
    want |= {f"PhoneNumber/{name}": campaign for name, _, campaign in docs}
    for address, campaign in want.items():
        number = numbers[address].data["number"]
        assert linked.get(number) == (campaign_ids[campaign] if campaign else None), (address, campaign, linked)


def check_billing(store_url: str, ever_held: set[str], started: Any) -> None:
    """Bill the weeks the example ran in (as if they had ended) and the week before: one row per number the
    organization held, none for another number, none before."""
    now = utcnow()
    weeks = sorted({rules.iso_week(started), rules.iso_week(now)})
    with StateStore.open(store_url) as store:
        for week in [rules.previous_week(started), *weeks]:
            tenant.run_billing(store, week, now=now + timedelta(days=15))
        before = tenant.usage_logs(store, week=rules.previous_week(started))
        rows = [r for week in weeks for r in tenant.usage_logs(store, week=week)]
    assert before == [], before
    per_week = Counter((r["week"], r["number"]) for r in rows)
    assert max(per_week.values(), default=1) == 1, per_week
    assert {r["number"] for r in rows} == ever_held, (sorted(r["number"] for r in rows), sorted(ever_held))


@settings(max_examples=int(os.environ.get("SENDERCTL_PROPERTY_EXAMPLES", "3")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=actions)
def test_edits_and_reverts_never_buy_more_than_the_specs_ever_wanted(
        base: tuple[Emulator, Path, Path], edits: list[tuple[Any, ...]]) -> None:
    emulator, base_specs, base_state = base
    emulator.restore("approved")
    with tempfile.TemporaryDirectory() as work:
        specs = Path(work) / "specs"
        shutil.copytree(base_specs, specs)
        state = Path(work) / "state.db"
        shutil.copy(base_state, state)
        settings_ = settings_for(emulator, state)
        history: list[Model] = [(0, CAMPAIGNS[0], ())]
        most, ever_held, started = 0, set(), utcnow()
        for edit in edits:
            if edit[0] == "revert":
                if len(history) > 1:
                    history.pop()
            else:
                history.append(step(history[-1], edit))
            model = history[-1]
            write_specs(specs, model)
            converge(specs, settings_)
            most = max(most, model[0] + len(model[2]))
            check(emulator, settings_, model, most)
            ever_held |= {n["number"] for n in emulator.state()["numbers"]}
            check_billing(settings_.state_url, ever_held, started)
