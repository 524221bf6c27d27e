"""Notifications API (docs.bird.com/api/notifications-api): webhook subscriptions and the events
queued for them (``outbox``; ``controller.emulator.webhooks`` delivers them, signed).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, ClassVar

from controller.emulator import policy
from controller.emulator.collection import Collection, Item
from controller.emulator.errors import invalid, invalid_field, not_found
from controller.emulator.kernel import Answer, Kernel, Outgoing, Query, WorkspaceState
from controller.emulator.validation import Problems

WEBHOOK_FIELDS = ("service", "event", "eventFilters", "template", "url", "signingKey")
WEBHOOK_UPDATE_FIELDS = ("template", "url", "signingKey", "status", "eventFilters")


class NotificationsDomain(Kernel):
    ROUTES: ClassVar[dict[str, str]] = {
        "webhook-subscriptions-list": "webhook_subscriptions_list",
        "webhook-subscription-create": "webhook_subscription_create",
        "webhook-subscription-get": "webhook_subscription_get",
        "webhook-subscription-update": "webhook_subscription_update",
        "webhook-subscription-delete": "webhook_subscription_delete",
        "available-webhooks": "available_webhooks",
        "webhook-subscription-logs": "webhook_subscription_logs",
        "webhook-subscription-log-details": "webhook_subscription_log_details",
        # The workspace-level routes: the same subscriptions, the same handlers.
        "workspace-webhook-subscriptions-list": "webhook_subscriptions_list",
        "workspace-webhook-subscription-create": "webhook_subscription_create",
        "workspace-webhook-subscription-get": "webhook_subscription_get",
        "workspace-webhook-subscription-update": "webhook_subscription_update",
        "workspace-webhook-subscription-delete": "webhook_subscription_delete"}
    TIMERS: ClassVar[dict[str, str]] = {"webhook-retry": "_retry_delivery"}

    def webhook_subscriptions_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                                   ) -> Answer:
        return self.paginate(ws.webhooks, query, max_limit=policy.MAX_WEBHOOK_SUBSCRIPTIONS_PAGE_SIZE)

    def available_webhooks(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        """Bird "List available webhook events": per service, the events and their filter keys."""
        wanted = (query.get("service") or [None])[-1]
        if wanted is not None and wanted not in policy.WEBHOOK_SERVICES:
            raise invalid_field("service", "must be one of " + ", ".join(policy.WEBHOOK_SERVICES))
        results = []
        for service in policy.WEBHOOK_SERVICES:
            events = [{"name": event, "filterKeys": list(policy.EVENT_FILTER_KEYS.get(event, ()))}
                      for event, owner in policy.EVENT_SERVICES.items() if owner == service]
            if events and wanted in (None, service):
                results.append({"service": service, "events": events})
        return 200, {"results": results}

    def webhook_subscription_get(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                                 ) -> Answer:
        return 200, self._webhook(ws, params["webhookSubscriptionId"])

    def _webhook(self, ws: WorkspaceState, subscription_id: str) -> Item:
        subscription = ws.webhooks.get(subscription_id)
        if subscription is None:
            raise not_found(f"webhook subscription {subscription_id}")
        return subscription

    def webhook_subscription_create(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                                    ) -> Answer:
        body = self._object(body)
        problems = Problems()
        problems.unknown_fields(body, WEBHOOK_FIELDS)
        service = problems.enum(body, "service", policy.WEBHOOK_SERVICES, required=True)
        event = problems.string(body, "event", required=True, max_len=100)
        if service and event and policy.EVENT_SERVICES.get(event, service) != service:
            problems.add("event", f"{event} is sent by service {policy.EVENT_SERVICES[event]}, not {service}")
        self._check_webhook_url(body, problems, required=True)
        problems.string(body, "signingKey", required=True, min_len=1, max_len=1024)
        problems.string(body, "template", max_len=100)
        filters = self._check_filters(body, problems)
        self._check_filter_rules(ws, service, event, filters, problems)
        if problems:
            raise invalid(problems, "Invalid webhook subscription")
        subscription_id = self.new_id()
        now = self.clock.iso()
        subscription = {"id": subscription_id, "organizationId": ws.organization_id, "workspaceId": ws.id,
                        "service": service, "event": event, "eventFilters": filters, "url": body["url"],
                        "signingKey": body["signingKey"], "status": "active",
                        "statusReason": policy.STATUS_REASONS["active"], "createdAt": now, "updatedAt": now}
        if body.get("template") is not None:
            subscription["template"] = body["template"]
        ws.webhooks.add(subscription_id, subscription)
        self.index[subscription_id] = ("webhookSubscription", ws.id, None)
        return 201, subscription

    def webhook_subscription_update(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                                    ) -> Answer:
        subscription = self._webhook(ws, params["webhookSubscriptionId"])
        body = self._object(body)
        if not body:
            raise invalid_field("body", "must set at least one of " + ", ".join(WEBHOOK_UPDATE_FIELDS))
        problems = Problems()
        problems.unknown_fields(body, WEBHOOK_UPDATE_FIELDS)
        self._check_webhook_url(body, problems, required=False)
        problems.string(body, "signingKey", min_len=1, max_len=1024)
        problems.string(body, "template", max_len=100)
        problems.enum(body, "status", policy.SUBSCRIPTION_STATUSES)
        filters = self._check_filters(body, problems) if "eventFilters" in body else None
        if filters is not None:
            self._check_filter_rules(ws, subscription["service"], subscription["event"], filters, problems,
                                     besides=subscription["id"])
        if problems:
            raise invalid(problems, "Invalid webhook subscription")
        for name in ("url", "signingKey", "template", "status"):
            if body.get(name) is not None:
                subscription[name] = body[name]
        if body.get("status") in policy.STATUS_REASONS:
            subscription["statusReason"] = policy.STATUS_REASONS[body["status"]]
        if filters is not None:
            subscription["eventFilters"] = filters
        subscription["updatedAt"] = self.clock.iso()
        return 200, subscription

    def webhook_subscription_delete(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                                    ) -> Answer:
        subscription = self._webhook(ws, params["webhookSubscriptionId"])
        ws.webhooks.remove(subscription["id"])
        self.index.pop(subscription["id"], None)
        return 204, None

    @staticmethod
    def _check_webhook_url(body: dict[str, Any], problems: Problems, *, required: bool) -> None:
        from controller.emulator.webhooks import BIRD_URL_PATTERN, acceptable_url

        url = problems.string(body, "url", required=required, max_len=2048)
        if url is not None and not acceptable_url(url):
            problems.add("url", f"must match {BIRD_URL_PATTERN}: https://, a DNS host name, no port, no IP "
                                "address (the emulator also accepts http(s)://127.0.0.1 or localhost, any port, "
                                "for a local receiver)")

    @staticmethod
    def _check_filter_rules(ws: WorkspaceState, service: str | None, event: str | None,
                            filters: list[dict[str, str]], problems: Problems, besides: str | None = None) -> None:
        """Bird "Webhook subscriptions": no filters on the numbers service; at most five subscriptions for
        the same filter combination."""
        if service in policy.UNFILTERED_SERVICES and filters:
            problems.add("eventFilters", f"the {service} service supports no filters")
            return
        combination = {(f["key"], f["value"]) for f in filters}
        alike = [sub for sub in ws.webhooks if sub["id"] != besides and (sub["service"], sub["event"]) == (service, event)
                 and {(f["key"], f["value"]) for f in sub["eventFilters"]} == combination]
        if len(alike) >= policy.MAX_MATCHING_SUBSCRIPTIONS:
            problems.add("eventFilters", f"at most {policy.MAX_MATCHING_SUBSCRIPTIONS} subscriptions may share one "
                                         f"filter combination; {len(alike)} of {event} with these filters exist")

    @staticmethod
    def _check_filters(body: dict[str, Any], problems: Problems) -> list[dict[str, str]]:
        filters = body.get("eventFilters")
        if filters is None:
            return []
        if not isinstance(filters, list):
            problems.add("eventFilters", "must be a list of {key, value}")
            return []
        clean = []
        for i, item in enumerate(filters):
            if not (isinstance(item, dict) and isinstance(item.get("key"), str) and item["key"]
                    and isinstance(item.get("value"), str) and item["value"] and set(item) <= {"key", "value"}):
                problems.add(f"eventFilters[{i}]", "must be an object with a non-empty string key and value")
            else:
                clean.append({"key": item["key"], "value": item["value"]})
        return clean

    def _emit(self, ws: WorkspaceState, event: str, payload: Item, attributes: dict[str, str]) -> None:
        service = policy.EVENT_SERVICES.get(event, "")
        for subscription in ws.webhooks:
            if (subscription["status"] == "active" and subscription["event"] == event
                    and subscription["service"] == service
                    and all(attributes.get(f["key"]) == f["value"] for f in subscription["eventFilters"])):
                self.outbox.append(Outgoing(subscription["id"], ws.id, subscription["url"],
                                            subscription["signingKey"], event,
                                            {"service": service, "event": event, "payload": dict(payload)}))

    # ------------------------------------------------------------------------------------------ logs

    def log_delivery(self, item: Outgoing, record: dict[str, Any]) -> None:
        """One attempt in its subscription's logs (Bird "Webhook subscription logs"): one entry per request
        id, its attempts counted; ``executionStatus`` is succeeded, retrying while Bird will try again, and
        failed once it gave up."""
        with self.lock:
            now = self.clock.iso()
            entry = self.webhook_logs.setdefault(item.request_id, {
                "organizationId": "", "workspaceId": item.workspace_id, "subscriptionId": item.subscription_id,
                "requestId": item.request_id, "attemptCount": 0, "createdAt": now, "attempts": []})
            ws = self.workspaces.get(item.workspace_id)
            entry["organizationId"] = ws.organization_id if ws else ""
            status = "succeeded" if record["delivered"] else ("retrying" if record.get("retryScheduled") else "failed")
            entry.update(attemptCount=entry["attemptCount"] + 1, httpStatusCode=record["status"] or 0,
                         executionStatus=status, updatedAt=now)
            entry["attempts"].append({"attempt": entry["attemptCount"], "httpStatusCode": record["status"] or 0,
                                      "executionStatus": status, "createdAt": now, "payloadDetails": {
                                          "request": json.dumps(item.body)[:policy.WEBHOOK_MAX_BODY_LOG],
                                          "response": (record["error"] or "")[:policy.WEBHOOK_MAX_BODY_LOG]}})

    def webhook_subscription_logs(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                                  ) -> Answer:
        """Bird "List all logs for a webhook subscription": 10 a page by default, at most 100, filtered by
        ``executionStatus``."""
        subscription = self._webhook(ws, params["webhookSubscriptionId"])
        wanted = (query.get("executionStatus") or [None])[-1]
        if wanted is not None and wanted not in policy.WEBHOOK_EXECUTION_STATUSES:
            raise invalid_field("executionStatus", "must be one of " + ", ".join(policy.WEBHOOK_EXECUTION_STATUSES))
        logs = Collection()
        for entry in self.webhook_logs.values():
            if entry["subscriptionId"] == subscription["id"] and wanted in (None, entry["executionStatus"]):
                logs.add(entry["requestId"], {k: v for k, v in entry.items() if k != "attempts"})
        query = {"limit": [str(policy.WEBHOOK_LOGS_DEFAULT_PAGE)], **query}
        return self.paginate(logs, query, max_limit=policy.WEBHOOK_LOGS_MAX_PAGE)

    def webhook_subscription_log_details(self, ws: WorkspaceState, params: dict[str, str], query: Query,
                                         body: Any) -> Answer:
        """Bird "Get webhook log details by request ID": one result per delivery attempt."""
        subscription = self._webhook(ws, params["webhookSubscriptionId"])
        request_id = (query.get("requestId") or [""])[-1]
        entry = self.webhook_logs.get(request_id)
        if not request_id or entry is None or entry["subscriptionId"] != subscription["id"]:
            raise not_found(f"webhook log {request_id or '(no requestId)'}")
        base = {k: v for k, v in entry.items() if k not in ("attempts", "attemptCount")}
        return 200, {"results": [{**base, **attempt} for attempt in entry["attempts"]]}

    # ------------------------------------------------------------------------------------- retries

    def retry_later(self, item: Outgoing) -> bool:
        """Bird retries a delivery that got no 2xx "at increasing intervals over a period of 8 hours":
        schedule the next attempt on the emulator's clock. False once the intervals are used up."""
        with self.lock:
            if item.attempt >= len(policy.WEBHOOK_RETRY_INTERVALS):
                return False
            key = f"{item.request_id}#{item.attempt + 1}"
            self.retries[key] = replace(item, attempt=item.attempt + 1)
            self._schedule(policy.WEBHOOK_RETRY_INTERVALS[item.attempt], "webhook-retry", item.workspace_id, key)
            return True

    def _retry_delivery(self, ws: WorkspaceState, key: str) -> dict[str, Any] | None:
        item = self.retries.pop(key, None)
        subscription = ws.webhooks.get(item.subscription_id) if item else None
        if item is not None and subscription is not None and subscription["status"] == "active":
            # The subscription's current URL and key: Bird signs each attempt when it sends it.
            self.outbox.append(replace(item, url=subscription["url"], signing_key=subscription["signingKey"]))
        return None  # not a lifecycle transition: the delivery shows in the advance's deliveries
