"""Issue 11: no spec field is silently ignored.

Every field of every kind, enumerated from the spec models themselves (so a field added later fails
`test_the_tables_cover_every_field` until it is given a row here), is changed to another valid value
against a converged estate; the plan must then reach Bird for that document (create, update, replace,
assign, delete, with the cost where Bird charges) or refuse with a reason — never "No changes". Fields
that are senderctl's own by design are listed with what they do instead, and that is checked too.

The estate (tests/engine/every_field_world.py) is applied once through every approval step against the
emulator and observed once; each example then runs the pure planner on that world, as
`engine.compute` does, without touching Bird or the state.
"""

from __future__ import annotations

import asyncio
import dataclasses
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from controller.reconcile import engine
from controller.reconcile.desired import desired_from_specs
from controller.reconcile.engine import controls_for, specs_fingerprint
from controller.reconcile.plan import Change, Plan
from controller.reconcile.planner import Context, compute_plan, safety_rails
from controller.reconcile.scope import (
    PAUSED_ANNOTATION,
    annotations_by_document,
    document_address,
    ignored_drift,
)
from controller.resources.base import Desired, RecordView, World
from specs.models import DOCUMENT_CLASSES, Metadata
from specs.models.organization import RAIL_KINDS
from tests.engine.every_field_world import (
    ACME_SPARE,
    BASELINE,
    KEY_FILES,
    OTHER_RESELLER,
    SPARE_ORG,
    Estate,
    converged_estate,
    load_documents,
    mutated,
    yaml_text,
)

EditPath = tuple[str | int, ...]
Documents = list[dict[str, Any]]

# --- the fields, from the models ------------------------------------------------------------------


def nested_models(annotation: Any) -> Iterator[tuple[type[BaseModel], str]]:
    """The models a field holds (through Optional, Annotated and lists), with "[]" for list items."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        yield from nested_models(get_args(annotation)[0])
    elif origin in (typing.Union, types.UnionType):
        for arg in get_args(annotation):
            yield from nested_models(arg)
    elif origin is list:
        for model, suffix in nested_models(get_args(annotation)[0]):
            yield model, f"[]{suffix}"
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, ""


def field_paths(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every field of `model` and of the models nested in it, by the names the specs use."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{info.alias or name}"
        yield path, info.annotation
        for sub, suffix in nested_models(info.annotation):
            yield from field_paths(sub, f"{path}{suffix}.")


def every_field() -> dict[str, Any]:
    """"Kind path" -> annotation, for every kind. `metadata` and `spec` themselves are the document."""
    out = {}
    for kind, cls in DOCUMENT_CLASSES.items():
        for path, annotation in field_paths(cls):
            if path not in ("metadata", "spec"):
                out[f"{kind} {path}"] = annotation
    return out


def only_value(annotation: Any) -> tuple[bool, Any]:
    """(True, v) when the field's type admits exactly one value v (a one-member Literal)."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return only_value(get_args(annotation)[0])
    if origin is Literal and len(get_args(annotation)) == 1:
        return True, get_args(annotation)[0]
    return False, None


# --- how each field is changed to another valid value --------------------------------------------


@dataclass(frozen=True)
class Mutation:
    """Set `path` of document `address` to one of `values` (None removes the field). `also`: edits the
    specs' own rules require with it (a rename updates the references to the old name)."""

    address: str
    path: EditPath
    values: tuple[Any, ...]
    also: tuple[tuple[str, EditPath, Any], ...] = ()

    def apply(self, documents: Documents, value: Any) -> Documents:
        out = mutated(documents, self.address, self.path, value)
        for address, path, other in self.also:
            out = mutated(out, address, path, other)
        return out

    def owners(self, value: Any) -> set[str]:
        """The spec documents whose resources must show the change (a renamed one under both names)."""
        if self.path == ("metadata", "name"):
            return {self.address, f"{self.address.split('/')[0]}/{value}"}
        return {self.address}


