"""`senderctl dump`: spec files for what a Bird organization already holds, to take an account over.

Two halves: `read_account` (I/O: lists every workspace's numbers, brands, vettings, campaigns,
connectors and webhook subscriptions) and `spec_files` (pure: Bird objects -> commented YAML, one
file per workspace plus one for the Organization). The files are made so that `validate` passes,
`import` adopts everything (each document matches its Bird object by senderctl's natural keys: exact
number, brand EIN + company name, campaign name, vetting class + provider, identical subscription)
and the next `plan` creates and buys nothing:

  * names are DNS labels made from Bird's own names plus a short hash of the Bird id: readable,
    stable from one dump to the next and unique across organizations;
  * numbers are pinned by exact number (`number:`), never re-selected from stock;
  * references are by name (a campaign's brand, a number's campaign, a filter's phoneNumber);
  * signing keys cannot be read back from Bird: each subscription references an environment
    variable (`signingKey: {fromEnv: NAME}`) that must hold the key it was created with.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from specs.models.brand import BrandSpec
from specs.models.campaign import CampaignSpec
from specs.rules import BIRD_ID_ANNOTATION

API_VERSION = "senderctl/v1"
NAME_MAX = 63
HEADER = ("# Written by `senderctl dump` from what Bird holds. Review it, set the signing-key variables named\n"
          "# below, then `senderctl import` this directory before the first apply.\n")


# --- reading Bird -----------------------------------------------------------------------------------


@dataclass
class WorkspaceDump:
    id: str
    name: str
    numbers: list[dict[str, Any]] = field(default_factory=list)
    brands: list[dict[str, Any]] = field(default_factory=list)
    vettings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # brand id -> vettings
    campaigns: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # brand id -> campaigns
    connectors: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Account:
    organization_id: str
    workspaces: list[WorkspaceDump]


async def _all(items: AsyncIterator[Any]) -> list[dict[str, Any]]:
    out = []
    async for item in items:
        data = item.model_dump(mode="json", by_alias=True, exclude_none=True)
        data.pop("signingKey", None)  # never carried further, even if Bird answered one
        out.append(data)
    return out


async def read_account(client: Any, organization_id: str) -> Account:
    workspaces = await _all(client.list_workspaces(organization_id))

    async def one(ws: dict[str, Any]) -> WorkspaceDump:
        wid = ws["id"]
        dumped = WorkspaceDump(wid, ws.get("name") or "")
        dumped.numbers, dumped.brands, dumped.connectors, dumped.subscriptions = await asyncio.gather(
            _all(client.list_numbers(wid)), _all(client.list_brands(wid)), _all(client.list_connectors(wid)),
            _all(client.list_webhook_subscriptions(organization_id, wid)))
        for brand in dumped.brands:
            dumped.vettings[brand["id"]], dumped.campaigns[brand["id"]] = await asyncio.gather(
                _all(client.list_vettings(wid, brand["id"])), _all(client.list_campaigns(wid, brand["id"])))
        return dumped

    return Account(organization_id, list(await asyncio.gather(*(one(ws) for ws in workspaces))))


# --- names ----------------------------------------------------------------------------------------


def slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", text.lower())).strip("-")


def stable_name(base: str, bird_id: str, fallback: str) -> str:
    """`acme-alerts-3f2a9c`: Bird's name made a DNS label, plus 6 hex of the Bird id's hash."""
    suffix = hashlib.sha256(bird_id.encode()).hexdigest()[:6]
    stem = (slug(base) or fallback)[: NAME_MAX - len(suffix) - 1].strip("-") or fallback
    return f"{stem}-{suffix}"


def number_name(number: str) -> str:
    return "n-" + re.sub(r"\D", "", number)


def env_name(document_name: str) -> str:
    return "SIGNING_KEY_" + re.sub(r"[^A-Z0-9]", "_", document_name.upper())


# --- Bird objects -> documents (pure) -------------------------------------------------------------------


@dataclass
class Document:
    kind: str
    name: str
    spec: dict[str, Any]
    comments: list[str] = field(default_factory=list)
    # senderctl.io/bird-id: the Bird object dumped, so that import adopts it by id, never a look-alike
    bird_id: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class SpecFile:
    name: str
    documents: list[Document]

    def text(self) -> str:
        return HEADER + "".join(render(doc) for doc in self.documents)


def render(doc: Document) -> str:
    annotations = {**doc.annotations, **({BIRD_ID_ANNOTATION: doc.bird_id} if doc.bird_id else {})}
    metadata: dict[str, Any] = {"name": doc.name, **({"annotations": annotations} if annotations else {})}
    body = {"apiVersion": API_VERSION, "kind": doc.kind, "metadata": metadata, "spec": doc.spec}
    comments = "".join(f"# {line}\n" for line in doc.comments)
    return "---\n" + comments + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)


BRAND_FIELDS = tuple((info.alias or name) for name, info in BrandSpec.model_fields.items()
                     if name not in ("workspace", "vetting"))
CAMPAIGN_FIELDS = tuple((info.alias or name) for name, info in CampaignSpec.model_fields.items()
                        if name not in ("brand", "reseller"))


def pick(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {key: item[key] for key in fields if item.get(key) not in (None, "", [])}


def number_of(item: dict[str, Any]) -> str:
    return str(item.get("number") or item.get("numberString") or item.get("phoneNumber") or "")


def organization_document(account: Account, name: str) -> Document:
    count = sum(len(ws.numbers) for ws in account.workspaces)
    return Document("Organization", name, {
        "birdOrganizationId": account.organization_id,
        "multiSmsNumbers": {"enabled": count > 1, "limit": max(1, count), "weeklyPrice": "2.99", "currency": "USD"},
    }, [f"Bird organization {account.organization_id}.",
        "multiSmsNumbers are senderctl's own terms (not stored on Bird): the limit is set to the numbers held",
        "today; raise it before declaring more numbers, and set the weekly price you bill."])


def workspace_file(ws: WorkspaceDump, org_name: str) -> SpecFile:
    ws_name = stable_name(ws.name or "workspace", ws.id, "workspace")
    docs = [Document("Workspace", ws_name, {"organization": org_name, "birdWorkspaceId": ws.id},
                     [f"Bird workspace {ws.id}" + (f" ({ws.name})" if ws.name else "") + "."])]
    brand_names: dict[str, str] = {}
    campaign_names: dict[str, str] = {}
    for brand in ws.brands:
        name = brand_names[brand["id"]] = stable_name(brand.get("displayName") or brand.get("companyName") or "",
                                                      brand["id"], "brand")
        docs.append(brand_document(brand, name, ws_name, ws.vettings.get(brand["id"], [])))
    for brand in ws.brands:
        for campaign in ws.campaigns.get(brand["id"], []):
            name = campaign_names[campaign["id"]] = stable_name(campaign.get("name") or "", campaign["id"], "campaign")
            docs.append(campaign_document(campaign, name, brand_names[brand["id"]]))
    connector_of = {(c.get("arguments") or {}).get("phoneNumberId"): c for c in ws.connectors}
    number_names: dict[str, str] = {}  # channel id -> PhoneNumber name
    for number in sorted(ws.numbers, key=number_of):
        name = number_name(number_of(number))
        connector = connector_of.get(number["id"])
        channel_id = ((connector or {}).get("channel") or {}).get("channelId")
        if channel_id:
            number_names[channel_id] = name
        docs.append(number_document(number, name, ws_name, connector, campaign_names))
    for sub in ws.subscriptions:
        docs.append(subscription_document(sub, ws_name, number_names))
    return SpecFile(f"{ws_name}.yaml", docs)


def brand_document(brand: dict[str, Any], name: str, ws_name: str, vettings: list[dict[str, Any]]) -> Document:
    spec: dict[str, Any] = {"workspace": ws_name, **pick(brand, BRAND_FIELDS)}
    comments = [f"Bird brand {brand['id']}, {brand.get('status', 'status unknown')}; import adopts it by the id "
                "annotated (not by EIN and company name, which look-alikes may share)."]
    vetting = next((v for v in vettings if (v.get("class") or v.get("vettingClass")) == "STANDARD"), None)
    if vetting is not None:
        spec["vetting"] = {"class": "STANDARD", **pick(vetting, ("vettingProviderId",))}
        comments.append(f"Vetting {vetting.get('id')} ({vetting.get('status', 'status unknown')}).")
    return Document("Brand", name, spec, comments, bird_id=brand["id"])


def campaign_document(campaign: dict[str, Any], name: str, brand_name: str) -> Document:
    spec: dict[str, Any] = {"brand": brand_name}
    if campaign.get("resellerId"):
        spec["reseller"] = campaign["resellerId"]
    spec.update(pick(campaign, CAMPAIGN_FIELDS))
    return Document("Campaign", name, spec, [
        f"Bird campaign {campaign['id']}, {campaign.get('status', 'status unknown')}; import adopts it by the id "
        "annotated (not by name, which look-alikes may share).",
        "Bird resubmits a campaign only after a rejection: keep these fields as Bird holds them."], bird_id=campaign["id"])


def number_document(number: dict[str, Any], name: str, ws_name: str, connector: dict[str, Any] | None,
                    campaign_names: dict[str, str]) -> Document:
    spec: dict[str, Any] = {"workspace": ws_name, "number": number_of(number)}
    comments = [f"Bird number {number['id']}, pinned by exact number: senderctl adopts it and never buys another.",
                "No assignee: Bird does not know which user holds it (add `assignee: user@example.com`)."]
    if connector is not None:
        args = connector.get("arguments") or {}
        campaign = campaign_names.get(args.get("useCaseId"))
        if campaign:
            spec["campaign"] = campaign
            if args.get("channelMessageType"):
                spec["channelMessageType"] = args["channelMessageType"]
            if connector.get("name"):
                spec["channelName"] = connector["name"][:100]
            comments.append(f"SMS channel connector {connector.get('id')}.")
        else:
            comments.append(f"SMS channel connector {connector.get('id')} links campaign {args.get('useCaseId')}, "
                            "which this organization's brands do not list: left out.")
    return Document("PhoneNumber", name, spec, comments)


def subscription_document(sub: dict[str, Any], ws_name: str, number_names: dict[str, str]) -> Document:
    name = stable_name(str(sub.get("event") or "webhook"), sub["id"], "webhook")
    variable = env_name(name)
    spec: dict[str, Any] = {"workspace": ws_name, "service": sub.get("service"), "event": sub.get("event"),
                            "url": sub.get("url"), "signingKey": {"fromEnv": variable}}
    filters = []
    for f in sub.get("eventFilters") or []:
        value = f.get("value")
        if f.get("key") == "channelId" and value in number_names:
            filters.append({"key": "channelId", "phoneNumber": number_names[value]})
        else:
            filters.append({"key": f.get("key"), "value": value})
    if filters:
        spec["eventFilters"] = filters
    return Document("WebhookSubscription", name, spec, [
        f"Bird webhook subscription {sub['id']}.",
        f"Bird never returns signing keys: export {variable} with the key this subscription was created with",
        "before import. senderctl cannot prove it equal to Bird's, so the first apply after import sets (rotates)",
        "the key on Bird to the one exported here."], bird_id=sub["id"])


def spec_files(account: Account, org_name: str) -> list[SpecFile]:
    files = [SpecFile(f"{org_name}.yaml", [organization_document(account, org_name)])]
    files += [workspace_file(ws, org_name) for ws in sorted(account.workspaces, key=lambda w: w.id)]
    return silence_compliance(files)


def silence_compliance(files: list[SpecFile]) -> list[SpecFile]:
    """Brands and campaigns Bird already holds are written as they are, whatever the campaign doctor would
    say of them (they are registered: no fee is at stake, and `validate` must pass): each one's findings
    are silenced with senderctl.io/ignore-compliance and named in a comment, to fix before editing it."""
    from specs import load_text
    from specs.compliance import IGNORE_ANNOTATION, diagnose

    loaded = load_text("".join(f.text() for f in files), "dump")
    if loaded.errors:
        return files
    codes: dict[str, set[str]] = {}
    for finding in diagnose(loaded.specs):
        codes.setdefault(finding.address, set()).add(finding.code)
    for doc in (d for f in files for d in f.documents):
        found = sorted(codes.get(f"{doc.kind}/{doc.name}", ()))
        if found:
            doc.annotations[IGNORE_ANNOTATION] = ",".join(found)
            doc.comments.append(f"The campaign doctor finds {', '.join(found)} here (senderctl validate without the "
                                "annotation says what and how to fix): silenced because Bird holds it already.")
    return files


def default_org_name(organization_id: str) -> str:
    return f"org-{slug(organization_id)[:8]}"


def write(files: list[SpecFile], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for f in files:
        path = out / f.name
        path.write_text(f.text(), encoding="utf-8")
        written.append(path)
    return written


def signing_key_variables(files: list[SpecFile]) -> list[str]:
    return sorted(doc.spec["signingKey"]["fromEnv"] for f in files for doc in f.documents
                  if doc.kind == "WebhookSubscription")
