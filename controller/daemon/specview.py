"""The spec set in force, and what the daemon derives from it (desired resources, webhook keys).

Loading never replaces a valid set with an invalid one: the caller keeps the last valid SpecView
and reports the errors.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from controller.daemon.logs import REDACT
from controller.reconcile import engine
from controller.reconcile.desired import desired_from_specs
from controller.reconcile.secrets import SecretMissing, resolve_secret
from controller.resources.base import Desired
from specs import SpecSet
from specs.loader import ParseCache

WEBHOOK_KIND = "WebhookSubscription"
STATUS_EVENTS = ("10dlc.brand", "10dlc.campaign", "channel.updated")


@dataclass(frozen=True)
class Subscription:
    """A WebhookSubscription of the specs, as the daemon verifies deliveries with it: its key verifies only
    events this subscription could have been sent (same workspace, service and event, filters met)."""

    address: str
    workspace_id: str
    service: str
    event: str
    url: str
    key: str = field(repr=False)
    # (key, value, phoneNumber): a filter names a value, or a PhoneNumber whose channel id the state knows.
    filters: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class SpecView:
    specs: SpecSet
    desired: list[Desired]
    fingerprint: str
    # The keys webhooks may be signed with, and the URLs our subscriptions name (what Bird signs).
    signing_keys: tuple[str, ...] = ()
    subscription_urls: frozenset[str] = frozenset()
    # Subscriptions whose signing key cannot be read: their webhooks cannot be verified.
    secret_problems: tuple[str, ...] = ()
    events: frozenset[str] = field(default_factory=frozenset)
    subscriptions: tuple[Subscription, ...] = ()
    # Workspace metadata.name -> Bird workspace id (the platform API's purchases name the workspace).
    workspace_ids: Mapping[str, str] = field(default_factory=dict)
    # Each spec file's size when loaded: a removal driven by an edit is logged with the size before and after.
    file_sizes: Mapping[str, int] = field(default_factory=dict)

    @property
    def documents(self) -> int:
        return len(self.specs.documents)


class SpecsRejected(Exception):
    """The spec files cannot replace the set in force; `errors` are one line each."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} error(s) in the specs")


def load_view(paths: Sequence[str], environ: Mapping[str, str] | None, cache: ParseCache | None = None) -> SpecView:
    """Load and check the specs (file I/O: run it off the event loop). Raises SpecsRejected. `cache`: the
    daemon's parsed files (only the changed ones are parsed again)."""
    try:
        specs = engine.load(paths, cache)
    except engine.SpecsInvalid as exc:
        raise SpecsRejected([str(e) for e in exc.errors]) from None
    except OSError as exc:
        raise SpecsRejected([f"cannot read the specs: {exc}"]) from None
    if not specs.documents:
        # Almost always a mistake (an emptied file, a wrong path); acting on it would forget everything.
        raise SpecsRejected([f"no spec documents in {', '.join(paths)}: refusing to treat that as "
                             "'nothing is wanted'"])
    sizes = {}
    for path in {str(doc.source.path) for doc in specs.documents}:
        with contextlib.suppress(OSError):
            sizes[path] = os.stat(path).st_size
    return dataclasses.replace(view_of(specs, environ), file_sizes=sizes)


def view_of(specs: SpecSet, environ: Mapping[str, str] | None) -> SpecView:
    desired = desired_from_specs(specs, environ)
    keys: list[str] = []
    problems: list[str] = []
    urls: set[str] = set()
    events: set[str] = set()
    subscriptions: list[Subscription] = []
    for d in desired:
        if d.kind != WEBHOOK_KIND:
            continue
        urls.add(str(d.fields.get("url", "")))
        events.add(str(d.fields.get("event", "")))
        try:
            key = resolve_secret(d.context["signingKey"], d.context.get("specDir", "."), environ)
        except SecretMissing as exc:
            problems.append(f"{d.address}: signingKey: {exc}")
            continue
        REDACT.add(key)
        if key not in keys:
            keys.append(key)
        filters = tuple((str(f.get("key", "")), str(f.get("value") or ""), str(f.get("phoneNumber") or ""))
                        for f in d.context.get("filters", []))
        subscriptions.append(Subscription(d.address, str(d.context.get("workspaceId", "")), str(d.fields["service"]),
                                          str(d.fields["event"]), str(d.fields["url"]), key, filters))
    workspace_ids = {doc.name: str(doc.spec.birdWorkspaceId) for doc in specs.of_kind("Workspace")}
    return SpecView(specs=specs, desired=desired, fingerprint=engine.specs_fingerprint(desired),
                    signing_keys=tuple(keys), subscription_urls=frozenset(u for u in urls if u),
                    secret_problems=tuple(problems), events=frozenset(events), subscriptions=tuple(subscriptions),
                    workspace_ids=workspace_ids)


def missing_status_events(view: SpecView) -> list[str]:
    """Status events no subscription in the specs asks for: the daemon learns of those only by re-checking."""
    return [e for e in STATUS_EVENTS if e not in view.events]


def missing_traffic_event(view: SpecView) -> bool:
    """Campaigns are declared but no subscription asks for `sms.outbound`: the daemon counts no outbound
    SMS, so every approved campaign looks silent and is flagged a ghost after 60 days."""
    return any(d.kind == "Campaign" for d in view.desired) and "sms.outbound" not in view.events
