"""Resolve secret references carried as plain data (plans, desired resources) at the last moment.

The rules live with the spec language (specs.SecretRef); plans, journals and the state database
keep only the reference (and, for signing keys, a salted digest), never the value.
"""

from __future__ import annotations

from collections.abc import Mapping

from specs import SecretMissing, SecretRef

__all__ = ["SecretMissing", "resolve_secret"]


def resolve_secret(ref: Mapping[str, str], base_dir: str = ".", environ: Mapping[str, str] | None = None) -> str:
    return SecretRef.model_validate(dict(ref)).resolve(base_dir, environ)
