"""The benchmark world: W workspaces x N numbers, as an emulator world file and generated specs.

One organization with W workspaces. Each workspace holds a brand (with a STANDARD vetting), a campaign,
a NumberPool of N numbers linked to the campaign (an SMS channel per number) and one webhook
subscription. The organization's stock holds every number they need plus a margin, and the emulator
enforces Bird's documented rate limits (50 GET/s and 500 POST/s per workspace) unless told otherwise.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml

ORG_ID = "11111111-1111-4111-8111-111111111111"
ACCESS_KEY = "bench-key"
SIGNING_ENV = "BENCH_SIGNING_KEY"
# Each workspace's subscriptions sign with a key of their own, as a platform's tenants do (one shared key
# would let any tenant forge another's webhooks): BENCH_SIGNING_KEY_000, _001, ...
SIGNING_KEY = "bench-signing-key"
MAX_WORKSPACES = 1000


def signing_key_env(i: int) -> str:
    return f"{SIGNING_ENV}_{i:03d}"


def signing_key(i: int) -> str:
    return f"{SIGNING_KEY}-{i:03d}"


def key_of_workspace(bird_workspace_id: str) -> str:
    """The signing key of the workspace with this Bird id (worlds written with own keys)."""
    return signing_key(uuid.UUID(bird_workspace_id).int & 0xFFFF)


def signing_environ() -> dict[str, str]:
    """Every workspace's key by its variable, and the shared one (worlds written without own keys)."""
    return {SIGNING_ENV: SIGNING_KEY, **{signing_key_env(i): signing_key(i) for i in range(MAX_WORKSPACES)}}
POOL_MAX = 1000  # a NumberPool holds at most 1,000 numbers
BIRD_LIMITS = {"GET": 50, "POST": 500}


def workspace_id(i: int) -> str:
    return str(uuid.UUID(int=(0x2222 << 112) | i, version=4))


# At a latency, each Bird answer's delay varies by this share of it either way (seeded, uniform).
LATENCY_JITTER = 0.1


def world_dict(workspaces: int, numbers: int, *, rate_limits: dict[str, float] | None = None,
               owned: int = 0, stock_margin: int = 100, latency: float = 0.0) -> dict[str, Any]:
    """``latency``: seconds each Bird answer is delayed on average (Bird's distance; 0 is the loopback)."""
    distance = {"latency": {"mean": latency, "jitter": latency * LATENCY_JITTER}} if latency > 0 else {}
    return {
        "organizations": [{
            "id": ORG_ID,
            "resellers": [{"id": "33333333-3333-4333-8333-333333333333", "status": "ACTIVE"}],
            "stock": [{"country": "US", "type": "local", "count": workspaces * numbers + stock_margin}],
            "workspaces": [{"id": workspace_id(i), "wallet": f"{numbers * 10 + 1000}.00", "ownedNumbers": owned}
                           for i in range(workspaces)],
        }],
        "accessKeys": [{"key": ACCESS_KEY, "organizations": [ORG_ID]}],
        "rateLimits": dict(BIRD_LIMITS if rate_limits is None else rate_limits),
        **distance,
    }


def write_world(path: Path, workspaces: int, numbers: int, **kw: Any) -> Path:
    path.write_text(yaml.safe_dump(world_dict(workspaces, numbers, **kw), sort_keys=False))
    return path


def organization_doc(workspaces: int, numbers: int) -> str:
    return f"""apiVersion: senderctl/v1
kind: Organization
metadata: {{name: bench}}
spec:
  birdOrganizationId: {ORG_ID}
  multiSmsNumbers: {{enabled: true, limit: {workspaces * numbers + 20}, weeklyPrice: "2.99"}}
"""


def workspace_docs(i: int, numbers: int, *, channels: bool = True, own_keys: bool = False) -> str:
    ws = f"ws-{i:03d}"
    key_env = signing_key_env(i) if own_keys else SIGNING_ENV
    docs = [f"""apiVersion: senderctl/v1
kind: Workspace
metadata: {{name: {ws}}}
spec: {{organization: bench, birdWorkspaceId: {workspace_id(i)}}}
""", f"""apiVersion: senderctl/v1
kind: Brand
metadata: {{name: brand-{i:03d}}}
spec:
  workspace: {ws}
  entityType: PRIVATE_PROFIT
  displayName: Bench {i}
  companyName: Bench {i} Inc.
  ein: "{100000000 + i}"
  einIssuingCountry: US
  phone: "+12025550143"
  street: 123 6th Ave
  city: New York
  state: NY
  postalCode: "10001"
  country: US
  email: compliance{i}@bench.example
  website: https://bench{i}.example
  vertical: TECHNOLOGY
  vetting: {{class: STANDARD, vettingProviderId: AEGIS}}
""", f"""apiVersion: senderctl/v1
kind: Campaign
metadata: {{name: alerts-{i:03d}}}
spec:
  brand: brand-{i:03d}
  name: Bench {i} account alerts
  usecase: ACCOUNT_NOTIFICATION
  description: Bench {i} sends account notifications to its customers, sign-in alerts and billing reminders.
  embeddedLink: true
  embeddedPhone: false
  numberPool: true
  ageGated: false
  directLending: false
  subscriberOptin: true
  subscriberOptout: true
  subscriberHelp: true
  samples:
    - "Bench {i}: a new sign-in to your account. Not you? Visit https://bench.example/security"
    - "Bench {i}: your invoice is ready. Reply STOP to opt out, HELP for help."
  messageFlow: Customers opt in on https://bench.example/settings by ticking Send me SMS alerts and confirming.
  helpMessage: "Bench alerts: help at support@bench.example. Reply STOP to opt out."
  helpKeywords: HELP, INFO
  optoutKeywords: STOP, UNSUBSCRIBE
  optinKeywords: START, YES
  optinMessage: "Bench: you are subscribed to account alerts. Reply STOP to opt out."
  optoutMessage: "Bench: you are unsubscribed and will receive no more alerts."
  termsAndConditions: true
""", f"""apiVersion: senderctl/v1
kind: WebhookSubscription
metadata: {{name: inbound-{i:03d}}}
spec:
  workspace: {ws}
  service: channels
  event: sms.inbound
  url: http://127.0.0.1:9/webhooks/bird
  signingKey: {{fromEnv: {key_env}}}
""", f"""apiVersion: senderctl/v1
kind: WebhookSubscription
metadata: {{name: channel-status-{i:03d}}}
spec:
  workspace: {ws}
  service: channels
  event: channel.updated
  url: http://127.0.0.1:9/webhooks/bird
  signingKey: {{fromEnv: {key_env}}}
"""]
    for p, start in enumerate(range(0, numbers, POOL_MAX)):
        campaign = f"\n  campaign: alerts-{i:03d}\n  channelMessageType: transactional" if channels else ""
        docs.append(f"""apiVersion: senderctl/v1
kind: NumberPool
metadata: {{name: pool-{i:03d}-{p}}}
spec:
  workspace: {ws}
  count: {min(POOL_MAX, numbers - start)}
  select: {{country: US, type: local}}{campaign}
""")
    return "---\n".join(docs)


def write_specs(directory: Path, workspaces: int, numbers: int, **kw: Any) -> Path:
    """One file per workspace (so one changed file touches one workspace), plus the organization's."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "organization.yaml").write_text(organization_doc(workspaces, numbers))
    for i in range(workspaces):
        (directory / f"ws-{i:03d}.yaml").write_text(workspace_docs(i, numbers, **kw))
    return directory
