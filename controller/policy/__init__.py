"""Policies on plans: Rego files (OPA's language) read the plan JSON and say `deny` or `warn`.

    verdict = evaluate_policies(load_policies(["policies/"]), plan_json)
    verdict.denied -> the plan is refused (exit 3), each message with its policy file

The files follow conftest's conventions (`package main`, `import rego.v1`, rules `deny` and `warn`
that yield messages), so the same directory runs under `conftest test plan.json` too; the input is
the plan JSON whose schema `senderctl schema --plan` prints.
"""

from controller.policy.rego import (
    Finding,
    Policy,
    PolicyError,
    Verdict,
    evaluate_policies,
    load_policies,
)

__all__ = ["Finding", "Policy", "PolicyError", "Verdict", "evaluate_policies", "load_policies"]
