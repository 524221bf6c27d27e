"""The daemon's Prometheus metrics, in a registry of its own (served at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

CONDITIONS = ("Ready", "Waiting", "Failed")


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.reconcile_duration = Histogram(
            "senderctl_reconcile_duration_seconds", "Time spent in one reconcile (observe, plan, apply).",
            ["scope", "outcome"], registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
        self.bird_requests = Counter(
            "senderctl_bird_requests", "Bird API calls, by route template and HTTP status ('none': no answer).",
            ["method", "route", "status"], registry=r)
        self.queue_depth = Gauge("senderctl_work_queue_depth", "Reconciles queued (resources and full resyncs).",
                                 registry=r)
        self.resources = Gauge("senderctl_resources", "Resources by condition after the last reconcile.",
                               ["condition"], registry=r)
        self.webhooks = Counter(
            "senderctl_webhooks", "Bird webhooks received, by outcome (accepted, replay, bad_signature, "
            "malformed, too_large, unavailable) and event.", ["outcome", "event"], registry=r)
        self.webhooks_abandoned = Gauge(
            "senderctl_webhook_deliveries_abandoned", "Deliveries Bird gave up on after its 8 hours of retries, in "
            "its subscription logs (seven days), at the last full reconcile: `senderctl webhooks failed` lists them.",
            registry=r)
        self.leader = Gauge("senderctl_leader", "1 while this daemon is the leader, else 0.", registry=r)
        self.last_success = Gauge("senderctl_last_successful_sync_timestamp_seconds",
                                  "Unix time the last reconcile finished without a failed change.", registry=r)
        self.spec_loads = Counter("senderctl_spec_loads", "Spec (re)loads by outcome (valid, invalid).",
                                  ["outcome"], registry=r)
        self.specs_valid = Gauge("senderctl_specs_valid", "1 when the spec files on disk are valid, else 0 "
                                 "(the last valid set stays in force).", registry=r)
        self.changes = Counter("senderctl_changes", "Changes carried out, by action and outcome (ok, failed).",
                               ["action", "outcome"], registry=r)
        self.reconciles = Counter("senderctl_reconciles", "Reconciles by scope and outcome.",
                                  ["scope", "outcome"], registry=r)
        self.paused = Gauge("senderctl_paused_resources", "Resources with senderctl.io/paused (or in a paused "
                            "Organization) after the last reconcile: no Bird write for them.", registry=r)
        self.notifications = Counter("senderctl_notifications", "--notify deliveries by outcome (sent, retried, "
                                     "failed, dropped).", ["outcome"], registry=r)
        self.api_refused = Counter("senderctl_api_refused", "Platform API calls refused before any handler ran, by "
                                   "status (401, 403) and reason (no_token, unknown_token, expired, revoked, role, "
                                   "scope).", ["status", "reason"], registry=r)
        # Carriers' published 10DLC tiers (controller/resources/throughput.py), per brand and campaign.
        self.tmobile_daily_cap = Gauge("senderctl_tmobile_daily_cap", "T-Mobile messages a day a brand or campaign "
                                       "may send (the brand's cap, shared by its campaigns and its tax id).",
                                       ["address"], registry=r)
        self.att_tpm = Gauge("senderctl_att_messages_per_minute", "AT&T messages a minute a campaign may send "
                             "(its message class).", ["address", "att_class"], registry=r)
        # Ghost campaigns (controller/resources/ghost.py): no outbound SMS on their channels for 60 days.
        self.campaign_ghost = Gauge("senderctl_campaign_ghost", "1 for an APPROVED campaign none of whose channels "
                                    "sent an SMS (sms.outbound counted) for 60 days: deactivate it or send, or Bird "
                                    "passes on a $250 fine; else 0.", ["organization", "campaign"], registry=r)
        self.campaign_last_outbound = Gauge(
            "senderctl_campaign_last_outbound_timestamp_seconds", "Unix time (Bird's clock) of the last outbound SMS "
            "counted on any channel of the campaign; absent when none was ever counted.",
            ["organization", "campaign"], registry=r)
        self.owned_organizations = Gauge(
            "senderctl_owned_organizations", "Organizations whose lease this replica holds (it reconciles only "
            "those); '*' is the whole state (a single daemon).", registry=r)
        self.organization_owned = Gauge(
            "senderctl_organization_owned", "1 for each organization this replica holds the lease of.",
            ["organization", "replica"], registry=r)
        for condition in CONDITIONS:
            self.resources.labels(condition).set(0)

    def owned(self, organizations: set[str], replica: str = "") -> None:
        self.owned_organizations.set(len(organizations))
        self.organization_owned.clear()
        for name in sorted(organizations):
            self.organization_owned.labels(name, replica).set(1)

    def bird_response(self, method: str, route: str, status: int | None, _request_id: str | None) -> None:
        self.bird_requests.labels(method, route, str(status) if status is not None else "none").inc()

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
