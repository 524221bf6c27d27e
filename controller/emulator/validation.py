"""Field checks with Bird's documented limits; every problem is collected so one 422 names them all."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from controller.emulator.numbers import is_valid_e164

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
US_ZIP = re.compile(r"^\d{5}$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class Problems:
    """Field name -> messages, in the order found."""

    def __init__(self, prefix: str = "", details: dict[str, list[str]] | None = None) -> None:
        self.prefix = prefix
        self.details: dict[str, list[str]] = {} if details is None else details

    def scoped(self, prefix: str) -> Problems:
        """Problems of a nested object, named ``prefix.field``, collected into the same details."""
        return Problems(f"{self.prefix}{prefix}.", self.details)

    def add(self, field: str, message: str) -> None:
        self.details.setdefault(self.prefix + field, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.details)

    def unknown_fields(self, body: dict[str, Any], allowed: Iterable[str]) -> None:
        known = set(allowed)
        for name in body:
            if name not in known:
                self.add(name, "is not a known field")

    def string(self, body: dict[str, Any], name: str, *, required: bool = False, min_len: int = 0,
               max_len: int | None = None) -> str | None:
        value = body.get(name)
        if value is None:
            if required:
                self.add(name, "is required")
            return None
        if not isinstance(value, str):
            self.add(name, "must be a string")
            return None
        if len(value) < max(min_len, 1 if required else 0):
            self.add(name, f"must be at least {max(min_len, 1)} characters long")
        elif max_len is not None and len(value) > max_len:
            self.add(name, f"must be at most {max_len} characters long")
        return value

    def enum(self, body: dict[str, Any], name: str, allowed: Iterable[str], *, required: bool = False) -> str | None:
        value = self.string(body, name, required=required)
        options = tuple(allowed)
        if value is not None and value not in options:
            self.add(name, f"must be one of {', '.join(options)}")
            return None
        return value

    def boolean(self, body: dict[str, Any], name: str, *, required: bool = False) -> bool | None:
        value = body.get(name)
        if value is None:
            if required:
                self.add(name, "is required")
            return None
        if not isinstance(value, bool):
            self.add(name, "must be true or false")
            return None
        return value

    def string_list(self, body: dict[str, Any], name: str, *, required: bool = False, min_items: int = 0,
                    max_items: int | None = None, max_len: int | None = None) -> list[str] | None:
        value = body.get(name)
        if value is None:
            if required:
                self.add(name, "is required")
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(name, "must be a list of strings")
            return None
        if len(value) < min_items or (max_items is not None and len(value) > max_items):
            bound = f"between {min_items} and {max_items}" if max_items is not None else f"at least {min_items}"
            self.add(name, f"must have {bound} items")
        for i, item in enumerate(value):
            if not item:
                self.add(f"{name}[{i}]", "must not be empty")
            elif max_len is not None and len(item) > max_len:
                self.add(f"{name}[{i}]", f"must be at most {max_len} characters long")
        return value

    def phone(self, body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
        value = self.string(body, name, required=required, max_len=20)
        if value and not is_valid_e164(value):
            self.add(name, "must be a valid phone number in E.164 format, e.g. +12024567890")
        return value

    def email(self, body: dict[str, Any], name: str, *, required: bool = False, max_len: int = 100) -> str | None:
        value = self.string(body, name, required=required, max_len=max_len)
        if value and not EMAIL.match(value):
            self.add(name, "must be a valid email address")
        return value

    def uuid(self, body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
        value = self.string(body, name, required=required)
        if value and not UUID.match(value):
            self.add(name, "must be a UUID")
            return None
        return value
