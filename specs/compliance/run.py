"""diagnose: every compliance finding of a spec set, minus what each document's annotation silences."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from specs.compliance.brand import brand_findings, shared_ein_findings
from specs.compliance.campaign import campaign_findings
from specs.compliance.findings import Finding, ignored_codes
from specs.models import BrandDoc, CampaignDoc
from specs.specset import SpecSet


def diagnose(specs: SpecSet) -> list[Finding]:
    """Pure: the findings of every Brand and Campaign, sorted by file, line and column."""
    found: list[Finding] = []
    brands = [d for d in specs.of_kind("Brand") if isinstance(d, BrandDoc)]
    for brand in brands:
        found.extend(brand_findings(brand))
    found.extend(shared_ein_findings(brands))
    for doc in specs.of_kind("Campaign"):
        assert isinstance(doc, CampaignDoc)
        brand = specs.get("Brand", doc.spec.brand)
        found.extend(campaign_findings(doc, brand if isinstance(brand, BrandDoc) else None))
    silenced = {doc.address: ignored_codes(doc) for doc in specs.documents}
    return sorted(f for f in found if f.code not in silenced.get(f.address, frozenset()))


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def findings_by_address(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        out[f.address].append(f)
    return dict(out)
