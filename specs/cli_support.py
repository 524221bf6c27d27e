"""What `senderctl validate` and `senderctl schema` do (cli.py stays thin)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from specs.compliance import blocking, diagnose
from specs.loader import load_specs


def run_validate(paths: Sequence[str | Path]) -> int:
    """Every error on stderr, one per line, exit 1; or a one-line summary on stdout, exit 0.

    Compliance findings (specs/compliance) follow the errors: an error finding fails validation (the
    registration would be refused before any fee), a warning is listed and passes."""
    try:
        result = load_specs(paths)
        findings = [] if result.errors else diagnose(result.specs)
    except Exception as exc:  # a bug of ours: one honest line instead of a traceback (CONTRACT)
        print(f"senderctl: internal error while validating ({type(exc).__name__}: {str(exc)[:200]}); "
              "please report it with the spec that caused it", file=sys.stderr)
        return 1
    if result.errors:
        for error in result.errors:
            print(error, file=sys.stderr)
        return 1
    for finding in findings:
        print(finding, file=sys.stderr)
    refused = blocking(findings)
    if refused:
        print(f"{len(refused)} compliance error(s), {len(findings) - len(refused)} warning(s): plan and apply "
              "refuse these registrations until they are fixed (or silenced with senderctl.io/ignore-compliance)",
              file=sys.stderr)
        return 1
    counts = Counter(doc.kind for doc in result.specs.documents)
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    warned = f"; {len(findings)} compliance warning(s)" if findings else ""
    print(f"valid: {len(result.specs)} documents in {len(result.files)} file(s) ({kinds or 'none'}){warned}")
    return 0


def run_schema() -> int:
    from specs.schema import json_schema  # JSON Schema generation is not part of validating

    print(json.dumps(json_schema(), indent=2, sort_keys=False))
    return 0
