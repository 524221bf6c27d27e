"""The spec set in force, and what the daemon derives from it (desired resources, webhook keys).

Loading never replaces a valid set with an invalid one: the caller keeps the last valid SpecView
and reports the errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from controller import engine
from controller.daemon.logs import REDACT
from controller.desired import desired_from_specs
from controller.resources.base import Desired
from controller.secrets import SecretMissing, resolve_secret
from specs import SpecSet

WEBHOOK_KIND = "WebhookSubscription"
STATUS_EVENTS = ("10dlc.brand", "10dlc.campaign", "channel.updated")


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

    @property
    def documents(self) -> int:
        return len(self.specs.documents)


class SpecsRejected(Exception):
    """The spec files cannot replace the set in force; `errors` are one line each."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} error(s) in the specs")


def load_view(paths: Sequence[str], environ: Mapping[str, str] | None) -> SpecView:
    """Load and check the specs (file I/O: run it off the event loop). Raises SpecsRejected."""
    try:
        specs = engine.load(paths)
    except engine.SpecsInvalid as exc:
        raise SpecsRejected([str(e) for e in exc.errors]) from None
    except OSError as exc:
        raise SpecsRejected([f"cannot read the specs: {exc}"]) from None
    if not specs.documents:
        # Almost always a mistake (an emptied file, a wrong path); acting on it would forget everything.
        raise SpecsRejected([f"no spec documents in {', '.join(paths)}: refusing to treat that as "
                             "'nothing is wanted'"])
    return view_of(specs, environ)


def view_of(specs: SpecSet, environ: Mapping[str, str] | None) -> SpecView:
    desired = desired_from_specs(specs, environ)
    keys: list[str] = []
    problems: list[str] = []
    urls: set[str] = set()
    events: set[str] = set()
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
    return SpecView(specs=specs, desired=desired, fingerprint=engine.specs_fingerprint(desired),
                    signing_keys=tuple(keys), subscription_urls=frozenset(u for u in urls if u),
                    secret_problems=tuple(problems), events=frozenset(events))


def missing_status_events(view: SpecView) -> list[str]:
    """Status events no subscription in the specs asks for: the daemon learns of those only by re-checking."""
    return [e for e in STATUS_EVENTS if e not in view.events]