def m(address: str, path: str, *values: Any, also: tuple[tuple[str, EditPath, Any], ...] = ()) -> Mutation:
    return Mutation(address, tuple(int(p) if p.isdigit() else p for p in path.split(".")), values, also)


ORG, GLOBEX = "Organization/acme", "Organization/globex"
MAIN, SECOND = "Workspace/acme-main", "Workspace/acme-second"
BRAND, LABS = "Brand/acme", "Brand/acme-labs"
ALERTS, MIXED = "Campaign/acme-alerts", "Campaign/acme-mixed"
ALICE, BOB, SPARE = "PhoneNumber/alice-line", "PhoneNumber/bob-line", "PhoneNumber/spare-line"
TEAM, RESERVE = "NumberPool/team", "NumberPool/reserve"
INBOUND, BRAND_EVENTS = "WebhookSubscription/inbound-alice", "WebhookSubscription/brand-status"
LONG = "Acme sends account notifications to its customers: sign-in alerts, password changes and more."
FLOW = "Customers opt in at https://acme.example/alerts and confirm their number by replying YES to us."

MUTATIONS: dict[str, Mutation] = {
    # Organization: the tenant configuration senderctl keeps for it (seed 000).
    "Organization metadata.name": m(GLOBEX, "metadata.name", "globex-corp",
                                    also=(("Workspace/globex-main", ("spec", "organization"), "globex-corp"),)),
    "Organization spec.birdOrganizationId": m(ORG, "spec.birdOrganizationId", SPARE_ORG),
    "Organization spec.multiSmsNumbers": m(ORG, "spec.multiSmsNumbers",
                                           {"enabled": True, "limit": 20, "weeklyPrice": "1.99"}),
    "Organization spec.multiSmsNumbers.enabled": m(GLOBEX, "spec.multiSmsNumbers.enabled", True),
    "Organization spec.multiSmsNumbers.limit": m(ORG, "spec.multiSmsNumbers.limit", 6, 20),
    "Organization spec.multiSmsNumbers.weeklyPrice": m(ORG, "spec.multiSmsNumbers.weeklyPrice", "1.99", "0"),
    "Organization spec.multiSmsNumbers.currency": m(ORG, "spec.multiSmsNumbers.currency", "EUR", "GBP"),
    # Workspace
    "Workspace metadata.name": m(SECOND, "metadata.name", "acme-extra"),
    "Workspace spec.organization": m(SECOND, "spec.organization", "globex"),
    "Workspace spec.birdWorkspaceId": m(MAIN, "spec.birdWorkspaceId", ACME_SPARE),
    # Brand (approved, vetted) and its vetting
    "Brand metadata.name": m(LABS, "metadata.name", "acme-lab"),
    "Brand spec.workspace": m(LABS, "spec.workspace", "acme-second"),
    "Brand spec.entityType": m(BRAND, "spec.entityType", "NON_PROFIT", "GOVERNMENT"),
    "Brand spec.firstName": m(BRAND, "spec.firstName", "Grace", None),
    "Brand spec.lastName": m(BRAND, "spec.lastName", "Hopper", None),
    "Brand spec.displayName": m(BRAND, "spec.displayName", "Acme Corp"),
    "Brand spec.companyName": m(BRAND, "spec.companyName", "Acme Corporation"),
    "Brand spec.ein": m(BRAND, "spec.ein", "111111111", "12-3456780"),
    "Brand spec.einIssuingCountry": m(BRAND, "spec.einIssuingCountry", "CA"),
    "Brand spec.phone": m(BRAND, "spec.phone", "+12025550199"),
    "Brand spec.street": m(BRAND, "spec.street", "1 Main St"),
    "Brand spec.city": m(BRAND, "spec.city", "Boston"),
    "Brand spec.state": m(BRAND, "spec.state", "MA"),
    "Brand spec.postalCode": m(BRAND, "spec.postalCode", "02110"),
    "Brand spec.country": m(BRAND, "spec.country", "CA"),
    "Brand spec.email": m(BRAND, "spec.email", "legal@acme.example"),
    "Brand spec.stockSymbol": m(BRAND, "spec.stockSymbol", "ACME"),
    "Brand spec.stockExchange": m(BRAND, "spec.stockExchange", "NASDAQ", "NYSE"),
    "Brand spec.website": m(BRAND, "spec.website", "https://www.acme.example"),
    "Brand spec.vertical": m(BRAND, "spec.vertical", "RETAIL", None),
    "Brand spec.altBusinessId": m(BRAND, "spec.altBusinessId", "987654321", None),
    "Brand spec.altBusinessIdType": m(BRAND, "spec.altBusinessIdType", "LEI", "GIIN"),
    "Brand spec.businessContactEmail": m(BRAND, "spec.businessContactEmail", "cfo@acme.example", None),
    "Brand spec.vetting": m(LABS, "spec.vetting", {"class": "STANDARD", "vettingProviderId": "AEGIS"},
                            {"class": "STANDARD"}),
    "Brand spec.vetting.vettingProviderId": m(BRAND, "spec.vetting.vettingProviderId", None),
    # Campaign (approved)
    "Campaign metadata.name": m(MIXED, "metadata.name", "acme-blend",
                                also=((TEAM, ("spec", "campaign"), "acme-blend"),)),
    "Campaign spec.brand": m(ALERTS, "spec.brand", "acme-labs"),
    "Campaign spec.reseller": m(MIXED, "spec.reseller", OTHER_RESELLER, None),
    "Campaign spec.name": m(ALERTS, "spec.name", "Acme alerts v2"),
    "Campaign spec.usecase": m(ALERTS, "spec.usecase", "2FA", "CUSTOMER_CARE"),
    "Campaign spec.subUsecases": m(MIXED, "spec.subUsecases", ["2FA", "MARKETING"],
                                   ["2FA", "ACCOUNT_NOTIFICATION", "FRAUD_ALERT"]),
    "Campaign spec.description": m(ALERTS, "spec.description", LONG),
    "Campaign spec.embeddedLink": m(ALERTS, "spec.embeddedLink", False, None),
    "Campaign spec.embeddedPhone": m(ALERTS, "spec.embeddedPhone", False, None),
    "Campaign spec.numberPool": m(ALERTS, "spec.numberPool", True),
    "Campaign spec.ageGated": m(ALERTS, "spec.ageGated", True),
    "Campaign spec.directLending": m(ALERTS, "spec.directLending", True),
    "Campaign spec.subscriberOptin": m(ALERTS, "spec.subscriberOptin", False),
    "Campaign spec.subscriberOptout": m(ALERTS, "spec.subscriberOptout", False),
    "Campaign spec.subscriberHelp": m(ALERTS, "spec.subscriberHelp", False),
    "Campaign spec.samples": m(ALERTS, "spec.samples", ["Acme: sign-in code 123456. Visit acme.example or call 202-555-0143. "
                                                        "Reply STOP to opt out."]),
    "Campaign spec.attachmentUrls": m(MIXED, "spec.attachmentUrls", ["https://acme.example/other.png"], None),
    "Campaign spec.messageFlow": m(ALERTS, "spec.messageFlow", FLOW),
    "Campaign spec.helpMessage": m(ALERTS, "spec.helpMessage", "Acme: reply STOP to stop, or mail help@acme.example"),
    "Campaign spec.helpKeywords": m(ALERTS, "spec.helpKeywords", "HELP, SUPPORT", None),
    "Campaign spec.optoutKeywords": m(ALERTS, "spec.optoutKeywords", "STOP, END", None),
    "Campaign spec.optinKeywords": m(ALERTS, "spec.optinKeywords", "START, JOIN", None),
    "Campaign spec.optinMessage": m(ALERTS, "spec.optinMessage", "Acme: alerts are on. Reply STOP to end.", None),
    "Campaign spec.optoutMessage": m(ALERTS, "spec.optoutMessage", "Acme: alerts are off for good now.", None),
    # PhoneNumber (and the SMS channel and assignment it declares)
    "PhoneNumber metadata.name": m(BOB, "metadata.name", "bob-phone"),
    "PhoneNumber spec.workspace": m(SPARE, "spec.workspace", "acme-second"),
    "PhoneNumber spec.select": m(SPARE, "spec.select", {"country": "US", "type": "tollfree"},
                                 {"country": "CA", "type": "local"}),
    "PhoneNumber spec.select.country": m(SPARE, "spec.select.country", "CA", "GB"),
    "PhoneNumber spec.select.type": m(SPARE, "spec.select.type", "mobile", "tollfree"),
    "PhoneNumber spec.select.prefix": m(ALICE, "spec.select.prefix", "+1415", "+1212"),
    "PhoneNumber spec.number": m(SPARE, "spec.number", "+12025550111", "+14155550123",
                                 also=((SPARE, ("spec", "select"), None),)),
    "PhoneNumber spec.campaign": m(BOB, "spec.campaign", "acme-mixed", None),
    "PhoneNumber spec.assignee": m(BOB, "spec.assignee", "dave@acme.example", None),
    "PhoneNumber spec.channelMessageType": m(ALICE, "spec.channelMessageType", "promotional", "conversational"),
    "PhoneNumber spec.channelName": m(BOB, "spec.channelName", "Bob (Acme alerts)", "Bob"),
    # NumberPool
    "NumberPool metadata.name": m(RESERVE, "metadata.name", "spares"),
    "NumberPool spec.workspace": m(RESERVE, "spec.workspace", "acme-second"),
    "NumberPool spec.count": m(TEAM, "spec.count", 3, 1),
    "NumberPool spec.select": m(RESERVE, "spec.select", {"country": "US", "type": "mobile"},
                                {"country": "CA", "type": "local"}),
    "NumberPool spec.select.country": m(RESERVE, "spec.select.country", "CA"),
    "NumberPool spec.select.type": m(RESERVE, "spec.select.type", "tollfree"),
    "NumberPool spec.select.prefix": m(TEAM, "spec.select.prefix", "+1415"),
    "NumberPool spec.campaign": m(TEAM, "spec.campaign", "acme-alerts", None),
    "NumberPool spec.assignees": m(TEAM, "spec.assignees", ["dave@acme.example"],
                                   ["carol@acme.example", "erin@acme.example"], None),
    "NumberPool spec.channelMessageType": m(TEAM, "spec.channelMessageType", "promotional"),
    # WebhookSubscription
    "WebhookSubscription metadata.name": m(BRAND_EVENTS, "metadata.name", "brand-events"),
    "WebhookSubscription spec.workspace": m(BRAND_EVENTS, "spec.workspace", "acme-second"),
    # The service follows from the event (a rule of the specs): they change together.
    "WebhookSubscription spec.service": m(BRAND_EVENTS, "spec.service", "channels",
                                          also=((BRAND_EVENTS, ("spec", "event"), "channel.updated"),)),
    "WebhookSubscription spec.event": m(INBOUND, "spec.event", "sms.outbound", "sms.interaction"),
    "WebhookSubscription spec.url": m(INBOUND, "spec.url", "https://hooks.acme.example/bird"),
    "WebhookSubscription spec.signingKey": m(INBOUND, "spec.signingKey", {"fromEnv": "KEY_B"},
                                             {"fromFile": "key-b.txt"}),
    "WebhookSubscription spec.signingKey.fromEnv": m(INBOUND, "spec.signingKey.fromEnv", "KEY_B"),
    "WebhookSubscription spec.signingKey.fromFile": m(BRAND_EVENTS, "spec.signingKey.fromFile", "key-b.txt"),
    "WebhookSubscription spec.eventFilters": m(INBOUND, "spec.eventFilters", [],
                                               [{"key": "channelId", "phoneNumber": "bob-line"}]),
    "WebhookSubscription spec.eventFilters[].key": m(INBOUND, "spec.eventFilters.1.key", "status"),
    "WebhookSubscription spec.eventFilters[].value": m(INBOUND, "spec.eventFilters.1.value", "outgoing"),
    "WebhookSubscription spec.eventFilters[].phoneNumber": m(INBOUND, "spec.eventFilters.0.phoneNumber", "bob-line"),
}

