"""The campaign doctor: what the registries would reject in a brand or campaign, found offline, before
Bird charges for a submission.

Bird, "Campaign registration": "There is a charge for registering or re-submitting your campaign ... Fees
apply, independent of the result." A declined campaign costs a resubmission fee and a week; these checks
head off the common rejections. Each finding has a stable code (silenced per document with
`senderctl.io/ignore-compliance: "CODE,CODE"`), the field it is about (file:line:column), the rejection it
heads off and how to fix it. Errors refuse the document's registration in `plan` / `apply` (exit 3) and
fail `validate`; warnings are listed.

    findings = diagnose(specs)        # pure: a SpecSet in, findings out (sorted by file, line, column)

Sub use case counts (SUB_USECASE_COUNT) and a PUBLIC_PROFIT brand's stock symbol and exchange
(PUBLIC_STOCK) are findings too, with their codes; embeddedLink without a sample link stays a validation
error of the model.
"""

from __future__ import annotations

from specs.compliance.findings import (
    CATALOGUE,
    IGNORE_ANNOTATION,
    Finding,
    Rule,
    Severity,
    annotation_problems,
    ignored_codes,
)
from specs.compliance.run import blocking, diagnose, findings_by_address

__all__ = ["CATALOGUE", "IGNORE_ANNOTATION", "Finding", "Rule", "Severity", "annotation_problems", "blocking",
           "diagnose", "findings_by_address", "ignored_codes"]
