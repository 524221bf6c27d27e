"""Secret references: specs name where a secret lives, never the secret itself."""

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ConfigDict, Field

from specs.models.common import SpecModel, Violation, rule

ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,254}$"
INLINE_SECRET_MESSAGE = (
    "inline secrets are not allowed in spec files; put the key in an environment variable and write "
    "`{fromEnv: MY_SIGNING_KEY}`, or in a file and write `{fromFile: path/to/key}`"
)


class SecretMissing(Exception):
    """A referenced secret is not available. The message names the reference, never a value."""


class SecretRef(SpecModel):
    """Where a secret lives: exactly one of an environment variable or a file (relative to the spec file)."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["fromEnv"]}, {"required": ["fromFile"]}]})

    fromEnv: str | None = Field(None, pattern=ENV_NAME_PATTERN, description="Environment variable holding it.")
    fromFile: str | None = Field(None, min_length=1, max_length=4096,
                                 description="File holding it; relative paths start at the spec file's directory.")

    @rule("fromEnv", "fromFile")
    def _exactly_one(self) -> list[Violation]:
        if (self.fromEnv is None) == (self.fromFile is None):
            return [Violation((), "give exactly one of fromEnv or fromFile")]
        return []

    def describe(self) -> str:
        return f"environment variable {self.fromEnv}" if self.fromEnv else f"file {self.fromFile}"

    def resolve(self, base_dir: str | Path = ".", environ: Mapping[str, str] | None = None) -> str:
        """The secret's value; raises SecretMissing naming the variable or file when it is not there."""
        if self.fromEnv:
            value = (os.environ if environ is None else environ).get(self.fromEnv)
            if not value:
                raise SecretMissing(f"environment variable {self.fromEnv} is not set or empty "
                                    f"(referenced as fromEnv: {self.fromEnv})")
            return value
        if not self.fromFile:
            raise SecretMissing("the reference names neither fromEnv nor fromFile")
        path = Path(self.fromFile)
        if not path.is_absolute():
            path = Path(base_dir) / path
        try:
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise SecretMissing(f"cannot read secret file {path} ({reason})") from None
        if not value:
            raise SecretMissing(f"secret file {path} is empty")
        return value

    def __repr__(self) -> str:
        return f"SecretRef({self.describe()})"
