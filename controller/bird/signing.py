"""Bird's webhook signature scheme, used by the emulator to sign and by our receiver to verify.

Bird sends ``messagebird-signature`` (base64), ``messagebird-request-timestamp`` and
``messagebird-request-id``. The signature is ``base64(HMAC-SHA256(signingKey, timestamp + "\\n" + url +
"\\n" + sha256(body)))`` where ``sha256(body)`` is the raw 32-byte digest (docs.bird.com, "Verifying a
webhook subscription"). The timestamp is Unix seconds; a request outside ``tolerance`` seconds of ``now``
is refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
from collections.abc import Mapping

SIGNATURE_HEADER = "messagebird-signature"
TIMESTAMP_HEADER = "messagebird-request-timestamp"
REQUEST_ID_HEADER = "messagebird-request-id"
DEFAULT_TOLERANCE = 300


class InvalidSignature(Exception):
    """A webhook failed verification; ``reason`` says why (never the key or the expected signature)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _digest(signing_key: str, timestamp: str, url: str, body: bytes) -> bytes:
    return signature_of(signing_key, timestamp, url, hashlib.sha256(body).digest())


def signature_of(signing_key: str, timestamp: str, url: str, body_digest: bytes) -> bytes:
    """The raw HMAC for a body whose SHA-256 is already known (a receiver trying several keys hashes the
    body once)."""
    message = timestamp.encode() + b"\n" + url.encode() + b"\n" + body_digest
    return hmac.new(signing_key.encode(), message, hashlib.sha256).digest()


def sign(signing_key: str, timestamp: str, url: str, body: bytes) -> str:
    """The ``messagebird-signature`` value for a request with this timestamp, URL and raw body."""
    return base64.b64encode(_digest(signing_key, timestamp, url, body)).decode()


def signed_headers(signing_key: str, timestamp: str, url: str, body: bytes, request_id: str) -> dict[str, str]:
    """All three Bird webhook headers for one delivery."""
    return {SIGNATURE_HEADER: sign(signing_key, timestamp, url, body), TIMESTAMP_HEADER: timestamp,
            REQUEST_ID_HEADER: request_id}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # plain dicts are case-sensitive; HTTP header names are not
        lowered = {key.lower(): val for key, val in headers.items()}
        value = lowered.get(name)
    return value


def verify(signing_key: str, headers: Mapping[str, str], url: str, body: bytes, *, now: float,
           tolerance: int = DEFAULT_TOLERANCE) -> None:
    """Raise ``InvalidSignature`` unless ``headers`` carry Bird's valid, recent signature of ``url`` and ``body``."""
    signature = _header(headers, SIGNATURE_HEADER)
    timestamp = _header(headers, TIMESTAMP_HEADER)
    if not signature:
        raise InvalidSignature(f"missing {SIGNATURE_HEADER} header")
    if not timestamp:
        raise InvalidSignature(f"missing {TIMESTAMP_HEADER} header")
    try:
        sent_at = float(timestamp)
    except ValueError:
        raise InvalidSignature(f"{TIMESTAMP_HEADER} is not a Unix timestamp") from None
    if not math.isfinite(sent_at):  # "nan" passes every comparison, "1e999" overflows int()
        raise InvalidSignature(f"{TIMESTAMP_HEADER} is not a finite Unix timestamp")
    if abs(now - sent_at) > tolerance:
        raise InvalidSignature(f"{TIMESTAMP_HEADER} is {int(now - sent_at)} s from now; outside the "
                               f"{tolerance} s window (replayed, or a clock is wrong)")
    try:
        received = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignature(f"{SIGNATURE_HEADER} is not base64") from None
    if not hmac.compare_digest(received, _digest(signing_key, timestamp, url, body)):
        raise InvalidSignature("bad signature: the body, the URL or the signing key does not match")
