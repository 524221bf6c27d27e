"""A bundled copy of the campaign registry's verticals, as Bird lists them (`GET /numbers-tcr/verticals`,
docs.bird.com/api/numbers-api/api-reference/10dlc-compliance/tcr-enums).

`senderctl validate` checks a Brand's vertical against this copy (offline); `plan` checks it against the
list Bird answers, which wins when the two differ.
"""

# (name, displayName): TCR's industry verticals.
VERTICALS: tuple[tuple[str, str], ...] = (
    ("AGRICULTURE", "Agriculture"),
    ("COMMUNICATION", "Communication and mass media"),
    ("CONSTRUCTION", "Construction, materials, and trade services"),
    ("EDUCATION", "Education"),
    ("ENERGY", "Energy and utilities"),
    ("ENTERTAINMENT", "Entertainment"),
    ("FINANCIAL", "Financial services"),
    ("GAMBLING", "Gambling and lottery"),
    ("GOVERNMENT", "Government services and agencies"),
    ("HEALTHCARE", "Healthcare and life sciences"),
    ("HOSPITALITY", "Hospitality and travel"),
    ("HUMAN_RESOURCES", "HR, staffing or recruitment"),
    ("INSURANCE", "Insurance"),
    ("LEGAL", "Legal"),
    ("MANUFACTURING", "Manufacturing"),
    ("NGO", "Non-profit organization"),
    ("POLITICAL", "Political"),
    ("POSTAL", "Postal and delivery"),
    ("PROFESSIONAL", "Professional services"),
    ("REAL_ESTATE", "Real estate"),
    ("RETAIL", "Retail and consumer products"),
    ("TECHNOLOGY", "Information technology services"),
    ("TRANSPORTATION", "Transportation and logistics"),
)
VERTICAL_NAMES: frozenset[str] = frozenset(name for name, _ in VERTICALS)
