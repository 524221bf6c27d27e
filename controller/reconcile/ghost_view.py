"""Each desired campaign's ghost verdict from the observed world and the counted traffic (pure): its Bird
campaign, the channels Bird links to it (a channel's `useCaseId`), and what the daemon counted on them
(controller/resources/ghost.py holds the rule and its source)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from controller.resources.base import Desired, World
from controller.resources.ghost import Counted, Silence, campaign_silence, channels_by_campaign


def campaign_silences(desired: Sequence[Desired], world: World, traffic: Mapping[str, Counted],
                      now: datetime | None = None) -> dict[str, Silence]:
    """Campaign address -> its verdict, for every desired campaign Bird holds. `now`: Bird's clock as
    observed, else ours."""
    now = now or world.bird_now or datetime.now(UTC)
    on_bird = {str(c.get("id")): c for campaigns in world.campaigns.values() for c in campaigns}
    channels = channels_by_campaign((str(c.get("id") or ""), str(c.get("useCaseId") or ""))
                                    for chans in world.channels.values() for c in chans)
    out = {}
    for d in desired:
        record = world.records.get(d.address) if d.kind == "Campaign" else None
        campaign = on_bird.get(record.bird_id or "") if record is not None else None
        if campaign is not None:
            out[d.address] = campaign_silence(campaign, channels.get(str(campaign.get("id")), ()), traffic, now)
    return out
