"""The estate test_every_field_counts mutates: every kind, every optional field set somewhere, converged
once against the emulator. Kept apart from the test so the table of mutations reads on its own."""

from __future__ import annotations

import asyncio
import copy
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.emulator.world import World as EmulatorWorld
from controller.reconcile import engine
from controller.reconcile.desired import desired_from_specs
from controller.reconcile.engine import Settings
from controller.reconcile.observe import observe
from controller.resources.base import Desired, World
from specs import SpecSet, load_text
from tests.engine.test_fresh_state_never_rebuys import converge
from tests.support import ACCESS_KEY, EmulatorAdmin

ACME_ORG = "11111111-1111-4111-8111-111111111111"
GLOBEX_ORG = "66666666-6666-4666-8666-666666666666"
SPARE_ORG = "88888888-8888-4888-8888-888888888888"
ACME_MAIN = "22222222-2222-4222-8222-222222222222"
ACME_SECOND = "44444444-4444-4444-8444-444444444444"
ACME_SPARE = "55555555-5555-4555-8555-555555555555"  # owned by acme on Bird, declared by no spec
GLOBEX_MAIN = "77777777-7777-4777-8777-777777777777"
RESELLER = "33333333-3333-4333-8333-333333333333"
OTHER_RESELLER = "99999999-9999-4999-8999-999999999999"
URL = "http://127.0.0.1:8080/webhooks/bird"

# Signing keys: two environment variables and two files, all different, so a changed reference is a
# changed key (a reference to the same key under another name changes nothing on Bird, rightly).
ENVIRON = {"KEY_A": "signing-key-a", "KEY_B": "signing-key-b"}
KEY_FILES = {"key-a.txt": "signing-key-file-a", "key-b.txt": "signing-key-file-b"}

EMULATOR_WORLD = {
    "organizations": [
        {"id": ACME_ORG,
         "resellers": [{"id": RESELLER, "status": "ACTIVE"}, {"id": OTHER_RESELLER, "status": "ACTIVE"}],
         "stock": [{"country": "US", "type": "local", "count": 200}],
         "workspaces": [{"id": ACME_MAIN}, {"id": ACME_SECOND}, {"id": ACME_SPARE}]},
        {"id": GLOBEX_ORG, "workspaces": [{"id": GLOBEX_MAIN}]},
        {"id": SPARE_ORG, "workspaces": []},
    ],
}

SAMPLES = ["Acme: a new sign-in to your account from Chrome on Mac. Not you? Visit https://acme.example/security",
           "Acme: your invoice for March is ready. Reply STOP to opt out, HELP for help.",
           "Acme: questions about your bill? Call us at 202-555-0143. Reply STOP to opt out."]


def doc(kind: str, name: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "senderctl/v1", "kind": kind, "metadata": {"name": name, **metadata}, "spec": spec}


def campaign_spec(brand: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "brand": brand, "name": name, "usecase": "ACCOUNT_NOTIFICATION",
        "description": "Acme sends account notifications to its customers: sign-in alerts and billing reminders.",
        "embeddedLink": True, "embeddedPhone": True, "numberPool": False, "ageGated": False,
        "directLending": False, "subscriberOptin": True, "subscriberOptout": True, "subscriberHelp": True,
        "samples": SAMPLES,
        "messageFlow": "Customers opt in on https://acme.example/settings by ticking 'Send me SMS alerts'.",
        "helpMessage": "Acme alerts: help at support@acme.example. Reply STOP to opt out.",
        "helpKeywords": "HELP, INFO", "optoutKeywords": "STOP, UNSUBSCRIBE", "optinKeywords": "START, YES",
        "optinMessage": "Acme: you are subscribed to account alerts. Reply STOP to opt out.",
        "optoutMessage": "Acme: you are unsubscribed and will receive no more alerts.",
        "termsAndConditions": True, **extra,
    }


def brand_spec(**extra: Any) -> dict[str, Any]:
    return {
        "workspace": "acme-main", "entityType": "PRIVATE_PROFIT", "firstName": "Ada", "lastName": "Lovelace",
        "displayName": "Acme", "companyName": "Acme Inc.", "ein": "123456789", "einIssuingCountry": "US",
        "phone": "+12025550143", "street": "123 6th Ave", "city": "New York", "state": "NY",
        "postalCode": "10001", "country": "US", "email": "compliance@acme.example",
        "website": "https://acme.example", "vertical": "TECHNOLOGY", **extra,
    }


def filters(*items: dict[str, str]) -> list[dict[str, str]]:
    return list(items)


