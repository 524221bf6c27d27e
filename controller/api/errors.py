"""API errors: every failure answers {"error": {"code", "message"}} with the right status."""

from __future__ import annotations

from typing import Any

from controller.api.models import ErrorResponse


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def conflict(message: str, code: str = "conflict", headers: dict[str, str] | None = None, **extra: Any) -> ApiError:
    return ApiError(409, code, message, headers, **extra)


def invalid(message: str) -> ApiError:
    return ApiError(422, "invalid", message)


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


# What each route may answer besides its success (documented in /openapi.json).
AUTH = {400: _doc("The body is not JSON (or not UTF-8), or a pageToken is not one this API gave"),
        401: _doc("No token, or an unknown, expired or revoked one"),
        403: _doc("The token lacks the role or scope the route needs (see the description)"),
        404: _doc("Not found, or not the caller's: another organization's or workspace's object is not found"),
        413: _doc("The body is larger than the route's cap (see the description)"),
        422: _doc("The request is malformed"),
        503: _doc("The state database does not answer now: retry later")}
NOT_FOUND = {404: _doc("Not found")}
CONFLICT = {409: _doc("Refused: the reason (a spec that owns it, a limit, a prerequisite, blockers)")}
BIRD = {502: _doc("Bird refused or failed the request"),
        503: _doc("Bird's answer is unknown or the state is busy: retry with the same Idempotency-Key")}
