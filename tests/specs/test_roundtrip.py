"""Round trip for every kind: model -> YAML text -> load_text -> the same model."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import jsonschema
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specs import DOCUMENT_CLASSES, SpecDocument, load_text
from specs.models.brand import AltBusinessIdType, EntityType, StockExchange
from specs.models.campaign import SubUsecase, Usecase
from specs.models.webhook import SERVICE_OF_EVENT
from specs.schema import json_schema
from specs.tcr import VERTICAL_NAMES

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z")
uuids = st.uuids(version=4).map(str)
# Any text without surrogates: YAML quoting must carry it through unchanged.
texts = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=0,
                max_size=60)
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,!?'\"#:-", min_size=1, max_size=40)


def sized(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    filler = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), min_size=min_size,
                     max_size=min(max_size, min_size + 60))
    return filler.filter(lambda s: min_size <= len(s) <= max_size)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def literal_values(literal: Any) -> list[Any]:
    return list(literal.__args__)


emails = st.builds(lambda a, b: f"{a}@{b}.example", names, names)
us_numbers = st.sampled_from(["+14155550100", "+12025550143", "+13125550188", "+15125550199", "+12125551234"])
regions = st.sampled_from(["US", "NL", "GB", "DE", "FR", "CA", "AU"])


def envelope(kind: str, spec: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    labels = optional(st.dictionaries(st.from_regex(r"\A[a-z][a-z0-9]{0,10}\Z"), words.map(str.strip)
                                      .filter(lambda s: 0 < len(s) <= 63), max_size=3))
    return st.builds(lambda name, spec, labels: {
        "apiVersion": "senderctl/v1", "kind": kind,
        "metadata": {"name": name, **({"labels": labels} if labels is not None else {})}, "spec": spec,
    }, names, spec, labels)


def drop_none(**fields: Any) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


organization = st.builds(lambda oid, enabled, limit, price: {
    "birdOrganizationId": oid,
    "multiSmsNumbers": {"enabled": enabled, "limit": limit, "weeklyPrice": str(price), "currency": "USD"},
}, uuids, st.booleans(), st.integers(1, 100_000), st.decimals(0, 999, places=2).map(Decimal))

workspace = st.builds(lambda org, wid: {"organization": org, "birdWorkspaceId": wid}, names, uuids)


@st.composite
def brand(draw: st.DrawFn) -> dict:
    entity = draw(st.sampled_from(literal_values(EntityType)))
    public = entity == "PUBLIC_PROFIT"
    alt_id = draw(optional(st.from_regex(r"\A[A-Z0-9]{1,20}\Z")))
    return drop_none(
        workspace=draw(names), entityType=entity,
        firstName=draw(optional(sized(1, 100))), lastName=draw(optional(sized(1, 100))),
        displayName=draw(sized(1, 255)), companyName=draw(sized(1, 255)),
        ein=draw(st.from_regex(r"\A[0-9]{9}\Z")), einIssuingCountry="US", phone=draw(us_numbers),
        street=draw(sized(1, 100)), city=draw(sized(1, 100)), state=draw(st.from_regex(r"\A[A-Z]{2}\Z")),
        postalCode=draw(st.from_regex(r"\A[0-9]{5}\Z")), country="US", email=draw(emails),
        stockSymbol=draw(st.from_regex(r"\A[A-Z]{1,5}\Z")) if public else None,
        stockExchange=draw(st.sampled_from(literal_values(StockExchange)[1:])) if public else None,
        website=draw(st.builds(lambda n: f"https://{n}.example", names)),
        vertical=draw(optional(st.sampled_from(sorted(VERTICAL_NAMES)))),  # the registry's verticals only
        altBusinessId=alt_id,
        altBusinessIdType=draw(st.sampled_from(literal_values(AltBusinessIdType)[1:])) if alt_id else None,
        vetting=draw(optional(st.builds(lambda p: drop_none(**{"class": "STANDARD", "vettingProviderId": p}),
                                        optional(st.just("AEGIS"))))),
    )


@st.composite
def campaign(draw: st.DrawFn) -> dict:
    usecase = draw(st.sampled_from(literal_values(Usecase)))
    mixed = usecase in ("MIXED", "LOW_VOLUME")
    subs = draw(st.lists(st.sampled_from(literal_values(SubUsecase)), min_size=2, max_size=5, unique=True))
    flags = {f: draw(optional(st.booleans())) for f in ("numberPool", "ageGated", "directLending",
                                                         "subscriberOptin", "subscriberOptout", "subscriberHelp")}
    return drop_none(
        brand=draw(names), reseller=draw(optional(uuids)), name=draw(sized(1, 255)), usecase=usecase,
        subUsecases=subs if mixed else None, description=draw(sized(40, 4096)),
        samples=draw(st.lists(sized(20, 1024), min_size=1, max_size=5)), messageFlow=draw(sized(40, 2048)),
        helpMessage=draw(sized(20, 255)), helpKeywords=draw(optional(st.just("HELP, INFO"))),
        optoutKeywords=draw(optional(st.just("STOP"))), optinKeywords=draw(optional(st.just("START"))),
        optinMessage=draw(optional(sized(20, 255))), optoutMessage=draw(optional(sized(20, 255))),
        termsAndConditions=True, **flags,
    )


selector = st.builds(lambda country, kind: {"country": country, "type": kind}, regions,
                     st.sampled_from(["local", "mobile", "tollfree"]))
us_local = st.builds(lambda prefix: drop_none(country="US", type="local", prefix=prefix),
                     optional(st.sampled_from(["+1415", "+1212", "+1312", "+1"])))


@st.composite
def phone_number(draw: st.DrawFn) -> dict:
    linked = draw(st.booleans())
    exact = draw(st.booleans())
    chosen = {"number": draw(us_numbers)} if exact else {"select": draw(us_local if linked else selector)}
    return drop_none(
        workspace=draw(names), **chosen, campaign=draw(names) if linked else None,
        assignee=draw(optional(emails)), deletionPolicy=draw(st.sampled_from(["Orphan", "Archive"])),
        protected=draw(st.booleans()),
        channelMessageType=draw(st.sampled_from(["transactional", "promotional", "conversational"])),
        channelName=draw(optional(sized(1, 100))),
    )


@st.composite
def number_pool(draw: st.DrawFn) -> dict:
    count = draw(st.integers(1, 1000))
    return drop_none(
        workspace=draw(names), count=count, select=draw(us_local),
        campaign=draw(optional(names)),
        assignees=draw(optional(st.lists(emails, max_size=min(count, 5), unique=True))),
        deletionPolicy=draw(st.sampled_from(["Orphan", "Archive"])), protected=draw(st.booleans()),
    )


@st.composite
def webhook(draw: st.DrawFn) -> dict:
    event = draw(st.sampled_from(sorted(SERVICE_OF_EVENT)))
    key = draw(st.one_of(st.builds(lambda n: {"fromEnv": n}, st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,30}\Z")),
                         st.builds(lambda p: {"fromFile": p}, st.from_regex(r"\A[a-z0-9/._-]{1,40}\Z"))))
    filters = draw(st.lists(st.builds(lambda k, v: {"key": k, "value": v}, st.from_regex(r"\A[a-zA-Z]{1,20}\Z"),
                                      words), max_size=3, unique_by=lambda f: f["key"]))
    url = draw(st.sampled_from(["https://hooks.acme.example/bird", "http://127.0.0.1:8080/webhooks/bird",
                                "http://localhost/x", "https://[::1]:9000/h"]))
    service = SERVICE_OF_EVENT[event]
    return {"workspace": draw(names), "service": service, "event": event, "url": url,
            "signingKey": key, "eventFilters": filters if service != "numbers" else []}  # Bird: no filters there


SPEC_STRATEGIES = {
    "Organization": organization, "Workspace": workspace, "Brand": brand(), "Campaign": campaign(),
    "PhoneNumber": phone_number(), "NumberPool": number_pool(), "WebhookSubscription": webhook(),
}


def test_every_kind_has_a_strategy() -> None:
    assert set(SPEC_STRATEGIES) == set(DOCUMENT_CLASSES)


SCHEMA = jsonschema.Draft202012Validator(json_schema())


def _round_trip(document: dict) -> None:
    model = DOCUMENT_CLASSES[document["kind"]].model_validate(document)
    # What validate accepts, the editor's schema accepts too.
    assert [e.message for e in SCHEMA.iter_errors(model.to_document())] == []
    text = yaml.safe_dump(model.to_document(), allow_unicode=True, sort_keys=False)
    result = load_text(text, "roundtrip.yaml")
    # Only this document is loaded: references may dangle, nothing else may be wrong.
    assert [e for e in result.errors if "is not defined" not in e.message] == []
    loaded = result.specs.get(model.kind, model.name)
    assert isinstance(loaded, SpecDocument)
    assert loaded.model_dump() == model.model_dump()
    assert loaded.to_document() == model.to_document()


@SETTINGS
@given(st.sampled_from(sorted(SPEC_STRATEGIES)).flatmap(lambda kind: envelope(kind, SPEC_STRATEGIES[kind])))
def test_round_trip_any_kind(document: dict) -> None:
    _round_trip(document)


def _per_kind(kind: str):  # type: ignore[no-untyped-def]
    @SETTINGS
    @given(envelope(kind, SPEC_STRATEGIES[kind]))
    def test(document: dict) -> None:
        _round_trip(document)

    test.__name__ = f"test_round_trip_{kind}"
    return test


for _kind in SPEC_STRATEGIES:
    globals()[f"test_round_trip_{_kind}"] = _per_kind(_kind)