BASELINE: list[dict[str, Any]] = [
    doc("Organization", "acme", {
        "birdOrganizationId": ACME_ORG,
        "multiSmsNumbers": {"enabled": True, "limit": 10, "weeklyPrice": "2.99", "currency": "USD"},
        "safety": {"maxChangeShare": {"default": "0.2"}},
    }, labels={"team": "platform"}, annotations={"owner": "platform team"}),
    doc("Organization", "globex", {"birdOrganizationId": GLOBEX_ORG}),
    doc("Workspace", "acme-main", {"organization": "acme", "birdWorkspaceId": ACME_MAIN}),
    doc("Workspace", "acme-second", {"organization": "acme", "birdWorkspaceId": ACME_SECOND}),
    doc("Workspace", "globex-main", {"organization": "globex", "birdWorkspaceId": GLOBEX_MAIN}),
    doc("Brand", "acme", brand_spec(altBusinessId="123456789", altBusinessIdType="DUNS",
                                    businessContactEmail="ceo@acme.example",
                                    vetting={"class": "STANDARD", "vettingProviderId": "AEGIS"})),
    doc("Brand", "acme-labs", brand_spec(displayName="Acme Labs", companyName="Acme Labs LLC", ein="987654321")),
    doc("Campaign", "acme-alerts", campaign_spec("acme", "Acme account alerts")),
    doc("Campaign", "acme-mixed", campaign_spec(
        "acme", "Acme mixed", usecase="MIXED", subUsecases=["2FA", "ACCOUNT_NOTIFICATION"], reseller=RESELLER,
        attachmentUrls=["https://acme.example/sample.png"])),
    doc("PhoneNumber", "alice-line", {
        "workspace": "acme-main", "select": {"country": "US", "type": "local"}, "campaign": "acme-alerts",
        "assignee": "alice@acme.example", "deletionPolicy": "Orphan", "protected": True,
        "channelMessageType": "transactional", "channelName": "Alice (Acme alerts)",
    }),
    doc("PhoneNumber", "bob-line", {
        "workspace": "acme-main", "select": {"country": "US", "type": "local"}, "campaign": "acme-alerts",
        "assignee": "bob@acme.example",
    }),
    doc("PhoneNumber", "spare-line", {"workspace": "acme-main", "select": {"country": "US", "type": "local"}}),
    doc("NumberPool", "reserve", {"workspace": "acme-main", "count": 1, "deletionPolicy": "Archive"}),
    doc("NumberPool", "team", {
        "workspace": "acme-main", "count": 2, "select": {"country": "US", "type": "local"},
        "campaign": "acme-mixed", "assignees": ["carol@acme.example"], "channelMessageType": "transactional",
    }),
    doc("WebhookSubscription", "inbound-alice", {
        "workspace": "acme-main", "service": "channels", "event": "sms.inbound", "url": URL,
        "signingKey": {"fromEnv": "KEY_A"},
        "eventFilters": filters({"key": "channelId", "phoneNumber": "alice-line"},
                                {"key": "direction", "value": "incoming"}),
    }),
    doc("WebhookSubscription", "brand-status", {
        "workspace": "acme-main", "service": "numbers", "event": "10dlc.brand", "url": URL,
        "signingKey": {"fromFile": "key-a.txt"},
    }),
]

# Brand review (1 h), campaign approval (7 days), carrier acknowledgement (15 min), with margins.
APPROVAL_STEPS = (0, 3600 + 60, 7 * 24 * 3600, 15 * 60 + 60, 60)


def yaml_text(documents: list[dict[str, Any]]) -> str:
    """YAML documents, each written as JSON (valid YAML, and much faster to write than block style)."""
    return "".join(f"---\n{json.dumps(d)}\n" for d in documents)


def load_documents(documents: list[dict[str, Any]], spec_dir: Path) -> SpecSet:
    """Validated like `senderctl validate` (every field and cross-document rule), from memory."""
    result = load_text(yaml_text(documents), name=str(spec_dir / "specs.yaml"))
    if result.errors:
        raise ValueError("\n".join(str(e) for e in result.errors))
    return result.specs


def mutated(documents: list[dict[str, Any]], address: str, path: tuple[str | int, ...], value: Any) -> list[dict[str, Any]]:
    """A copy of the documents with the field at `path` of document `address` set to `value` (None: removed)."""
    out = copy.deepcopy(documents)
    target = next(d for d in out if f"{d['kind']}/{d['metadata']['name']}" == address)
    node: Any = target
    for key in path[:-1]:
        if isinstance(node, dict) and key not in node:
            node[key] = {}
        node = node[key]
    if value is None:
        if isinstance(node, dict):
            node.pop(path[-1], None)
    else:
        node[path[-1]] = copy.deepcopy(value)
    return out


@dataclass
class Estate:
    """The converged estate: what Bird and the state held once everything was Ready."""

    spec_dir: Path
    settings: Settings
    world: World

    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"Estate({self.spec_dir})"


@contextmanager
def converged_estate(spec_dir: Path, extra_numbers: list[list[dict[str, Any]]]) -> Iterator[Estate]:
    """Apply BASELINE through every approval step, then observe the world once. `extra_numbers`: spec
    sets whose new numbers the world must hold stock for (planning them buys; the baseline buys nothing)."""
    from controller.emulator.server import running_emulator

    for name, key in KEY_FILES.items():
        (spec_dir / name).write_text(key, encoding="utf-8")
    (spec_dir / "specs.yaml").write_text(yaml_text(BASELINE), encoding="utf-8")
    with running_emulator(world=EmulatorWorld.from_dict(EMULATOR_WORLD)) as running:
        admin = EmulatorAdmin(running.url)
        settings = Settings(state_url=f"sqlite:///{spec_dir / 'state.db'}", bird_url=running.url,
                            access_key=ACCESS_KEY, environ={**os.environ, **ENVIRON})
        try:
            converge([str(spec_dir / "specs.yaml")], settings, admin, APPROVAL_STEPS)
            world = asyncio.run(observed_world(settings, spec_dir, extra_numbers))
            yield Estate(spec_dir, settings, world)
        finally:
            admin.http.close()


async def observed_world(settings: Settings, spec_dir: Path, extra_numbers: list[list[dict[str, Any]]]) -> World:
    """One observation of Bird and the state, as engine.compute makes it, for the baseline specs plus
    the numbers the mutations add (so stock is searched for them too; nothing else they read is new)."""
    baseline = desired_from_specs(load_documents(BASELINE, spec_dir), settings.environ)
    known = {d.address for d in baseline}
    extra: list[Desired] = []
    for documents in extra_numbers:
        extra += [d for d in desired_from_specs(load_documents(documents, spec_dir), settings.environ)
                  if d.kind in ("PhoneNumber", "NumberPool") and d.address not in known]
    store = engine.open_store(settings, read_only=True)
    try:
        async with engine.bird_client(settings) as client:
            return await observe(client, store, [*baseline, *extra])
    finally:
        store.close()