# A document of each kind, for the fields every kind has.
ONE_OF_EACH = {"Organization": ORG, "Workspace": MAIN, "Brand": BRAND, "Campaign": ALERTS, "PhoneNumber": ALICE,
               "NumberPool": TEAM, "WebhookSubscription": INBOUND}


# --- planning a variant of the estate, purely ------------------------------------------------------


def plan_for(estate: Estate, documents: Documents, world: World | None = None) -> tuple[Plan, list[Desired]]:
    """What `senderctl plan` says for `documents`, computed as engine.compute does, on the observed world."""
    specs = load_documents(documents, estate.spec_dir)
    desired = desired_from_specs(specs, estate.settings.environ)
    world = world or estate.world
    controls = controls_for(specs, desired, world, None)
    return compute_plan(desired, world, specs_fingerprint=specs_fingerprint(desired), controls=controls), desired


def owner_of(address: str, desired: list[Desired], world: World) -> str:
    """The spec document a plan entry belongs to (a Channel to its PhoneNumber, a Vetting to its Brand)."""
    for d in desired:
        if d.address == address:
            return document_address(d)
    record = world.records.get(address)
    kind, name = address.split("/", 1)
    if kind == "Vetting":
        return f"Brand/{name}"
    if record is not None and record.data.get("numberAddress"):
        address = record.data["numberAddress"]
    return address.split("[", 1)[0]


