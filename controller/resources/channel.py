"""Channel: the SMS channel connector linking a number to its campaign (`connectors`,
template `sms-messagebird:1`, arguments phoneNumberId / useCaseId / channelMessageType).

A channel needs an approved campaign and an owned number; it can send to the US once carriers
acknowledge the number↔campaign link (channel status `active`, `useCaseStatus` ok).

It is observed on the channel Bird installs for the connector, not on the connector: a channel carries
its `connectorId`, the number (`identifier`), the campaign (`useCaseId`) and the message type
(`useCaseType`) — seed 001 shows them — and Bird lists channels 1000 a page ("Get workspace channels"),
so one read per workspace answers what two lists (connectors, then channels) answered before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controller.reconcile.plan import Change, FieldChange
from controller.resources.base import ApplyIO, Desired, Outcome, PlanContext, RecordView
from controller.resources.common import field_diff, find, is_sms
from controller.resources.lifecycle import (
    CAMPAIGN_READY,
    CHANNEL_ACTIVE,
    RECHECK_CAMPAIGN,
    RECHECK_CARRIERS,
    RECHECK_DEPENDENCY,
    USE_CASE_OK,
)
from controller.resources.phone_number import KINDS as NUMBER_KINDS
from controller.resources.phone_number import member_names, orphaned, renamed_with

if TYPE_CHECKING:
    from specs import SpecSet

KIND = "Channel"
TEMPLATE = "sms-messagebird:1"
DEFAULT_MESSAGE_TYPE = "transactional"


def expand(specs: SpecSet) -> list[Desired]:
    out = []
    for kind in NUMBER_KINDS:
        for doc in specs.of_kind(kind):
            if not doc.spec.campaign:
                continue
            spec = doc.spec
            ws = specs.get("Workspace", spec.workspace)
            # Read once per document, not per member: a missing attribute costs pydantic an exception.
            message_type = getattr(spec, "channelMessageType", None) or DEFAULT_MESSAGE_TYPE
            channel_name = getattr(spec, "channelName", None)
            organization = ws.spec.organization if ws else ""
            workspace_id = str(ws.spec.birdWorkspaceId) if ws else ""
            campaign = f"Campaign/{spec.campaign}"
            for name in member_names(doc):
                out.append(
                    Desired(
                        address=f"{KIND}/{name}",
                        kind=KIND,
                        organization=organization,
                        fields={"campaign": spec.campaign, "channelMessageType": message_type,
                                "channelName": channel_name},
                        context={
                            "workspaceId": workspace_id,
                            "number": f"{kind}/{name}",
                            "campaign": campaign,
                            "name": channel_name or f"SMS {name}",
                        },
                        depends_on=(f"{kind}/{name}", campaign),
                    )
                )
    return out


NO_CHANNELS: list[dict[str, Any]] = []


def sms_channels(world: Any, workspace_id: str) -> list[dict[str, Any]]:
    return [c for c in world.channels.get(workspace_id, NO_CHANNELS) if is_sms(c)]


def channel_of_number(ctx: PlanContext, workspace_id: str, number: str | None) -> dict[str, Any] | None:
    """The SMS channel Bird installed for the number (its `identifier`), if any."""
    if not number:
        return None
    channels = ctx.world.channels.get(workspace_id) or NO_CHANNELS
    return ctx.index(channels, lambda c: c.get("identifier") if is_sms(c) else None, "sms-identifier").get(number)


def carriers_acknowledged(channel: dict[str, Any] | None) -> bool:
    """Bird (seed 001): "A channel ready to send SMS will have "status": "active"", and its
    ``useCaseStatus`` check, where present, is ``ok``."""
    if not channel:
        return False
    status = str(channel.get("status") or "").lower()
    use_case = channel.get("useCaseStatus")
    if isinstance(use_case, dict):
        use_case = use_case.get("status")
    return status == CHANNEL_ACTIVE and (use_case is None or str(use_case).lower() == USE_CASE_OK)


def compare(d: Desired, ctx: PlanContext) -> Outcome:
    number = ctx.outcome(d.context["number"])
    number_id = number.facts.get("birdId") if number else None
    number_str = number.facts.get("number") if number else None
    if not number_id:
        return Outcome("Waiting", f"{d.context['number']} is not bought yet", recheck_after=RECHECK_DEPENDENCY)
    ws = d.context["workspaceId"]
    record = ctx.world.records.get(d.address)
    found = channel_of_number(ctx, ws, number_str)
    campaign = ctx.outcome(d.context["campaign"])
    campaign_id = campaign.facts.get("birdId") if campaign else None
    campaign_ready = bool(campaign and campaign.facts.get("status") in CAMPAIGN_READY)

    if found is None:
        if not campaign_ready:
            name = d.context["campaign"].split("/", 1)[1]
            return Outcome("Waiting", f"campaign {name} is not approved yet", recheck_after=RECHECK_CAMPAIGN)
        drift = record is not None and record.bird_id is not None
        change = Change(
            d.address, "create",
            "connector was removed on Bird outside senderctl" if drift else f"no SMS channel for {number_str} yet",
            None, {**d.fields, "number": number_str}, drift=drift,
            payload=create_payload(d, number_id, number_str, campaign_id),
        )
        return Outcome("Waiting", f"channel for {number_str} is not installed yet", changes=(change,),
                       recheck_after=RECHECK_CARRIERS)

    connector_id = found.get("connectorId")
    facts = {"birdId": connector_id, "channelId": found.get("id"), "number": number_str}
    changes: list[Change] = []
    linked_campaign = found.get("useCaseId")
    recreate = [f for f in connector_diff(d, found) if f.path != "useCaseId"]
    if campaign_ready and campaign_id and linked_campaign != campaign_id:
        changes.append(Change(
            d.address, "replace", f"{number_str} is linked to another campaign on Bird; relinking it",
            {"useCaseId": linked_campaign}, {"useCaseId": campaign_id},
            payload={**create_payload(d, number_id, number_str, campaign_id), "connectorId": connector_id},
        ))
    elif recreate and campaign_id:
        changes.append(Change(
            d.address, "replace", f"{' and '.join(f.path for f in recreate)} changed; {RECREATE_COST}",
            {f.path: f.before for f in recreate}, {f.path: f.after for f in recreate}, fields=tuple(recreate),
            payload={**create_payload(d, number_id, number_str, campaign_id), "connectorId": connector_id},
        ))
    elif record is not None and record.bird_id == connector_id and bookkeeping_diff(d, record):
        diff = bookkeeping_diff(d, record)
        changes.append(Change(
            d.address, "update", "the spec changed; the SMS channel on Bird already matches (recorded only)",
            {f.path: f.before for f in diff}, {f.path: f.after for f in diff}, fields=diff,
            payload={**create_payload(d, number_id, number_str, record.data.get("campaignId")),
                     "connectorId": connector_id, "channelId": found.get("id")},
        ))
    elif record is None or record.bird_id != connector_id:
        changes.append(Change(
            d.address, "adopt", f"an SMS connector for {number_str} exists on Bird", None,
            {**d.fields, "number": number_str},
            payload={**create_payload(d, number_id, number_str, campaign_id), "connectorId": connector_id,
                     "channelId": found.get("id")},
        ))
    if carriers_acknowledged(found):
        return Outcome("Ready", changes=tuple(changes), facts=facts)
    return Outcome("Waiting", f"carriers have not acknowledged {number_str} for the campaign yet",
                   changes=tuple(changes), recheck_after=RECHECK_CARRIERS, facts=facts)


# Bird has no update for a channel connector: its name and arguments change only by recreating it.
RECREATE_COST = ("Bird cannot change an SMS channel connector in place, so it is recreated: the channel gets a new "
                 "id (webhook filters on it follow) and US sending from the number pauses until carriers "
                 "acknowledge the link again (15 minutes or more)")


def connector_diff(d: Desired, channel: dict[str, Any]) -> tuple[FieldChange, ...]:
    """What the spec asks of the connector that Bird holds otherwise, as its channel shows it: the message
    type (`useCaseType`) and the name. An unset channelName accepts any name (a renamed PhoneNumber keeps
    its channel)."""
    out = []
    have = channel.get("useCaseType") or DEFAULT_MESSAGE_TYPE
    if have != d.fields["channelMessageType"]:
        out.append(FieldChange("channelMessageType", have, d.fields["channelMessageType"], immutable=True))
    name = d.fields.get("channelName")
    if name is not None and channel.get("name") != name:
        out.append(FieldChange("channelName", channel.get("name"), name, immutable=True))
    return tuple(out)


def bookkeeping_diff(d: Desired, record: RecordView) -> tuple[FieldChange, ...]:
    """Spec fields the record remembers otherwise (keys older records lack are not compared)."""
    return field_diff({k: v for k, v in d.fields.items() if k in record.spec}, record.spec)


def create_payload(d: Desired, number_id: str, number: str | None, campaign_id: str | None) -> dict[str, Any]:
    return {
        "workspaceId": d.context["workspaceId"],
        "name": d.context["name"],
        "number": number,
        "numberAddress": d.context["number"],
        "numberId": number_id,
        "campaignId": campaign_id,
        "channelMessageType": d.fields["channelMessageType"],
        "spec": d.fields,
    }


def removal(record: RecordView, ctx: PlanContext) -> Outcome:
    number = record.data.get("number", "")
    if renamed_with(KIND, number, ctx):
        return Outcome("Ready", f"the SMS channel of {number} stays on Bird, kept by {ctx.claimed_numbers[number]}")
    if orphaned(record.data.get("numberAddress", ""), ctx):
        return Outcome("Ready", f"deletionPolicy Orphan: the SMS channel of {number} (connector {record.bird_id}) "
                                "stays on Bird, linked to its campaign")
    if not find(sms_channels(ctx.world, record.data.get("workspaceId", "")), connectorId=record.bird_id):
        return Outcome("Ready", "the connector is no longer on Bird")
    change = Change(
        record.address, "delete", "the spec no longer links this number to a campaign",
        {"number": record.data.get("number"), "connectorId": record.bird_id}, None,
        payload={"workspaceId": record.data.get("workspaceId"), "connectorId": record.bird_id},
    )
    return Outcome("Ready", changes=(change,))


async def change(c: Change, io: ApplyIO) -> None:
    p = c.payload
    if c.action == "delete":
        await io.journaled(c, request={"connectorId": p["connectorId"]},
                           call=lambda: io.client.delete_connector(p["workspaceId"], p["connectorId"]))
        io.forget(c.address)
        return
    if c.action in ("adopt", "update"):
        save(c, io, p["connectorId"], p.get("channelId"))
        return
    if c.action == "replace":
        await io.journaled(c, request={"delete": p["connectorId"]},
                           call=lambda: io.client.delete_connector(p["workspaceId"], p["connectorId"]),
                           key_suffix="delete")
    connector = await create(c, io)
    save(c, io, connector.id, connector_channel_id(connector))


async def create(c: Change, io: ApplyIO) -> Any:
    from controller.bird.models import ConnectorCreate

    p = c.payload
    body = {
        "connectorTemplateRef": TEMPLATE,
        "name": p["name"],
        "arguments": {
            "phoneNumberId": p["numberId"],
            "useCaseId": p["campaignId"],
            "channelMessageType": p["channelMessageType"],
        },
        "channelConversationalStatusEnabled": True,
    }

    async def probe() -> Any:
        async for connector in io.client.list_connectors(p["workspaceId"]):
            if (connector.arguments or {}).get("phoneNumberId") == p["numberId"]:
                return connector
        return None

    return await io.journaled(
        c, request=body,
        call=lambda: io.client.create_connector(p["workspaceId"], ConnectorCreate.model_validate(body)),
        probe=probe,
    )


def connector_channel_id(connector: Any) -> str | None:
    channel = getattr(connector, "channel", None)
    if channel is None:
        return None
    return getattr(channel, "channelId", None) or (channel.get("channelId") if isinstance(channel, dict) else None)


def save(c: Change, io: ApplyIO, connector_id: str, chan_id: str | None) -> None:
    p = c.payload
    io.save(c.address, KIND, bird_id=connector_id, spec=p["spec"],
            data={"number": p["number"], "numberAddress": p["numberAddress"],
                  "workspaceId": p["workspaceId"], "channelId": chan_id, "campaignId": p["campaignId"]})
