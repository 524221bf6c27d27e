"""Resolve secret references from specs (`{fromEnv: NAME}` / `{fromFile: path}`).

Values are read at the last moment and never stored: plans, journals and the state database
keep only the reference (and, for signing keys, a salted digest).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


class SecretMissing(Exception):
    """A referenced secret is not available. The message names the reference, never a value."""


def resolve_secret(ref: Mapping[str, str], base_dir: str = ".", environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if ref.get("fromEnv"):
        name = ref["fromEnv"]
        value = env.get(name)
        if not value:
            raise SecretMissing(f"environment variable {name} is not set (referenced as fromEnv: {name})")
        return value
    if ref.get("fromFile"):
        path = Path(ref["fromFile"])
        if not path.is_absolute():
            path = Path(base_dir) / path
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise SecretMissing(f"cannot read secret file {path} ({exc.strerror or exc})") from None
        if not value:
            raise SecretMissing(f"secret file {path} is empty")
        return value
    raise SecretMissing("the reference names neither fromEnv nor fromFile")