CHARGED_CREATES = frozenset({"Brand", "Vetting", "Campaign", "PhoneNumber", "NumberPool"})


def effects(plan: Plan, owners: set[str], desired: list[Desired], world: World) -> list[str]:
    """What the plan does about the owners' resources: changes, refusals, and what it forgets (with the
    reason it leaves Bird as it is). Fails on an effect without a reason, or a purchase without its cost."""
    found = []
    for change in plan.changes:
        if owner_of(change.address, desired, world) in owners:
            assert change.reason, change
            if change.action == "create" and change.kind in CHARGED_CREATES:
                assert change.cost is not None and not change.cost.is_zero, f"{change.address}: no cost shown"
            found.append(f"{change.action} {change.address}: {change.reason}")
    for refusal in plan.refusals:
        if owner_of(refusal.address, desired, world) in owners:
            assert refusal.reason, refusal
            found.append(f"refused {refusal.address}: {refusal.reason}")
    for address in plan.forget:
        if owner_of(address, desired, world) in owners:
            assert plan.keeps.get(address), address
            found.append(f"forget {address}: {plan.keeps[address]}")
    return found


# --- fixtures -------------------------------------------------------------------------------------


def number_variants() -> list[Documents]:
    """The mutations that add numbers: the one observation searches Bird's stock for them too."""
    out = []
    for mutation in MUTATIONS.values():
        if mutation.address.split("/")[0] in ("PhoneNumber", "NumberPool"):
            out += [mutation.apply(BASELINE, value) for value in mutation.values]
    return out


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    with converged_estate(tmp_path_factory.mktemp("every-field"), number_variants()) as converged:
        yield converged


