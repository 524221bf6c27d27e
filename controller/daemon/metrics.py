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
        for condition in CONDITIONS:
            self.resources.labels(condition).set(0)

    def bird_response(self, method: str, route: str, status: int | None, _request_id: str | None) -> None:
        self.bird_requests.labels(method, route, str(status) if status is not None else "none").inc()

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
