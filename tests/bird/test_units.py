"""The client's pure parts: money, error bodies, Retry-After, E.164, models, the token bucket."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest
from pydantic import ValidationError

from controller.bird import (
    BirdAmbiguousWriteError,
    BirdAuthError,
    BirdConfigurationError,
    BirdConflict,
    BirdHTTPError,
    BirdNotFound,
    BirdValidationError,
    Brand,
    BrandCreate,
    BrandUpdate,
    Connector,
    Number,
    Price,
    StockItem,
    VettingCreate,
    WebhookSubscription,
    WebhookSubscriptionCreate,
)
from controller.bird.client import BirdClient, check_e164, parse_retry_after
from controller.bird.errors import error_class_for_status
from controller.bird.ratelimit import TokenBucket

pytestmark = pytest.mark.anyio

SECRET_KEY = "sk_live_do-not-print-this-0123456789"


@pytest.mark.parametrize(
    ("amount", "exponent", "expected"),
    [(3500000, -6, Decimal("3.5")), (299, -2, Decimal("2.99")), (115, -2, Decimal("1.15")), (7, 0, Decimal(7))],
)
def test_price_decimal_is_exact(amount: int, exponent: int, expected: Decimal) -> None:
    price = Price(currencyCode="USD", amount=amount, exponent=exponent)
    assert price.decimal == expected
    assert isinstance(price.decimal, Decimal)


def test_price_sums_without_float_drift() -> None:
    cents = Price(currencyCode="USD", amount=1, exponent=-2)
    assert sum((cents.decimal for _ in range(10)), Decimal(0)) == Decimal("0.10")


@pytest.mark.parametrize(
    ("body", "fields", "code"),
    [
        ({"code": "InvalidPayload", "message": "bad", "details": {"ein": ["too long"]}}, ["ein"], "InvalidPayload"),
        ({"message": "bad", "details": [{"field": "postalCode", "message": "5 digits"}]}, ["postalCode"], None),
        ({"error": {"code": "E01001", "param": "website", "details": [{"param": "email"}]}}, ["website", "email"],
         "E01001"),
        ({"errors": [{"loc": ["x"], "path": ["samples", 0]}]}, ["samples.0"], None),
        ("upstream exploded", [], None),
        (None, [], None),
    ],
)
def test_http_error_reads_bird_error_bodies(body: object, fields: list[str], code: str | None) -> None:
    error = BirdValidationError(status=422, method="POST", route="/workspaces/{workspaceId}/tcr-brands",
                                path="/workspaces/w/tcr-brands", body=body, request_id="req-1")
    assert error.fields == fields
    assert error.code == code
    text = str(error)
    assert "422" in text and "POST /workspaces/{workspaceId}/tcr-brands" in text and "req-1" in text
    for field in fields:
        assert field in text


def test_error_bodies_are_stored_with_secrets_masked() -> None:
    body = {"message": "invalid url", "request": {"url": "ftp://x", "signingKey": "whsec-123"}}
    error = BirdValidationError(status=422, method="POST", route="/r", path="/r", body=body)
    assert "whsec-123" not in repr(error.body) + str(error) + repr(error)
    assert error.body["request"]["signingKey"] == "***"
    ambiguous = BirdAmbiguousWriteError(method="POST", route="/r", path="/r", reason="502", body=body)
    assert "whsec-123" not in repr(ambiguous.body) + str(ambiguous)
    assert "may have been applied" in str(ambiguous) and "re-read" in str(ambiguous).lower()


@pytest.mark.parametrize(
    ("status", "cls"),
    [(401, BirdAuthError), (403, BirdAuthError), (404, BirdNotFound), (409, BirdConflict),
     (422, BirdValidationError), (400, BirdValidationError), (418, BirdHTTPError)],
)
def test_status_maps_to_error_class(status: int, cls: type) -> None:
    assert error_class_for_status(status) is cls


def test_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = time.time()
    later = format_datetime(datetime.fromtimestamp(now, UTC) + timedelta(seconds=30), usegmt=True)
    assert 28 <= parse_retry_after(later, now=now) <= 31


def test_e164_check() -> None:
    assert check_e164("+14155550100") == "+14155550100"
    for bad in ["4155550100", "+1415555", "+1 415 555 0100", "not a number"]:
        with pytest.raises(ValueError, match="E.164"):
            check_e164(bad)


def test_requests_forbid_unknown_fields_responses_keep_them() -> None:
    with pytest.raises(ValidationError):
        BrandUpdate.model_validate({"displayName": "Acme", "dispalyName": "typo"})
    brand = Brand.model_validate({"id": "b1", "status": "APPROVED", "newBirdField": {"x": 1}})
    assert brand.model_extra == {"newBirdField": {"x": 1}}


def test_request_bodies_use_bird_names_and_skip_unset() -> None:
    assert VettingCreate.model_validate({"class": "STANDARD", "vettingProviderId": "AEGIS"}).to_body() == {
        "class": "STANDARD", "vettingProviderId": "AEGIS"}
    assert BrandUpdate(website="https://acme.example").to_body() == {"website": "https://acme.example"}
    with pytest.raises(ValidationError):
        BrandCreate.model_validate({"displayName": "only this"})


def test_owned_number_accepts_both_bird_spellings() -> None:
    a = Number.model_validate({"id": "n1", "number": "+14155550100", "country": "US"})
    b = Number.model_validate({"id": "n1", "numberString": "+14155550100", "countryCode": "US"})
    assert (a.number, a.country) == (b.number, b.country) == ("+14155550100", "US")


def test_connector_exposes_channel_and_arguments() -> None:
    connector = Connector.model_validate({
        "id": "c1",
        "arguments": {"phoneNumberId": "n1", "useCaseId": "camp1", "channelMessageType": "transactional"},
        "channel": {"channelId": "ch1", "platform": "sms-messagebird"},
        "statusChecks": [{"name": "useCaseStatus", "status": "warning", "assertions": [
            {"name": "brand", "status": "ok"},
            {"name": "checks whether number is linked to campaign", "status": "warning",
             "message": "Number status is INACTIVE"}]}],
    })
    assert connector.channel_id == "ch1"
    assert (connector.phone_number_id, connector.use_case_id, connector.channel_message_type) == (
        "n1", "camp1", "transactional")
    check = connector.use_case_status
    assert check is not None and not check.ok
    assert check.assertions[1].message == "Number status is INACTIVE"


def test_signing_keys_never_show_in_reprs() -> None:
    create = WebhookSubscriptionCreate(service="channels", event="sms.inbound", url="https://x.example/h",
                                       signingKey="whsec-top-secret")
    read = WebhookSubscription.model_validate({"id": "s1", "signingKey": "whsec-top-secret"})
    for text in (repr(create), str(create), repr(read), str(read), read.model_dump_json()):
        assert "whsec-top-secret" not in text
    assert create.to_body()["signingKey"] == "whsec-top-secret"


async def test_client_repr_and_config_errors_hide_the_key() -> None:
    async with BirdClient("http://127.0.0.1:9", SECRET_KEY) as client:
        assert SECRET_KEY not in repr(client) + str(client) + repr(vars(client))
        for http in client._connections:
            assert SECRET_KEY not in repr(http) + repr(http.headers) + repr(http.auth)
    with pytest.raises(BirdConfigurationError, match="BIRD_ACCESS_KEY"):
        BirdClient("http://127.0.0.1:9", "")
    with pytest.raises(BirdConfigurationError) as info:
        BirdClient("127.0.0.1:9", SECRET_KEY)
    assert SECRET_KEY not in str(info.value)


async def test_token_bucket_spaces_requests() -> None:
    bucket = TokenBucket(50.0, burst=1)
    start = time.monotonic()
    for _ in range(11):
        await bucket.acquire()
    # 1 immediate + 10 at 50/s: at least 0.2 s.
    assert time.monotonic() - start >= 0.19


async def test_token_bucket_burst_is_immediate() -> None:
    bucket = TokenBucket(5.0, burst=5)
    start = time.monotonic()
    for _ in range(5):
        await bucket.acquire()
    assert time.monotonic() - start < 0.05


async def test_token_bucket_never_sends_more_than_its_rate_in_any_second() -> None:
    # A full bucket refilling at the rate would let burst + rate through in the first second; a server
    # counting the last second answers the excess with 429 (and a second's Retry-After).
    bucket = TokenBucket(3.0, burst=3)
    sent = []
    for _ in range(7):
        await bucket.acquire()
        sent.append(time.monotonic())
    assert all(later - earlier >= 1.0 for earlier, later in zip(sent, sent[3:], strict=False))


async def test_each_429_widens_the_buckets_window_up_to_a_tenth_of_a_second_and_sending_narrows_it() -> None:
    from controller.bird.ratelimit import MAX_WINDOW_SECONDS, WINDOW_SECONDS

    now = [100.0]
    bucket = TokenBucket(1000.0, burst=1000, clock=lambda: now[0])
    assert bucket.window == WINDOW_SECONDS
    bucket.pause(0)
    assert bucket.window == pytest.approx(WINDOW_SECONDS + 0.02)
    for _ in range(20):
        bucket.pause(0)
    assert bucket.window == MAX_WINDOW_SECONDS  # 90 % of the limit stays usable
    for _ in range(500):
        await bucket.acquire()
        now[0] += 0.01
    assert WINDOW_SECONDS < bucket.window < MAX_WINDOW_SECONDS - 0.02


def test_token_bucket_rejects_nonsense_rates() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)


def test_an_incomplete_price_is_unknown_not_free() -> None:
    partial = StockItem.model_validate(
        {"id": "i1", "numberString": "+14155550100", "countryCode": "US", "monthlyPrice": {"currencyCode": "EUR"}})
    assert partial.monthlyPrice is None
    full = StockItem.model_validate({"id": "i2", "numberString": "+14155550100", "monthlyPrice": {
        "currencyCode": "USD", "amount": 1150000, "exponent": -6}})
    assert full.monthlyPrice is not None and full.monthlyPrice.decimal == Decimal("1.15")
    with pytest.raises(ValidationError):
        Price.model_validate({"currencyCode": "USD"})