HYPOTHESIS = settings(max_examples=4, derandomize=True, database=None, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])


# --- the tests ------------------------------------------------------------------------------------


def test_the_tables_cover_every_field() -> None:
    """A field added to a model without a row here fails this test."""
    fields = every_field()
    covered = [set(MUTATIONS), set(LOCAL), set(SINGLE_VALUED)]
    assert set().union(*covered) == set(fields), {
        "no row": sorted(set(fields) - set().union(*covered)), "no such field": sorted(set().union(*covered) - set(fields))}
    assert sum(map(len, covered)) == len(fields), "a field has two rows"


@pytest.mark.parametrize("path", sorted(k for k, v in every_field().items() if only_value(v)[0]))
def test_single_valued_fields_have_no_other_value(path: str) -> None:
    """apiVersion, kind, vetting class and termsAndConditions admit one value: there is nothing to change."""
    assert path in SINGLE_VALUED
    assert only_value(every_field()[path]) == (True, SINGLE_VALUED[path])


def test_the_converged_baseline_plans_nothing(estate: Estate) -> None:
    plan, _ = plan_for(estate, BASELINE)
    assert not (plan.changes or plan.refusals or plan.forget or plan.waiting or plan.failed or plan.paused), (
        [c.address for c in plan.changes], plan.refusals, plan.forget, plan.waiting, plan.failed)
    assert len(plan.ready) > len(BASELINE)  # the channels, assignments and vettings too


