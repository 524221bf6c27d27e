"""PhoneNumber and NumberPool: numbers the organization buys on Bird, optionally linked to a campaign
(an SMS channel) and assigned to users."""

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from specs.errors import quoted
from specs.models.common import (
    E164,
    CampaignRef,
    Region,
    SpecModel,
    UserRef,
    Violation,
    WorkspaceRef,
    rule,
)

NumberType = Literal["local", "mobile", "tollfree"]
DeletionPolicy = Literal["Orphan", "Archive"]
CHANNEL_MESSAGE_TYPE_PATTERN = r"^[a-z][a-z0-9_-]{0,49}$"
ChannelMessageType = Annotated[
    str,
    Field(pattern=CHANNEL_MESSAGE_TYPE_PATTERN,
          description="Type of traffic of the SMS channel (Bird connector argument channelMessageType), "
                      "e.g. transactional, promotional, conversational."),
]
PREFIX_PATTERN = r"^\+[1-9][0-9]{0,14}$"


def prefix_problem(prefix: str, country: str) -> str | None:
    """Why `prefix` cannot start a valid number of `country`, or None when some number can."""
    import phonenumbers  # on first use, see specs.models.common

    code = phonenumbers.country_code_for_region(country)
    if not prefix.startswith(f"+{code}"):
        return f"prefix {quoted(prefix)} does not start with +{code}, the country code of {country}"
    example = phonenumbers.example_number(country)
    if example is None:
        return None
    national = phonenumbers.national_significant_number(example)
    digits = prefix[1 + len(str(code)):]
    if len(digits) >= len(national):
        return f"prefix {quoted(prefix)} is as long as a whole {country} number; use `number:` for one exact number"
    for filler in (national, "5" * len(national), "2" * len(national), "0" * len(national)):
        candidate = phonenumbers.parse(f"+{code}{digits}{filler[len(digits):]}", None)
        if phonenumbers.is_valid_number_for_region(candidate, country):
            return None
    return f"no valid {country} number starts with {quoted(prefix)}; check the area code"


class NumberSelector(SpecModel):
    """Which kind of number to buy from Bird's stock."""

    country: Region = Field("US", description="ISO 3166-1 alpha-2 country of the number.")
    type: NumberType = Field("local", description="Number type in Bird's stock.")
    prefix: str | None = Field(None, pattern=PREFIX_PATTERN, max_length=16,
                               description='E.164 prefix the number starts with, e.g. "+1415".')

    @rule("country", "prefix")
    def _prefix_fits_country(self) -> list[Violation]:
        if self.prefix is None:
            return []
        problem = prefix_problem(self.prefix, self.country)
        return [Violation(("prefix",), problem)] if problem else []


def _ten_dlc_problem(select: NumberSelector | None, number: str | None) -> Violation | None:
    """10DLC campaigns apply to US local numbers only."""
    if select is not None and (select.country != "US" or select.type != "local"):
        return Violation(("campaign",), "a 10DLC campaign link needs US local numbers "
                                        f"(select is {select.country} {select.type})")
    if number is not None:
        import phonenumbers

        region = phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
        if region != "US":
            return Violation(("campaign",), f"a 10DLC campaign link needs a US number ({number} is {region})")
    return None


class PhoneNumberSpec(SpecModel):
    """One number: chosen by `select` or given as `number`."""

    # Editors learn "exactly one of select / number" from the schema too.
    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["select"], "not": {"required": ["number"]}},
                                                           {"required": ["number"], "not": {"required": ["select"]}}]})

    workspace: WorkspaceRef
    select: NumberSelector | None = Field(None, description="Buy any number matching this (or give `number`).")
    number: E164 | None = Field(None, description="Exactly this number (or give `select`).")
    campaign: CampaignRef | None = Field(
        None, description="Install an SMS channel linking the number to this 10DLC campaign.")
    assignee: UserRef | None = Field(None, description="The user (e-mail) this number belongs to; one number per "
                                                    "user per organization.")
    deletionPolicy: DeletionPolicy = Field(
        "Orphan", description="When removed from the specs: Orphan forgets it; Archive archives it on Bird.")
    protected: bool = Field(True, description="Never archived, whatever the flags.")
    channelMessageType: ChannelMessageType = "transactional"
    channelName: str | None = Field(None, min_length=1, max_length=100, description="Name of the SMS channel.")

    @rule("select", "number", "campaign")
    def _one_way_to_choose(self) -> list[Violation]:
        if (self.select is None) == (self.number is None):
            return [Violation(("select",) if self.select else (),
                              "give exactly one of `select` (any matching number) or `number` (this number)")]
        problem = _ten_dlc_problem(self.select, self.number) if self.campaign is not None else None
        return [problem] if problem else []


class NumberPoolSpec(SpecModel):
    """`count` numbers matching `select`."""

    workspace: WorkspaceRef
    count: int = Field(ge=1, le=1000, description="How many numbers the pool holds.")
    select: NumberSelector = Field(default_factory=NumberSelector, description="Which numbers to buy.")
    campaign: CampaignRef | None = Field(None, description="Link every number of the pool to this campaign.")
    assignees: list[UserRef] | None = Field(
        None, description="Users who each get one number of the pool; at most `count`, no repeats.")
    deletionPolicy: DeletionPolicy = Field(
        "Orphan", description="When removed from the specs: Orphan forgets them; Archive archives them on Bird.")
    protected: bool = Field(True, description="Never archived, whatever the flags.")
    channelMessageType: ChannelMessageType = "transactional"

    @rule("count", "assignees")
    def _assignees_fit(self) -> list[Violation]:
        found: list[Violation] = []
        assignees = self.assignees or []
        if len(assignees) > self.count:
            found.append(Violation(("assignees",), f"{len(assignees)} assignees but the pool has only "
                                                   f"{self.count} numbers"))
        seen: set[str] = set()
        for index, user in enumerate(assignees):
            if user in seen:
                found.append(Violation(("assignees", index), f"{user} is listed twice; a user gets one number"))
            seen.add(user)
        return found

    @rule("select", "campaign")
    def _ten_dlc_link(self) -> list[Violation]:
        problem = _ten_dlc_problem(self.select, None) if self.campaign is not None else None
        return [problem] if problem else []
