"""Turn a validated SpecSet into the desired resources the planner compares with Bird.

This is the shell around the pure kind expansions: it also resolves signing-key references so a
plan can say which secret is missing (validate does not need them; plan does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from controller.reconcile.compliance import with_findings
from controller.reconcile.scope import (
    Controls,
    annotations_by_document,
    paused_addresses,
    paused_organizations,
)
from controller.reconcile.secrets import SecretMissing, digest_secret, resolve_secret
from controller.resources import MODULES
from controller.resources.base import Desired
from controller.resources.common import legacy_signing_key_digest, signing_key_digest
from specs import SpecSet


def desired_from_specs(specs: SpecSet, environ: Mapping[str, str] | None = None) -> list[Desired]:
    out: list[Desired] = []
    for module in MODULES:
        out.extend(module.expand(specs))
    out = with_findings(out, specs)
    if not any(d.context.get("signingKey") for d in out):
        return out
    secret = digest_secret(environ)
    return [with_secret_digest(d, environ, secret) for d in out]


def with_secret_digest(d: Desired, environ: Mapping[str, str] | None, secret: bytes) -> Desired:
    ref = d.context.get("signingKey")
    if not ref:
        return d
    try:
        key = resolve_secret(ref, d.context.get("specDir", "."), environ)
    except SecretMissing as exc:
        return dataclasses.replace(d, context={**d.context, "secretError": str(exc)})
    # The legacy digest is compared too (in memory only), so a state not yet upgraded plans no change.
    return dataclasses.replace(d, context={**d.context, "signingKeyDigest": signing_key_digest(d.address, key, secret),
                                           "signingKeyLegacyDigest": legacy_signing_key_digest(d.address, key)})


def build_controls(specs: SpecSet, desired: Sequence[Desired], *, targets: Sequence[str] = (),
                   orgs: Sequence[str] = ()) -> Controls:
    """Scope and pause for the pure planner, from the flags and the documents' annotations."""
    notes = annotations_by_document(specs.documents)
    return Controls(
        targets=frozenset(targets),
        orgs=frozenset(orgs),
        declared_orgs=frozenset(doc.name for doc in specs.of_kind("Organization")),
        paused=paused_addresses(desired, notes),
        paused_orgs=paused_organizations(notes),
    )