@pytest.mark.parametrize("path", sorted(MUTATIONS))
@HYPOTHESIS
@given(data=st.data())
def test_changing_a_field_changes_the_plan(estate: Estate, path: str, data: st.DataObject) -> None:
    mutation = MUTATIONS[path]
    value = data.draw(st.sampled_from(mutation.values), label=path)
    documents = mutation.apply(BASELINE, value)
    assert documents != BASELINE, "not a change"
    plan, desired = plan_for(estate, documents)
    found = effects(plan, mutation.owners(value), desired, estate.world)
    assert found, f"{path} = {value!r}: No changes for {sorted(mutation.owners(value))}"


# --- fields senderctl keeps for itself, and what they do instead -------------------------------------


@dataclass(frozen=True)
class Local:
    """A field that by design changes nothing on Bird: `why`, and `check` proves it does what it says."""

    why: str
    address: str
    path: EditPath
    values: tuple[Any, ...]
    check: Callable[[Estate, Local, Any], None]


def assert_nothing_planned(estate: Estate, local: Local, value: Any) -> None:
    plan, _ = plan_for(estate, mutated(BASELINE, local.address, local.path, value))
    baseline, _ = plan_for(estate, BASELINE)
    assert plan.fingerprint == baseline.fingerprint, "a label or note changed the plan"
    assert not (plan.changes or plan.refusals or plan.forget or plan.paused)


def check_annotation(estate: Estate, local: Local, value: dict[str, str] | None) -> None:
    documents = mutated(BASELINE, local.address, local.path, value)
    notes = (value or {})
    if PAUSED_ANNOTATION in notes:
        plan, desired = plan_for(estate, documents)
        own = {d.address for d in desired if document_address(d) == local.address}
        assert own and own <= set(plan.paused), plan.paused
    elif "senderctl.io/ignore-drift" in notes:
        specs = load_documents(documents, estate.spec_dir)
        desired = desired_from_specs(specs, estate.settings.environ)
        wanted = {part.strip() for part in notes["senderctl.io/ignore-drift"].split(",")}
        mine = [d for d in desired if document_address(d) == local.address]
        assert mine and all(ignored_drift(d, annotations_by_document(specs.documents)) == wanted for d in mine)
    else:
        assert_nothing_planned(estate, local, value)


