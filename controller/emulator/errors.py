"""Bird's error answers, shared by every emulated domain and the fault layer."""

from __future__ import annotations

from typing import Any

from controller.emulator import policy
from controller.emulator.validation import Problems


class ApiError(Exception):
    """An error answer in Bird's shape: ``{"code", "message"[, "details"]}``."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


def invalid(problems: Problems | dict[str, list[str]], message: str = "The request body is invalid") -> ApiError:
    details = problems.details if isinstance(problems, Problems) else problems
    return ApiError(422, policy.CODE_INVALID, f"{message}: " + "; ".join(
        f"{name} {' and '.join(msgs)}" for name, msgs in details.items()), details)


def invalid_field(name: str, message: str, code: str = policy.CODE_INVALID) -> ApiError:
    return ApiError(422, code, f"{name} {message}", {name: [message]})


def not_found(what: str) -> ApiError:
    return ApiError(404, policy.CODE_NOT_FOUND, f"{what} not found")
