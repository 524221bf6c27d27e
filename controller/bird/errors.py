"""Typed errors raised by the Bird client.

Every error names the HTTP method and the route *template* (``/workspaces/{workspaceId}/numbers``), so
logs group by route and never carry ids the reader did not ask for; the concrete path is kept separately
in ``path``. The access key is never part of any error: the client never hands it to an exception, and
secret-looking fields in Bird's error bodies (``signingKey``...) are masked before they are stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Fields that may echo a secret back from Bird (e.g. a 422 on a webhook subscription quoting the body).
SECRET_FIELD_NAMES = frozenset({"signingkey", "accesskey", "secret", "password", "token", "authorization"})
MASK = "***"


def mask_secrets(value: Any) -> Any:
    """A copy of a decoded JSON value with every secret-named field replaced by ``***``."""
    if isinstance(value, Mapping):
        return {
            key: (MASK if str(key).lower() in SECRET_FIELD_NAMES and val is not None else mask_secrets(val))
            for key, val in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


class BirdError(Exception):
    """Base class of every error the Bird client raises."""


class BirdConfigurationError(BirdError):
    """The client was built with an unusable setting (no access key, bad base URL...)."""


class BirdHTTPError(BirdError):
    """Bird answered with a non-success status (after any retries the request qualified for)."""

    def __init__(
        self,
        *,
        status: int,
        method: str,
        route: str,
        path: str,
        body: Any = None,
        request_id: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.status = status
        self.method = method
        self.route = route
        self.path = path
        self.body = mask_secrets(body)
        self.request_id = request_id
        self.attempts = attempts
        super().__init__(self._describe())

    # Bird's error bodies are not uniform across its APIs: ``{"code", "message", "details"}``, an
    # ``{"error": {...}}`` envelope, or plain text. These accessors read whichever is present.
    @property
    def _envelope(self) -> Mapping[str, Any]:
        if isinstance(self.body, Mapping):
            inner = self.body.get("error")
            return inner if isinstance(inner, Mapping) else self.body
        return {}

    @property
    def code(self) -> str | None:
        code = self._envelope.get("code")
        return None if code is None else str(code)

    @property
    def bird_message(self) -> str | None:
        message = self._envelope.get("message") or self._envelope.get("description")
        if message is None and isinstance(self.body, str) and self.body.strip():
            return self.body.strip()[:500]
        return None if message is None else str(message)

    @property
    def fields(self) -> list[str]:
        """Names of the request fields Bird blamed, in the order it listed them (may be empty)."""
        envelope = self._envelope
        names: list[str] = []
        for key in ("field", "param"):
            if isinstance(envelope.get(key), str):
                names.append(envelope[key])
        details = envelope.get("details") or envelope.get("errors") or envelope.get("fields")
        if isinstance(details, Mapping):
            names.extend(str(key) for key in details)
        elif isinstance(details, list):
            for item in details:
                if isinstance(item, Mapping):
                    name = item.get("field") or item.get("param") or item.get("path") or item.get("name")
                    if isinstance(name, list):
                        name = ".".join(str(part) for part in name)
                    if name:
                        names.append(str(name))
                elif isinstance(item, str):
                    names.append(item)
        return list(dict.fromkeys(names))

    def _describe(self) -> str:
        parts = [f"Bird answered {self.status} to {self.method} {self.route}"]
        if self.code:
            parts.append(f"code {self.code}")
        if self.bird_message:
            parts.append(self.bird_message)
        if self.fields:
            parts.append("fields: " + ", ".join(self.fields))
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        if self.attempts > 1:
            parts.append(f"after {self.attempts} attempts")
        hint = self.hint
        return "; ".join(parts) + (f". {hint}" if hint else "")

    @property
    def hint(self) -> str:
        return ""

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, method={self.method!r}, route={self.route!r}, "
            f"code={self.code!r}, request_id={self.request_id!r})"
        )


class BirdAuthError(BirdHTTPError):
    """401/403: the access key is missing, wrong, or not allowed to reach this organization/workspace."""

    @property
    def hint(self) -> str:
        return "Check BIRD_ACCESS_KEY and that its access policy covers this organization and workspace."


class BirdNotFound(BirdHTTPError):
    """404: the object (or the organization/workspace itself) does not exist for this key."""


class BirdConflict(BirdHTTPError):
    """409: the change conflicts with Bird's current state (e.g. a connector already exists for a number)."""

    @property
    def hint(self) -> str:
        return "Re-read the current state on Bird; the object may already exist."


class BirdValidationError(BirdHTTPError):
    """400/422: Bird rejected the request body or query; ``fields`` names what it blamed."""


class BirdRateLimited(BirdHTTPError):
    """429 still answered after every retry the client was allowed."""

    @property
    def hint(self) -> str:
        return ("Lower --bird-get-rate / --bird-post-rate (SENDERCTL_BIRD_GET_RATE / SENDERCTL_BIRD_POST_RATE, "
                "requests per second per workspace) or try again later.")


class BirdServerError(BirdHTTPError):
    """5xx on a request that was safe to retry, still failing after every attempt."""

    @property
    def hint(self) -> str:
        return "Bird is failing; nothing was changed by this read (or idempotent write). Try again later."


class BirdTransportError(BirdError):
    """No usable answer (timeout, refused or dropped connection) on a request that was safe to retry."""

    def __init__(self, *, method: str, route: str, path: str, reason: str, attempts: int) -> None:
        self.method = method
        self.route = route
        self.path = path
        self.reason = reason
        self.attempts = attempts
        super().__init__(
            f"No answer from Bird to {method} {route} after {attempts} attempt(s): {reason}. "
            "Check the Bird URL and the network, then try again."
        )


class BirdAmbiguousWriteError(BirdError):
    """A non-idempotent write (POST) whose outcome is unknown: it may have been applied.

    Raised on a timeout after the request was sent, a dropped connection or a 5xx answer. The client does
    not retry it, because a second POST could buy a second number or pay a second fee: re-read Bird's
    state before deciding whether to send it again.
    """

    def __init__(
        self,
        *,
        method: str,
        route: str,
        path: str,
        reason: str,
        status: int | None = None,
        body: Any = None,
        request_id: str | None = None,
    ) -> None:
        self.method = method
        self.route = route
        self.path = path
        self.reason = reason
        self.status = status
        self.body = mask_secrets(body)
        self.request_id = request_id
        rid = f" (request id {request_id})" if request_id else ""
        super().__init__(
            f"{method} {route} may have been applied: {reason}{rid}. "
            "Re-read the state on Bird before retrying."
        )

    def __repr__(self) -> str:
        return (
            f"BirdAmbiguousWriteError(method={self.method!r}, route={self.route!r}, status={self.status!r}, "
            f"reason={self.reason!r})"
        )


class BirdResponseError(BirdError):
    """Bird answered success with a body the client cannot read (not JSON, or not the documented shape)."""

    def __init__(self, *, method: str, route: str, problem: str) -> None:
        self.method = method
        self.route = route
        super().__init__(f"Unexpected answer from Bird to {method} {route}: {problem}")


def error_class_for_status(status: int) -> type[BirdHTTPError]:
    if status in (401, 403):
        return BirdAuthError
    if status == 404:
        return BirdNotFound
    if status == 409:
        return BirdConflict
    if status in (400, 422):
        return BirdValidationError
    if status == 429:
        return BirdRateLimited
    if status >= 500:
        return BirdServerError
    return BirdHTTPError