def check_removal_policy(estate: Estate, local: Local, value: Any) -> None:
    """The plan records the new policy (state only), and removing the document then does what it says."""
    documents = mutated(BASELINE, local.address, local.path, value)
    plan, desired = plan_for(estate, documents)
    numbers = {d.address for d in desired if d.kind in ("PhoneNumber", "NumberPool")
               and document_address(d) == local.address}
    updates = [c for c in plan.changes if c.address in numbers]
    assert {c.address for c in updates} == numbers and all(c.action == "update" for c in updates), plan.changes
    spec = next(d for d in documents if address_of(d) == local.address)["spec"]
    removed, _ = plan_for(estate, [d for d in documents if address_of(d) != local.address],
                          world_after(estate.world, updates))
    expect_removal(removed, numbers, spec.get("deletionPolicy", "Orphan"), spec.get("protected", True))


def address_of(document: dict[str, Any]) -> str:
    return f"{document['kind']}/{document['metadata']['name']}"


def world_after(world: World, updates: list[Change]) -> World:
    """The world once the record-only updates are applied: the state remembers the new spec."""
    records = dict(world.records)
    for change in updates:
        records[change.address] = dataclasses.replace(records[change.address], spec=change.payload["spec"])
    return dataclasses.replace(world, records=records)


def expect_removal(plan: Plan, numbers: set[str], policy: str, protected: bool) -> None:
    archived = {c.address for c in plan.changes if c.action == "archive"}
    refused = {r.address: r.reason for r in plan.refusals if r.address in numbers}
    if policy == "Orphan":
        assert numbers <= set(plan.forget) and not archived & numbers, (plan.forget, archived)
    elif protected:
        assert numbers <= set(refused) and all("protected" in refused[a] for a in numbers), refused
    else:
        assert numbers <= archived and all(r.flag == "--allow-archive" for r in plan.refusals if r.address in numbers)


def check_change_share(estate: Estate, local: Local, value: Any) -> None:
    """The planner's safety rail reads the share: one change more than it allows needs --force."""
    documents = mutated(BASELINE, local.address, local.path, value)
    desired = desired_from_specs(load_documents(documents, estate.spec_dir), estate.settings.environ)
    organization = next(d for d in desired if d.address == local.address)
    shares = organization.context["maxChangeShare"]
    for kind in RAIL_KINDS:
        share = Decimal(shares.get(kind) or shares.get("default") or "0.1")
        allowed = min(int(share * 10), 10)
        refused_above = allowed == 10 or rail_refuses(organization, kind, allowed + 1)
        assert refused_above and not rail_refuses(organization, kind, allowed), (kind, share)


def rail_refuses(organization: Desired, kind: str, changed: int) -> bool:
    """Ten existing `kind` resources of the organization, `changed` of them updated in one plan."""
    addresses = [f"{kind}/r{i}" for i in range(10)]
    desired = {a: Desired(a, kind, organization.organization, {}) for a in addresses}
    desired[organization.address] = organization
    world = World(records={a: RecordView(a, kind, f"id-{a}", None, {}, {}) for a in addresses})
    changes = [Change(a, "update", "spec differs") for a in addresses[:changed]]
    return bool(safety_rails(changes, world, Context(world=world, desired_by_address=desired)))


def local(why: str, address: str, path: str, values: tuple[Any, ...], check: Callable[[Estate, Local, Any], None]
          ) -> Local:
    return Local(why, address, tuple(path.split(".")), values, check)


LABELS = ("free-form labels for people and tools (Kubernetes-style); senderctl sends them nowhere and "
          "plans nothing from them")
ANNOTATIONS = (f"notes for people and tools; senderctl reads two: {PAUSED_ANNOTATION} pauses the document's "
               "resources in the plan, senderctl.io/ignore-drift silences drift findings of the named fields")
NOTES = ({"note": "ported from the old stack"}, {PAUSED_ANNOTATION: "true"}, {"senderctl.io/ignore-drift": "url"})
REMOVAL = ("what removing the document does to its numbers (Orphan forgets them, Archive archives them unless "
           "protected): recorded in the state, read at removal; Bird holds no such setting")
SHARE = ("the planner's safety rail (how much of a kind one plan may change without --force); Bird holds no such "
         "setting")

