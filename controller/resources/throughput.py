"""What each brand and campaign can send: the carriers' published 10DLC tiers. Pure.

Bird, "Throughput and daily caps"
(https://docs.bird.com/applications/channels/channels/supported-channels/sms/concepts/sms-10dlc/throughput-and-daily-caps):
T-Mobile caps a brand's daily messages by its trust (vetting) score, shared by every campaign of the brand
and by every vendor under the same tax id; AT&T throttles each campaign by its message class, from the use
case and the brand's vetting score (Bird applies AT&T's limit to Verizon, US Cellular and the rest too).
Bird publishes the two tables as pictures; the values below are the carriers' published tiers, as
aggregators list them in text (Infobip "10DLC throughput", Plivo "A2P Messaging Throughput in the US",
Clickatell "messaging throughput limits for 10DLC campaigns"); Bird's 10DLC FAQ gives Low Volume Mixed's
75 per minute on AT&T and 2,000 a day on T-Mobile. A brand without vetting is in the lowest standard tier.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# AT&T message class by vetting score: (lowest score, class for a declared use case, class for
# mixed/marketing, transactions (SMS segments) per minute per campaign).
ATT_TIERS: tuple[tuple[int, str, str, int], ...] = (
    (75, "A", "B", 4500),
    (50, "C", "D", 2400),
    (0, "E", "F", 240),
)
ATT_LOW_VOLUME = ("T", 75)  # Low Volume Mixed (Bird's 10DLC FAQ: 75 messages per minute)
# T-Mobile brand daily cap by vetting score: (lowest score, tier, messages a day).
TMOBILE_TIERS: tuple[tuple[int, str, int], ...] = (
    (75, "Top", 200_000),
    (50, "High Mid", 40_000),
    (25, "Low Mid", 10_000),
    (0, "Low", 2_000),
)
TMOBILE_LOW_VOLUME = 2_000  # Bird's 10DLC FAQ: Low Volume Mixed is capped at 2,000 a day on T-Mobile
MIXED_OR_MARKETING = frozenset({"MIXED", "MARKETING"})
LOW_VOLUME = frozenset({"LOW_VOLUME"})
# Special use cases: the carriers set the class on review (not from the score).
SPECIAL = frozenset({"AGENTS_FRANCHISES", "CARRIER_EXEMPT", "CHARITY", "EMERGENCY", "K12_EDUCATION", "POLITICAL",
                     "PROXY", "SOCIAL", "SOLE_PROPRIETOR", "SWEEPSTAKE", "UCAAS_LOW", "UCAAS_HIGH",
                     "PLATFORM_FREE_TRIAL", "M2M"})


@dataclass(frozen=True)
class BrandCap:
    score: int | None  # None: not vetted (yet)
    tier: str
    daily: int

    def text(self) -> str:
        vetted = f"vetting score {self.score}" if self.score is not None else "not vetted"
        return f"T-Mobile {self.daily:,}/day ({self.tier} tier, {vetted}; shared by the brand's campaigns)"


@dataclass(frozen=True)
class CampaignRate:
    att_class: str
    tpm: int | None  # None: set by the carriers on review (special use cases)

    def text(self) -> str:
        if self.tpm is None:
            return "AT&T class set by the carriers on review (special use case)"
        return f"AT&T class {self.att_class}, {self.tpm:,} messages/min"


def brand_score(vettings: Iterable[Mapping[str, Any]]) -> int | None:
    """The best score of the brand's ACTIVE vettings; None when it has none."""
    scores = []
    for vetting in vettings:
        if str(vetting.get("status") or "").upper() != "ACTIVE":
            continue
        try:
            scores.append(int(str(vetting.get("score"))))
        except ValueError:
            continue
    return max(scores) if scores else None


def brand_cap(score: int | None) -> BrandCap:
    for lowest, tier, daily in TMOBILE_TIERS:
        if (score or 0) >= lowest:
            return BrandCap(score, tier, daily)
    raise AssertionError("the lowest tier starts at 0")


def campaign_rate(usecase: str, score: int | None) -> CampaignRate:
    if usecase in LOW_VOLUME:
        return CampaignRate(*ATT_LOW_VOLUME)
    if usecase in SPECIAL:
        return CampaignRate("special", None)
    for lowest, declared, mixed, tpm in ATT_TIERS:
        if (score or 0) >= lowest:
            return CampaignRate(mixed if usecase in MIXED_OR_MARKETING else declared, tpm)
    raise AssertionError("the lowest tier starts at 0")


def campaign_daily_cap(usecase: str, cap: BrandCap) -> int:
    """The T-Mobile daily cap a campaign sends under: its brand's, or Low Volume Mixed's own."""
    return min(cap.daily, TMOBILE_LOW_VOLUME) if usecase in LOW_VOLUME else cap.daily
