"""Organization: a Bird organization and the platform's multi-SMS-number configuration for it."""

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

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


# The planner's default (README "Safety"): a plan that updates, replaces, archives, deletes, unassigns or
# forgets more than this share of a kind's existing resources in the organization needs --force.
DEFAULT_MAX_CHANGE_SHARE = Decimal("0.10")
RAIL_KINDS = ("Workspace", "Brand", "Vetting", "Campaign", "PhoneNumber", "NumberPool", "Channel", "Assignment",
              "WebhookSubscription")
_SHARE_SCHEMA = {"type": "number", "exclusiveMinimum": 0, "maximum": 1,
                 "description": "A share of the existing resources, e.g. 0.1 for 10 %."}

Share = Annotated[Decimal, Field(gt=0, le=1, max_digits=6, decimal_places=4), WithJsonSchema(_SHARE_SCHEMA)]


class MaxChangeShare(SpecModel):
    """The share per kind (`default` for the kinds not named) above which a plan needs --force."""

    default: Share = Field(DEFAULT_MAX_CHANGE_SHARE, description="For every kind not named here.")
    Workspace: Share | None = None
    Brand: Share | None = None
    Vetting: Share | None = None
    Campaign: Share | None = None
    PhoneNumber: Share | None = None
    NumberPool: Share | None = None
    Channel: Share | None = None
    Assignment: Share | None = None
    WebhookSubscription: Share | None = None

    def for_kind(self, kind: str) -> Decimal:
        value = getattr(self, kind, None) if kind in RAIL_KINDS else None
        return value if value is not None else self.default


_PER_KIND_SCHEMA = {
    "type": "object", "additionalProperties": False, "title": "MaxChangeShare",
    "description": "A share per kind; `default` for the kinds not named (0.1 unless given).",
    "properties": {kind: _SHARE_SCHEMA for kind in ("default", *RAIL_KINDS)},
}


def _one_share_for_all(value: Any) -> Any:
    """`maxChangeShare: 0.2` is `{default: 0.2}`."""
    if isinstance(value, int | float | str | Decimal) and not isinstance(value, bool):
        return {"default": value}
    return value


class Safety(SpecModel):
    """The organization's safety rails."""

    maxChangeShare: Annotated[
        MaxChangeShare,
        BeforeValidator(_one_share_for_all),
        WithJsonSchema({"oneOf": [_SHARE_SCHEMA, _PER_KIND_SCHEMA],
                        "description": "Above this share of a kind's existing resources (at least 10) updated, "
                                       "replaced, archived, deleted, unassigned or forgotten in one plan, apply "
                                       "needs --force. One number "
                                       "for every kind, or {default: 0.1, PhoneNumber: 0.2}."}),
    ] = Field(default_factory=MaxChangeShare)


class OrganizationSpec(SpecModel):
    """The Bird organization and the platform's number terms for it."""

    birdOrganizationId: UUIDStr = Field(description="The Bird organization id (UUID).")
    multiSmsNumbers: MultiSmsNumbers = Field(default_factory=MultiSmsNumbers,
                                             description="Multi-SMS-number configuration.")
    safety: Safety | None = Field(None, description="Safety rails: how much of the organization one plan may "
                                  "change without --force.")