LOCAL: dict[str, Local] = {
    **{f"{kind} metadata.labels": local(LABELS, address, "metadata.labels", ({"team": "sms"}, {"team": "sms", "tier": "1"}),
                                        assert_nothing_planned) for kind, address in ONE_OF_EACH.items()},
    **{f"{kind} metadata.annotations": local(ANNOTATIONS, address, "metadata.annotations", NOTES, check_annotation)
       for kind, address in ONE_OF_EACH.items()},
    "PhoneNumber spec.deletionPolicy": local(REMOVAL, BOB, "spec.deletionPolicy", ("Archive",), check_removal_policy),
    "PhoneNumber spec.protected": local(REMOVAL, SPARE, "spec.protected", (False,), check_removal_policy),
    "NumberPool spec.deletionPolicy": local(REMOVAL, RESERVE, "spec.deletionPolicy", ("Orphan",),
                                            check_removal_policy),
    "NumberPool spec.protected": local(REMOVAL, RESERVE, "spec.protected", (False,), check_removal_policy),
    "Organization spec.safety": local(SHARE, ORG, "spec.safety", ({"maxChangeShare": "0.5"}, None),
                                      check_change_share),
    "Organization spec.safety.maxChangeShare": local(SHARE, ORG, "spec.safety.maxChangeShare",
                                                     ("0.3", {"default": "0.5", "Brand": "0.9"}), check_change_share),
    **{f"Organization spec.safety.maxChangeShare.{kind}": local(SHARE, ORG, f"spec.safety.maxChangeShare.{kind}",
                                                                ("0.3", "1"), check_change_share)
       for kind in ("default", *RAIL_KINDS)},
}

SINGLE_VALUED: dict[str, Any] = {
    **{f"{kind} apiVersion": "senderctl/v1" for kind in DOCUMENT_CLASSES},
    **{f"{kind} kind": kind for kind in DOCUMENT_CLASSES},
    "Brand spec.vetting.class": "STANDARD",
    "Campaign spec.termsAndConditions": True,
}


@pytest.mark.parametrize("path", sorted(LOCAL))
@HYPOTHESIS
@given(data=st.data())
def test_a_local_field_does_what_it_is_for(estate: Estate, path: str, data: st.DataObject) -> None:
    entry = LOCAL[path]
    value = data.draw(st.sampled_from(entry.values), label=path)
    assert entry.why and mutated(BASELINE, entry.address, entry.path, value) != BASELINE, "not a change"
    entry.check(estate, entry, value)


def test_labels_and_annotations_are_documented_as_free_form() -> None:
    described = {name: info.description or "" for name, info in Metadata.model_fields.items()}
    assert "Free-form" in described["labels"] and "Free-form" in described["annotations"]


# --- the shortcut is faithful: a few mutations planned against Bird itself agree -------------------

FAITHFUL = ("NumberPool spec.count", "Brand spec.workspace", "WebhookSubscription spec.workspace",
            "Campaign spec.attachmentUrls", "PhoneNumber spec.channelName")


@pytest.mark.parametrize("path", FAITHFUL)
def test_the_pure_plan_is_the_plan_against_bird(estate: Estate, path: str, tmp_path: Path) -> None:
    mutation = MUTATIONS[path]
    documents = mutation.apply(BASELINE, mutation.values[0])
    for name, key in KEY_FILES.items():
        (tmp_path / name).write_text(key, encoding="utf-8")
    (tmp_path / "specs.yaml").write_text(yaml_text(documents), encoding="utf-8")
    real = asyncio.run(engine.plan([str(tmp_path / "specs.yaml")], estate.settings)).plan
    pure, _ = plan_for(estate, documents)

    def view(p: Plan) -> Any:
        return (sorted((c.address, c.action, c.reason, str(c.cost)) for c in p.changes),
                sorted((r.address, r.reason) for r in p.refusals), sorted(p.forget))

    assert view(pure) == view(real)

