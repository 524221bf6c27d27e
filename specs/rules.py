"""Cross-document rules: references resolve, names are unique, users and numbers stay one-to-one per
organization, organizations stay within their number limits, campaign links stay inside an organization.

Pure: takes the parsed documents, returns located errors.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from specs.errors import SpecError, format_field_path, quoted
from specs.models import (
    NumberPoolDoc,
    OrganizationDoc,
    PhoneNumberDoc,
    SpecDocument,
    WebhookSubscriptionDoc,
)
from specs.specset import SpecSet
from specs.translate import suggest

# (kind holding the reference, path of the reference field, kind it refers to)
REFERENCES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Workspace", ("organization",), "Organization"),
    ("Brand", ("workspace",), "Workspace"),
    ("Campaign", ("brand",), "Brand"),
    ("PhoneNumber", ("workspace",), "Workspace"),
    ("PhoneNumber", ("campaign",), "Campaign"),
    ("NumberPool", ("workspace",), "Workspace"),
    ("NumberPool", ("campaign",), "Campaign"),
    ("WebhookSubscription", ("workspace",), "Workspace"),
)


def _error(doc: SpecDocument, path: tuple[str | int, ...], message: str) -> SpecError:
    return SpecError(doc.locate(*path), doc.address, format_field_path(path), message)


def duplicate_errors(documents: list[SpecDocument]) -> list[SpecError]:
    first: dict[str, SpecDocument] = {}
    errors = []
    for doc in sorted(documents, key=lambda d: d.source):
        seen = first.get(doc.address)
        if seen is None:
            first[doc.address] = doc
        else:
            errors.append(_error(doc, ("metadata", "name"), f"{doc.address} is already defined at {seen.source}"))
    return errors


def check(specs: SpecSet, broken: set[str] | frozenset[str] = frozenset()) -> list[SpecError]:
    """Every cross-document error. `broken`: addresses of documents that exist but failed to validate
    (references to them are not reported again)."""
    errors: list[SpecError] = []
    errors += _reference_errors(specs, broken)
    errors += _filter_reference_errors(specs, broken)
    errors += _matching_subscription_errors(specs)
    errors += _campaign_link_errors(specs)
    errors += _campaign_size_errors(specs)
    errors += _user_isolation_errors(specs)
    errors += _number_limit_errors(specs)
    errors += _exact_number_errors(specs)
    errors += _bird_id_errors(specs)
    errors += _annotation_errors(specs)
    return errors


def _missing(specs: SpecSet, doc: SpecDocument, path: tuple[str | int, ...], kind: str, name: str) -> SpecError:
    hint = suggest(name, [d.name for d in specs.of_kind(kind)])
    return _error(doc, path, f"{kind} '{name}' is not defined{hint}")


def _reference_errors(specs: SpecSet, broken: set[str] | frozenset[str]) -> Iterator[SpecError]:
    for kind, field_path, target in REFERENCES:
        for doc in specs.of_kind(kind):
            name = getattr(doc.spec, field_path[0])
            if name is not None and specs.get(target, name) is None and f"{target}/{name}" not in broken:
                yield _missing(specs, doc, ("spec", *field_path), target, name)


def _filter_reference_errors(specs: SpecSet, broken: set[str] | frozenset[str]) -> Iterator[SpecError]:
    for doc in specs.of_kind("WebhookSubscription"):
        assert isinstance(doc, WebhookSubscriptionDoc)
        for index, flt in enumerate(doc.spec.eventFilters):
            if flt.phoneNumber is None:
                continue
            path = ("spec", "eventFilters", index, "phoneNumber")
            number = specs.get("PhoneNumber", flt.phoneNumber)
            if number is None:
                if f"PhoneNumber/{flt.phoneNumber}" not in broken:
                    yield _missing(specs, doc, path, "PhoneNumber", flt.phoneNumber)
                continue
            assert isinstance(number, PhoneNumberDoc)
            if number.spec.workspace != doc.spec.workspace:
                yield _error(doc, path, f"PhoneNumber/{number.name} is in workspace {number.spec.workspace}, "
                                        f"not in this subscription's workspace {doc.spec.workspace}")
            elif number.spec.campaign is None:
                yield _error(doc, path, f"PhoneNumber/{number.name} has no campaign, so it never gets an SMS "
                                        "channel to filter on; give it `campaign:`")
            if not doc.spec.event.startswith(("sms.", "channel.")) and doc.spec.service != "numbers":
                # (the numbers service takes no filters at all: reported once, by the document itself)
                yield _error(doc, path, f"event {doc.spec.event} has no channel; channelId filters apply to "
                                        "sms.* and channel.* events")


# Bird "Webhook subscriptions": "You can create up to five subscriptions for the same filter combination".
MAX_MATCHING_SUBSCRIPTIONS = 5


def _matching_subscription_errors(specs: SpecSet) -> Iterator[SpecError]:
    """At most five subscriptions of one workspace for the same event and filters (Bird refuses a sixth)."""
    groups: dict[tuple[object, ...], list[WebhookSubscriptionDoc]] = defaultdict(list)
    for doc in specs.of_kind("WebhookSubscription"):
        assert isinstance(doc, WebhookSubscriptionDoc)
        filters = frozenset((f.key, f.value, f.phoneNumber) for f in doc.spec.eventFilters)
        groups[(doc.spec.workspace, doc.spec.service, doc.spec.event, filters)].append(doc)
    for (workspace, _, event, filters), docs in groups.items():
        if len(docs) <= MAX_MATCHING_SUBSCRIPTIONS:
            continue
        docs.sort(key=lambda d: (d.source.path, d.source.line))
        allowed = ", ".join(d.name for d in docs[:MAX_MATCHING_SUBSCRIPTIONS])
        what = f"{event} events with the same eventFilters" if filters else f"{event} events without eventFilters"
        for doc in docs[MAX_MATCHING_SUBSCRIPTIONS:]:
            yield _error(doc, ("spec", "eventFilters" if filters else "event"),
                         f"Bird takes at most {MAX_MATCHING_SUBSCRIPTIONS} subscriptions per filter combination; "
                         f"workspace {workspace} already has {MAX_MATCHING_SUBSCRIPTIONS} for {what} ({allowed}): "
                         "send this event to one of their URLs, or filter it differently")


def _campaign_link_errors(specs: SpecSet) -> Iterator[SpecError]:
    for doc in [*specs.of_kind("PhoneNumber"), *specs.of_kind("NumberPool")]:
        assert isinstance(doc, PhoneNumberDoc | NumberPoolDoc)
        if doc.spec.campaign is None:
            continue
        campaign = specs.get("Campaign", doc.spec.campaign)
        if campaign is None:
            continue
        number_org, campaign_org = specs.organization_of(doc), specs.organization_of(campaign)
        if number_org is not None and campaign_org is not None and number_org.name != campaign_org.name:
            yield _error(doc, ("spec", "campaign"),
                         f"Campaign/{campaign.name} belongs to organization {campaign_org.name}, but this number's "
                         f"workspace {doc.spec.workspace} belongs to {number_org.name}")
            continue
        # Bird installs a number's SMS connector only with a campaign of the number's own workspace
        # (connector arguments name a phoneNumberId and a useCaseId of one workspace): 422 otherwise.
        brand = specs.get("Brand", campaign.spec.brand)
        campaign_ws = brand.spec.workspace if brand is not None else None
        if campaign_ws is not None and campaign_ws != doc.spec.workspace:
            yield _error(doc, ("spec", "campaign"),
                         f"Campaign/{campaign.name} is registered in workspace {campaign_ws} (through Brand/"
                         f"{brand.name}), but this number is in workspace {doc.spec.workspace}; Bird links a number "
                         "only to a campaign of its own workspace: use a campaign of that workspace, or move "
                         "the number")


# T-Mobile's rule, in Bird's campaign form: "Select this [number pooling] if you intend on using 50+
# numbers". Without numberPool a campaign takes at most this many numbers.
MAX_NUMBERS_WITHOUT_POOL = 49


def _campaign_size_errors(specs: SpecSet) -> Iterator[SpecError]:
    linked: dict[str, list[tuple[SpecDocument, int]]] = defaultdict(list)
    for doc in sorted([*specs.of_kind("PhoneNumber"), *specs.of_kind("NumberPool")], key=lambda d: d.source):
        assert isinstance(doc, PhoneNumberDoc | NumberPoolDoc)
        if doc.spec.campaign is not None:
            linked[doc.spec.campaign].append((doc, doc.spec.count if isinstance(doc, NumberPoolDoc) else 1))
    for name, docs in sorted(linked.items()):
        campaign = specs.get("Campaign", name)
        if campaign is None or campaign.spec.numberPool:
            continue
        total = sum(n for _, n in docs)
        if total > MAX_NUMBERS_WITHOUT_POOL:
            listing = ", ".join(d.address + (f" ({n})" if isinstance(d, NumberPoolDoc) else "") for d, n in docs[:5])
            more = f" and {len(docs) - 5} more" if len(docs) > 5 else ""
            yield _error(campaign, ("spec", "numberPool"),
                         f"{total} numbers are linked to this campaign ({listing}{more}), more than the "
                         f"{MAX_NUMBERS_WITHOUT_POOL} a campaign takes without number pooling (T-Mobile's rule); "
                         "set numberPool: true, or link fewer numbers")


def _numbers_by_org(specs: SpecSet) -> dict[str, list[PhoneNumberDoc | NumberPoolDoc]]:
    by_org: dict[str, list[PhoneNumberDoc | NumberPoolDoc]] = defaultdict(list)
    for doc in [*specs.of_kind("PhoneNumber"), *specs.of_kind("NumberPool")]:
        assert isinstance(doc, PhoneNumberDoc | NumberPoolDoc)
        org = specs.organization_of(doc)
        if org is not None:
            by_org[org.name].append(doc)
    for docs in by_org.values():
        docs.sort(key=lambda d: d.source)
    return by_org


def _user_isolation_errors(specs: SpecSet) -> Iterator[SpecError]:
    """seed 000 "User Isolation": each user has one dedicated number per organization."""
    for org, docs in sorted(_numbers_by_org(specs).items()):
        holder: dict[str, SpecDocument] = {}
        for doc in docs:
            if isinstance(doc, PhoneNumberDoc):
                users = [(("spec", "assignee"), doc.spec.assignee)] if doc.spec.assignee else []
            else:
                users = [(("spec", "assignees", i), u) for i, u in enumerate(doc.spec.assignees or [])]
            for path, user in users:
                other = holder.get(user.lower())
                if other is None:
                    holder[user.lower()] = doc
                elif other is not doc:
                    yield _error(doc, path, f"{user} already has a number in organization {org} "
                                            f"({other.address}); a user gets one number per organization")


def _number_limit_errors(specs: SpecSet) -> Iterator[SpecError]:
    for org_name, docs in sorted(_numbers_by_org(specs).items()):
        org = specs.get("Organization", org_name)
        assert isinstance(org, OrganizationDoc)
        multi = org.spec.multiSmsNumbers
        total = sum(1 if isinstance(d, PhoneNumberDoc) else d.spec.count for d in docs)
        listing = ", ".join(d.address + ("" if isinstance(d, PhoneNumberDoc) else f" ({d.spec.count})") for d in docs)
        if not multi.enabled and total > 1:
            yield _error(org, ("spec", "multiSmsNumbers", "enabled"),
                         f"organization {org_name} declares {total} numbers ({listing}) but multiSmsNumbers is not "
                         "enabled; enable it (with a limit) or declare one number")
        elif multi.enabled and total > multi.limit:
            yield _error(org, ("spec", "multiSmsNumbers", "limit"),
                         f"organization {org_name} declares {total} numbers ({listing}), more than its "
                         f"multiSmsNumbers.limit of {multi.limit}")


def _bird_id_errors(specs: SpecSet) -> Iterator[SpecError]:
    """Two documents managing one Bird organization or workspace would fight over it."""
    for kind, field in (("Organization", "birdOrganizationId"), ("Workspace", "birdWorkspaceId")):
        owner: dict[str, SpecDocument] = {}
        for doc in sorted(specs.of_kind(kind), key=lambda d: d.source):
            bird_id = getattr(doc.spec, field)
            other = owner.setdefault(bird_id, doc)
            if other is not doc:
                yield _error(doc, ("spec", field), f"{field} {bird_id} is already managed by {other.address}")


def _exact_number_errors(specs: SpecSet) -> Iterator[SpecError]:
    owner: dict[str, SpecDocument] = {}
    for doc in sorted(specs.of_kind("PhoneNumber"), key=lambda d: d.source):
        assert isinstance(doc, PhoneNumberDoc)
        if doc.spec.number is None:
            continue
        other = owner.setdefault(doc.spec.number, doc)
        if other is not doc:
            yield _error(doc, ("spec", "number"), f"{doc.spec.number} is already declared by {other.address}")



PAUSED_ANNOTATION = "senderctl.io/paused"
IGNORE_DRIFT_ANNOTATION = "senderctl.io/ignore-drift"
# The Bird object a document manages (written by `senderctl dump`): adopted by this id, not by natural key.
BIRD_ID_ANNOTATION = "senderctl.io/bird-id"
IGNORE_COMPLIANCE_ANNOTATION = "senderctl.io/ignore-compliance"  # codes of specs/compliance
KNOWN_ANNOTATIONS = (PAUSED_ANNOTATION, IGNORE_DRIFT_ANNOTATION, BIRD_ID_ANNOTATION,
                     IGNORE_COMPLIANCE_ANNOTATION)
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*$")


def _annotation_errors(specs: SpecSet) -> Iterator[SpecError]:
    """senderctl's own annotations: a typo must not silently leave a resource unpaused."""
    for doc in specs.documents:
        notes = doc.metadata.annotations or {}
        path = ("metadata", "annotations")
        paused = notes.get(PAUSED_ANNOTATION)
        if paused is not None and paused.strip().lower() not in ("true", "false"):
            yield _error(doc, (*path, PAUSED_ANNOTATION),
                         f"{quoted(paused)} is not \"true\" or \"false\" (quote it: senderctl.io/paused: \"true\")")
        pinned = notes.get(BIRD_ID_ANNOTATION)
        if pinned is not None and not str(pinned).strip():
            yield _error(doc, (*path, BIRD_ID_ANNOTATION), "is empty: give the Bird id of the object this spec manages")
        ignored = notes.get(IGNORE_DRIFT_ANNOTATION)
        if ignored is not None:
            bad = [part for part in ignored.split(",") if not FIELD_NAME.match(part.strip())]
            if bad or not ignored.strip():
                yield _error(doc, (*path, IGNORE_DRIFT_ANNOTATION),
                             f"{quoted(ignored)} is not a comma-separated list of field names (e.g. \"website,url\")")
        silenced = notes.get(IGNORE_COMPLIANCE_ANNOTATION)
        if silenced is not None:
            from specs.compliance import annotation_problems

            problem = annotation_problems(silenced)
            if problem:
                yield _error(doc, (*path, IGNORE_COMPLIANCE_ANNOTATION), problem)
        for key in notes:
            if key.startswith("senderctl.io/") and key not in KNOWN_ANNOTATIONS:
                hint = suggest(key, list(KNOWN_ANNOTATIONS))
                yield _error(doc, (*path, key), f"unknown senderctl annotation {quoted(key)}{hint}")
