"""WebhookSubscription: Bird delivers events to a URL (`organizations/{org}/workspaces/{ws}/
webhook-subscriptions`), signed with a key the specs reference but never contain.

Bird does not return the signing key, so senderctl remembers a salted digest of the key it last
sent and updates the subscription when the referenced secret changes. An adopted subscription (import,
or found on Bird) has a key senderctl never sent and cannot read: it is recorded as unproven, and the
next apply sets (rotates) it on Bird to the spec's key, so the daemon and Bird agree on it. Filters may name a
PhoneNumber: the subscription waits until that number's channel has an id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from controller.reconcile.plan import Change, FieldChange, Refusal
from controller.resources.base import ApplyIO, Desired, Outcome, PlanContext, RecordView
from controller.resources.common import (
    ambiguous,
    field_diff,
    find,
    held_by_another,
    normalise,
    pinned_bird_id,
    signing_key_digest,
)
from controller.resources.lifecycle import RECHECK_DEPENDENCY

if TYPE_CHECKING:
    from specs import SpecSet

KIND = "WebhookSubscription"
SENSITIVE = "(sensitive value)"
UNPROVEN_KEY = ("its signing key cannot be read back from Bird and senderctl never sent it (adopted or imported), "
                "so it cannot be proven equal to the spec's: the next apply rotates it on Bird to the spec's key")
# Changing what a subscription listens to is a new subscription on Bird.
REPLACE_ON = ("service", "event")


def expand(specs: SpecSet) -> list[Desired]:
    out = []
    for doc in specs.of_kind(KIND):
        ws = specs.get("Workspace", doc.spec.workspace)
        org = specs.get("Organization", ws.spec.organization) if ws else None
        filters = [f.model_dump(mode="json", exclude_none=True) for f in (doc.spec.eventFilters or [])]
        out.append(
            Desired(
                address=doc.address,
                kind=KIND,
                organization=ws.spec.organization if ws else "",
                fields={"service": doc.spec.service, "event": doc.spec.event, "url": str(doc.spec.url)},
                context={
                    "workspaceId": str(ws.spec.birdWorkspaceId) if ws else "",
                    "organizationId": str(org.spec.birdOrganizationId) if org else "",
                    "filters": filters,
                    "signingKey": doc.spec.signingKey.model_dump(mode="json", exclude_none=True, by_alias=True),
                    "specDir": str(doc.source.path.rsplit("/", 1)[0]) if "/" in str(doc.source.path) else ".",
                    "pinnedId": pinned_bird_id(doc),
                },
                depends_on=tuple(f"Channel/{f['phoneNumber']}" for f in filters if f.get("phoneNumber")),
            )
        )
    return out


def resolve_filters(d: Desired, ctx: PlanContext) -> tuple[list[dict[str, str]] | None, str]:
    out = []
    for f in d.context["filters"]:
        if f.get("phoneNumber"):
            channel = ctx.outcome(f"Channel/{f['phoneNumber']}")
            channel_id = channel.facts.get("channelId") if channel else None
            if not channel_id:
                return None, f"the SMS channel of {f['phoneNumber']} has no id yet"
            if any(c.action == "replace" for c in channel.changes):  # its id changes: follow it after
                return None, f"the SMS channel of {f['phoneNumber']} is being recreated; its new id follows"
            out.append({"key": f["key"], "value": channel_id})
        else:
            out.append({"key": f["key"], "value": f.get("value", "")})
    return sorted(out, key=lambda f: (f["key"], f["value"])), ""


def comparable(sub: dict[str, Any]) -> dict[str, Any]:
    filters = sorted(
        ({"key": f.get("key"), "value": f.get("value")} for f in sub.get("eventFilters") or []),
        key=lambda f: (str(f["key"]), str(f["value"])),
    )
    return {"service": sub.get("service"), "event": sub.get("event"), "url": sub.get("url"), "eventFilters": filters}


def compare(d: Desired, ctx: PlanContext) -> Outcome:
    secret_problem = d.context.get("secretError")
    if secret_problem:
        return Outcome("Failed", f"signingKey: {secret_problem}")
    filters, waiting = resolve_filters(d, ctx)
    if filters is None:
        return Outcome("Waiting", waiting, recheck_after=RECHECK_DEPENDENCY)
    want = {**d.fields, "eventFilters": filters}
    scope = (d.context["organizationId"], d.context["workspaceId"])
    unread = ctx.world.unreachable.get(f"workspace {scope[1]}")
    if unread or scope not in ctx.world.subscriptions:
        # An unread list is not an empty one: creating now could subscribe twice.
        return Outcome("Waiting", f"workspace {scope[1]} cannot be read on Bird" + (f": {unread}" if unread else ""))
    subs = ctx.world.subscriptions[scope]
    record = ctx.world.records.get(d.address)
    moved = record is not None and record.bird_id and record_scope(record) != scope
    if moved:
        return moved_subscription(d, record, scope, {**d.fields, "eventFilters": filters})  # type: ignore[arg-type]
    found = find(subs, id=record.bird_id) if record and record.bird_id else None
    managed = found is not None
    if found is None and d.context.get("pinnedId"):  # senderctl.io/bird-id: this subscription, not a look-alike
        found = find(subs, id=d.context["pinnedId"])
    if found is None:
        matches = [s for s in subs if normalise(comparable(s)) == normalise(want)
                   and not held_by_another(ctx, s.get("id"), d.address)]
        if len(matches) > 1:
            return Outcome("Failed", "", refusals=(Refusal(d.address, ambiguous(
                d.address, "webhook subscription", "service, event, URL and filters", matches)),))
        found = matches[0] if matches else None
    payload = {"organizationId": scope[0], "workspaceId": scope[1], "body": want, "spec": want,
               "signingKey": d.context["signingKey"], "specDir": d.context["specDir"]}
    if found is None:
        drift = record is not None and record.bird_id is not None
        reason = "subscription was deleted on Bird outside senderctl" if drift else "not subscribed on Bird"
        return Outcome("Ready", changes=(Change(d.address, "create", reason, None, want, drift=drift, payload=payload),))
    if not managed:
        how = ("the subscription the spec pins (senderctl.io/bird-id) exists on Bird"
               if found.get("id") == d.context.get("pinnedId") else "an identical subscription exists on Bird")
        return Outcome("Ready", changes=(Change(d.address, "adopt", f"{how}; {UNPROVEN_KEY}", None, want,
                                                payload={**payload, "subscriptionId": found["id"]}),),
                       facts={"birdId": found["id"]})
    have = comparable(found)
    diff = list(field_diff(want, have))
    known = {d.context.get("signingKeyDigest"), d.context.get("signingKeyLegacyDigest")} - {None}
    proven = record is not None and record.data.get("signingKeyDigest") is not None
    key_changed = record is not None and record.data.get("signingKeyDigest") not in (known or {None})
    if key_changed:
        diff.append(FieldChange("signingKey", SENSITIVE, SENSITIVE))
    if not diff:
        return Outcome("Ready", facts={"birdId": found["id"]})
    drift = record is not None and record.spec == want and not key_changed
    reason = "changed on Bird outside senderctl" if drift else "spec differs from Bird"
    if not proven:
        reason = "rotate the signing key on Bird: " + UNPROVEN_KEY.split(": ", 1)[0]
    action = "replace" if any(f.path in REPLACE_ON for f in diff) else "update"
    changes = (Change(d.address, action, reason, have, want, fields=tuple(diff), drift=drift,
                      payload={**payload, "subscriptionId": found["id"], "unprovenKey": not proven}),)
    return Outcome("Ready", changes=changes, facts={"birdId": found["id"]})


def record_scope(record: RecordView) -> tuple[str, str]:
    return record.data.get("organizationId", ""), record.data.get("workspaceId", "")


def moved_subscription(d: Desired, record: RecordView, scope: tuple[str, str], want: dict[str, Any]) -> Outcome:
    """The spec now names another workspace: subscribe there and end the old subscription, so
    Bird never holds both."""
    old_org, old_ws = record_scope(record)
    payload = {"organizationId": scope[0], "workspaceId": scope[1], "body": want, "spec": want,
               "signingKey": d.context["signingKey"], "specDir": d.context["specDir"],
               "previous": {"organizationId": old_org, "workspaceId": old_ws, "subscriptionId": record.bird_id}}
    change = Change(d.address, "replace", f"the spec moves the subscription from workspace {old_ws} to {scope[1]}",
                    {"workspaceId": old_ws}, {"workspaceId": scope[1], **want},
                    fields=(FieldChange("workspace", old_ws, scope[1], immutable=True),), payload=payload)
    return Outcome("Ready", changes=(change,))


def kept_by_another(record: RecordView, ctx: PlanContext) -> str | None:
    """The desired subscription that adopted this record's Bird subscription (a renamed spec)."""
    for d in ctx.desired_of_kind(KIND):
        outcome = ctx.outcome(d.address)
        if outcome is not None and outcome.facts.get("birdId") == record.bird_id:
            return d.address
    return None


