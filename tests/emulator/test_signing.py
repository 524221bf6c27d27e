"""Bird's webhook signature: sign and verify, against an independent computation of the documented recipe."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from controller.bird.signing import (
    REQUEST_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidSignature,
    sign,
    signed_headers,
    verify,
)

KEY = "KeV+/HGoIQrxuE5YPCRR6AuQOJveldYNNhbVi1i22qk="
URL = "https://domain.com/webhook/bird"
BODY = b'{"service":"channels","event":"sms.inbound","payload":{}}'
NOW = 1_760_000_000


def documented_signature(key: str, timestamp: str, url: str, body: bytes) -> str:
    # docs.bird.com "Verifying a webhook subscription", step by step (the PHP example in Python).
    body_hash = hashlib.sha256(body).digest()
    payload = f"{timestamp}\n{url}\n".encode() + body_hash
    return base64.b64encode(hmac.new(key.encode(), payload, hashlib.sha256).digest()).decode()


def headers(timestamp: int = NOW, key: str = KEY, url: str = URL, body: bytes = BODY) -> dict[str, str]:
    return signed_headers(key, str(timestamp), url, body, "req-1")


def test_sign_matches_birds_documented_recipe() -> None:
    assert sign(KEY, str(NOW), URL, BODY) == documented_signature(KEY, str(NOW), URL, BODY)


def test_signed_headers_carry_birds_three_headers() -> None:
    sent = headers()
    assert set(sent) == {SIGNATURE_HEADER, TIMESTAMP_HEADER, REQUEST_ID_HEADER}
    assert sent[TIMESTAMP_HEADER] == str(NOW) and sent[REQUEST_ID_HEADER] == "req-1"


def test_verify_accepts_a_fresh_valid_signature_with_any_header_case() -> None:
    verify(KEY, headers(), URL, BODY, now=NOW + 10)
    verify(KEY, {k.title(): v for k, v in headers().items()}, URL, BODY, now=NOW)


@pytest.mark.parametrize(("change", "reason"), [
    ({"key": "another-key"}, "bad signature"),
    ({"url": "https://domain.com/webhook/other"}, "bad signature"),
    ({"body": BODY + b" "}, "bad signature"),
])
def test_verify_refuses_a_signature_of_anything_else(change: dict[str, object], reason: str) -> None:
    args = {"key": KEY, "url": URL, "body": BODY, **change}
    with pytest.raises(InvalidSignature, match=reason):
        verify(args["key"], headers(), args["url"], args["body"], now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("missing", [SIGNATURE_HEADER, TIMESTAMP_HEADER])
def test_verify_names_a_missing_header(missing: str) -> None:
    sent = {k: v for k, v in headers().items() if k != missing}
    with pytest.raises(InvalidSignature, match=f"missing {missing}"):
        verify(KEY, sent, URL, BODY, now=NOW)


@pytest.mark.parametrize("offset", [301, -301, 86400])
def test_verify_refuses_a_timestamp_outside_the_window(offset: int) -> None:
    with pytest.raises(InvalidSignature, match="outside the 300 s window"):
        verify(KEY, headers(), URL, BODY, now=NOW + offset)


def test_verify_window_is_configurable_and_inclusive() -> None:
    verify(KEY, headers(), URL, BODY, now=NOW + 300)
    with pytest.raises(InvalidSignature):
        verify(KEY, headers(), URL, BODY, now=NOW + 61, tolerance=60)


def test_verify_refuses_garbage_headers_without_echoing_the_key() -> None:
    for sent in ({SIGNATURE_HEADER: "%%%not-base64", TIMESTAMP_HEADER: str(NOW)},
                 {SIGNATURE_HEADER: sign(KEY, "soon", URL, BODY), TIMESTAMP_HEADER: "soon"}):
        with pytest.raises(InvalidSignature) as caught:
            verify(KEY, sent, URL, BODY, now=NOW)
        assert KEY not in str(caught.value)


@pytest.mark.parametrize("timestamp", ["nan", "inf", "-inf", "1e999"])
def test_verify_refuses_timestamps_that_are_not_finite(timestamp: str) -> None:
    # A correctly signed "nan" would pass a window check (every comparison with nan is false).
    sent = {SIGNATURE_HEADER: sign(KEY, timestamp, URL, BODY), TIMESTAMP_HEADER: timestamp}
    with pytest.raises(InvalidSignature, match="not a finite Unix timestamp"):
        verify(KEY, sent, URL, BODY, now=NOW)
