"""Bird's 10DLC registration fees, as Bird publishes them.

Bird's API does not quote these (docs.bird.com "Additional costs for using 10DLC"): brand
registration $4 on submission, optional secondary vetting $40, use-case (campaign) registration
$15 compliance review plus the carriers' monthly fee with a three-month minimum. senderctl shows
them in plans so a reviewer sees what a merge will cost.
"""

from __future__ import annotations

from decimal import Decimal

BRAND_REGISTRATION = Decimal("4")
BRAND_RESUBMISSION = Decimal("4")      # "Brand resubmission: $4 (per resubmission)"
BRAND_VETTING = Decimal("40")
CAMPAIGN_REGISTRATION = Decimal("15")
CAMPAIGN_MONTHLY = Decimal("10")
CAMPAIGN_MINIMUM_MONTHS = 3
# Bird: resubmitting a declined campaign "will incur charges again" (the $15 compliance review).
CAMPAIGN_RESUBMISSION = CAMPAIGN_REGISTRATION


def campaign_one_time() -> Decimal:
    """Registration plus the three-month minimum commitment, all due on approval."""
    return CAMPAIGN_REGISTRATION + CAMPAIGN_MONTHLY * CAMPAIGN_MINIMUM_MONTHS
