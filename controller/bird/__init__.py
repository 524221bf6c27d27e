"""Bird: the typed client (the only httpx user in senderctl), its models and errors, webhook signing.

``BirdClient`` is loaded on first use, so importing the models, errors or signing helpers does not pull
in the HTTP stack.
"""

from __future__ import annotations

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
    AvailableNumber,
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
    "AvailableNumber",
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
