"""Located spec errors: every problem a user must fix, pointing at the line and column of the value."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class SourceLocation:
    """Where a value sits in a spec file (1-based line and column)."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, order=True)
class SpecError:
    """One problem in the specs, rendered as `PATH:LINE:COLUMN: Kind/name: field.path: message`.

    `address` is `Kind/name` when the document got far enough to have one, else "-";
    `field` is the dotted path inside the document ("spec.samples[0]"), or "-" for the whole file.
    """

    location: SourceLocation
    address: str
    field: str
    message: str

    @property
    def path(self) -> str:
        return self.location.path

    @property
    def line(self) -> int:
        return self.location.line

    @property
    def column(self) -> int:
        return self.location.column

    def __str__(self) -> str:
        return f"{self.location}: {self.address}: {self.field}: {self.message}"


def format_field_path(parts: tuple[str | int, ...]) -> str:
    """("spec", "samples", 0) -> "spec.samples[0]"."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "-"


def quoted(value: object, limit: int = 60) -> str:
    """A user's value for a message: quoted, and cut short so a huge value cannot flood the output."""
    text = str(value)
    return f"'{text[:limit]}…'" if len(text) > limit else f"'{text}'"
