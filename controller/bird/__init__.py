"""Bird: the typed client (the only httpx user in senderctl), its models and errors, webhook signing.

``BirdClient`` is loaded on first use, so importing the models, errors or signing helpers does not pull
in the HTTP stack.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from controller.bird.errors import (
    BirdAmbiguousWriteError,
    BirdAuthError,
    BirdConfigurationError,
    BirdConflict,
    BirdError,
    BirdHTTPError,
    BirdNotFound,
    BirdRateLimited,
    BirdResponseError,
    BirdServerError,
    BirdTransportError,
    BirdValidationError,
)
from controller.bird.models import (
    Brand,
    BrandCreate,
    BrandUpdate,
    Campaign,
    CampaignCreate,
    CampaignUpdate,
    Channel,
    Connector,
    ConnectorCreate,
    EventFilter,
    Number,
    Price,
    Rejection,
    Reseller,
    SmsConnectorArguments,
    StatusAssertion,
    StatusCheck,
    StockItem,
    Vetting,
    VettingCreate,
    WebhookSubscription,
    WebhookSubscriptionCreate,
    WebhookSubscriptionUpdate,
)

if TYPE_CHECKING:
    from controller.bird.client import BirdClient


def __getattr__(name: str) -> Any:
    if name == "BirdClient":
        from controller.bird.client import BirdClient

        return BirdClient
    raise AttributeError(f"module 'controller.bird' has no attribute {name!r}")


__all__ = [
    "BirdAmbiguousWriteError",
    "BirdAuthError",
    "BirdClient",
    "BirdConfigurationError",
    "BirdConflict",
    "BirdError",
    "BirdHTTPError",
    "BirdNotFound",
    "BirdRateLimited",
    "BirdResponseError",
    "BirdServerError",
    "BirdTransportError",
    "BirdValidationError",
    "Brand",
    "BrandCreate",
    "BrandUpdate",
    "Campaign",
    "CampaignCreate",
    "CampaignUpdate",
    "Channel",
    "Connector",
    "ConnectorCreate",
    "EventFilter",
    "Number",
    "Price",
    "Rejection",
    "Reseller",
    "SmsConnectorArguments",
    "StatusAssertion",
    "StatusCheck",
    "StockItem",
    "Vetting",
    "VettingCreate",
    "WebhookSubscription",
    "WebhookSubscriptionCreate",
    "WebhookSubscriptionUpdate",
]

# httpx imports its command-line tool (click, rich and pygments: ~50 ms of a plan's start-up) when they are
# installed; senderctl never runs it. A module marked absent makes httpx fall back to its stub `main`.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