def removal(record: RecordView, ctx: PlanContext) -> Outcome:
    scope = record_scope(record)
    if not find(ctx.world.subscriptions.get(scope, []), id=record.bird_id):
        return Outcome("Ready", "the subscription is no longer on Bird")
    keeper = kept_by_another(record, ctx)
    if keeper:
        return Outcome("Ready", f"the subscription stays on Bird, kept by {keeper}")
    change = Change(record.address, "delete", "removed from the specs", record.spec, None,
                    payload={"organizationId": scope[0], "workspaceId": scope[1], "subscriptionId": record.bird_id})
    return Outcome("Ready", changes=(change,))


async def change(c: Change, io: ApplyIO) -> None:
    from controller.bird.models import WebhookSubscriptionCreate

    p = c.payload
    org, ws = p["organizationId"], p["workspaceId"]
    if c.action == "delete":
        await io.journaled(c, request={"subscriptionId": p["subscriptionId"]},
                           call=lambda: io.client.delete_webhook_subscription(org, ws, p["subscriptionId"]))
        io.forget(c.address)
        return
    key = io.secret(c.address, p["signingKey"], p["specDir"])
    digest = signing_key_digest(c.address, key, io.digest_secret())
    if c.action == "adopt":
        save(c, io, p["subscriptionId"], None)  # Bird's key is unknown: unproven until senderctl sends one
        return
    body = {**p["body"], "signingKey": key}
    if c.action == "update":
        # Bird's PATCH takes what may change in place; service and event changes are replaces.
        patch = {k: v for k, v in body.items() if k not in REPLACE_ON}
        await io.journaled(c, request=p["body"],
                           call=lambda: io.client.update_webhook_subscription(org, ws, p["subscriptionId"], patch))
        save(c, io, p["subscriptionId"], digest)
        return
    if c.action == "replace":
        old = p.get("previous") or {"organizationId": org, "workspaceId": ws, "subscriptionId": p["subscriptionId"]}
        await io.journaled(c, request={"delete": old["subscriptionId"]}, key_suffix="delete",
                           call=lambda: io.client.delete_webhook_subscription(
                               old["organizationId"], old["workspaceId"], old["subscriptionId"]))

    async def probe() -> Any:
        async for sub in io.client.list_webhook_subscriptions(org, ws):
            if normalise(comparable(sub.model_dump(mode="json", by_alias=True))) == normalise(p["body"]):
                return sub
        return None

    sub = await io.journaled(
        c, request=p["body"],  # the journal never holds the key
        call=lambda: io.client.create_webhook_subscription(org, ws, WebhookSubscriptionCreate.model_validate(body)),
        probe=probe,
    )
    save(c, io, sub.id, digest)


def save(c: Change, io: ApplyIO, subscription_id: str, digest: str | None) -> None:
    p = c.payload
    io.save(c.address, KIND, bird_id=subscription_id, spec=p["spec"],
            data={"organizationId": p["organizationId"], "workspaceId": p["workspaceId"], "signingKeyDigest": digest})
