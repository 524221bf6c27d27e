"""Organization: a Bird organization and the platform's multi-SMS-number configuration for it."""

from decimal import Decimal
from typing import Annotated

from pydantic import Field, WithJsonSchema

from specs.models.common import CURRENCY_PATTERN, SpecModel, UUIDStr


class MultiSmsNumbers(SpecModel):
    """Whether the organization may hold more than one SMS number, how many, and at what weekly price."""

    enabled: bool = Field(False, description="More than one SMS number for this organization (one per user).")
    limit: int = Field(1, ge=1, le=100_000, description="Most numbers the organization may hold.")
    weeklyPrice: Annotated[
        Decimal,
        Field(ge=0, max_digits=12, decimal_places=4),
        WithJsonSchema({"type": ["string", "number"], "pattern": r"^[0-9]{1,8}(\.[0-9]{1,4})?$", "minimum": 0}),
    ] = Field(
        Decimal("2.99"), description='Price billed per number per week, as a decimal string ("2.99").')
    currency: str = Field("USD", pattern=CURRENCY_PATTERN, description="ISO 4217 currency of weeklyPrice.")


class OrganizationSpec(SpecModel):
    """The Bird organization and the platform's number terms for it."""

    birdOrganizationId: UUIDStr = Field(description="The Bird organization id (UUID).")
    multiSmsNumbers: MultiSmsNumbers = Field(default_factory=MultiSmsNumbers,
                                             description="Multi-SMS-number configuration.")
