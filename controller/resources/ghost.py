"""Ghost campaigns (pure): an APPROVED campaign none of whose channels sent anything for 60 days.

Bird, US 10DLC FAQ (docs.bird.com/connectivity-platform/country-restrictions-and-regulations/
united-states-10dlc-faq): "Campaign IDs without live traffic in the past 60 days MUST be deactivated or
customer will be fined $250 USD per 'inactive' or so-called ghost Campaign ID. This fine is passed to
the customer, if Bird receives such fine from T-Mobile."

The traffic is what the daemon counted of Bird's `sms.outbound` webhooks per channel
(controller/state/traffic.py). Bird's campaign carries no approval date: the 60 days run from its
registration (`createdAt`) when nothing was ever sent, which is when the campaign started to count
against the rule at the earliest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from controller.resources.lifecycle import parse_time

GHOST_AFTER = timedelta(days=60)  # Bird's US 10DLC FAQ: no live traffic in the past 60 days
GHOST_FINE = Decimal("250")  # per campaign, T-Mobile's, passed on by Bird
APPROVED = "APPROVED"


class Counted(Protocol):
    outbound_count: int
    last_outbound_at: datetime


@dataclass(frozen=True)
class Silence:
    """What the daemon counted on a campaign's channels, and whether that makes it a ghost."""

    campaign_id: str
    last_outbound: datetime | None  # the newest sms.outbound on any of its channels; None: never
    outbound_count: int
    silent_since: datetime | None  # the last outbound, or the registration when nothing was ever sent
    ghost: bool

    def advice(self) -> str:
        since = f"{self.silent_since:%Y-%m-%d}" if self.silent_since else "its registration"
        what = (f"no outbound SMS since {since}" if self.last_outbound
                else f"no outbound SMS counted since {since} (registered)")
        return (f"{what}, 60 days or more: send from one of its numbers, or deactivate it (delete the Campaign "
                f"spec); Bird passes on T-Mobile's ${GHOST_FINE} fine per ghost campaign")


def campaign_silence(campaign: Mapping[str, Any], channel_ids: Iterable[str], traffic: Mapping[str, Counted],
                     now: datetime) -> Silence:
    """The verdict for one campaign as Bird returns it, given its channels' ids and the counted traffic."""
    counted = [traffic[c] for c in channel_ids if c in traffic]
    last = max((t.last_outbound_at for t in counted), default=None)
    registered = parse_time(campaign.get("createdAt"))
    silent_since = last or registered
    approved = str(campaign.get("status") or "").upper() == APPROVED
    ghost = approved and silent_since is not None and now - silent_since >= GHOST_AFTER
    return Silence(str(campaign.get("id") or ""), last, sum(t.outbound_count for t in counted), silent_since, ghost)


def channels_by_campaign(links: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """(channel id, campaign id) pairs -> campaign id -> its channel ids."""
    out: dict[str, list[str]] = {}
    for channel_id, campaign_id in links:
        if channel_id and campaign_id:
            out.setdefault(campaign_id, []).append(channel_id)
    return out
