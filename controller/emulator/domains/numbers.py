"""Numbers API (docs.bird.com/api/numbers-api): stock, buying, owned numbers, subscriptions.

Routes, validation and lifecycle of phone numbers: searching the organization's stock, buying (by number
or by stock item), reading owned numbers, cancelling a number's subscription (the number leaves the
workspace at the end of the month already paid, on the emulator's clock).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from controller.emulator import policy
from controller.emulator.collection import Item
from controller.emulator.errors import ApiError, invalid, invalid_field, not_found
from controller.emulator.kernel import (
    SMS_CAPABILITIES,
    Answer,
    Kernel,
    OrgState,
    Query,
    WorkspaceState,
    money,
    rfc3339,
)
from controller.emulator.numbers import is_valid_e164
from controller.emulator.validation import Problems


def _values(query: Query, key: str) -> list[str]:
    """A list parameter, repeated (``types=local&types=mobile``) or comma-separated."""
    return [part.strip() for raw in query.get(key, []) for part in raw.split(",") if part.strip()]


def feature_filter(feature: str) -> Callable[[dict[str, Any]], bool]:
    """Bird's ``features`` filter on a number's capabilities: ``sms``, ``mms``, ``voice`` (either direction)
    or ``sms-outbound`` / ``sms-inbound`` (that direction). An unknown feature is a 422, as Bird validates it."""
    name, _, direction = feature.lower().partition("-")
    if name not in policy.NUMBER_FEATURES or direction not in ("", "inbound", "outbound"):
        raise invalid_field("features", f"{feature!r} is not a number feature: use one of "
                            + ", ".join(f"{f}, {f}-inbound, {f}-outbound" for f in policy.NUMBER_FEATURES))

    def has(capabilities: dict[str, Any]) -> bool:
        either = capabilities.get(name) or {}
        return bool(either.get(direction)) if direction else bool(either.get("inbound") or either.get("outbound"))
    return has


class NumbersDomain(Kernel):
    ROUTES: ClassVar[dict[str, str]] = {
        "numbers-available": "numbers_available", "numbers-stock-items": "numbers_stock_items",
        "workspace-numbers-stock-items": "workspace_numbers_stock_items",
        "numbers-list": "numbers_list", "numbers-buy": "numbers_buy",
        "numbers-long-code-list": "numbers_long_code_list", "number-long-code-get": "number_long_code_get",
        "endpoint-subscriptions-list": "endpoint_subscriptions_list",
        "endpoint-subscription-get": "endpoint_subscription_get",
        "endpoint-subscription-activate": "endpoint_subscription_activate",
        "endpoint-compliance-requirements-list": "endpoint_compliance_requirements_list",
        "numbers-long-code-buy": "numbers_long_code_buy", "number-cancel": "number_cancel"}
    TIMERS: ClassVar[dict[str, str]] = {"number-deactivate": "_deactivate_number"}

    def _add_stock(self, org: OrgState, number: str, number_type: str) -> None:
        item_id = self.new_id()
        org.stock.add(item_id, {
            "id": item_id, "countryCode": "US", "type": number_type, "numberString": number,
            "capabilities": SMS_CAPABILITIES, "monthlyPrice": money(policy.NUMBER_MONTHLY_PRICE),
            "backOrderRequired": False})
        org.stock_by_number[number] = item_id

    def numbers_available(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        org = self.orgs[ws.organization_id]
        keep = self._stock_filter(query, ("country", "countryCode", "countryCodes"), ("type", "types"))
        return self.paginate(org.stock, query, keep, lambda item: {
            "number": item["numberString"], "country": item["countryCode"], "type": item["type"],
            "capabilities": item["capabilities"], "monthlyRecurringPrice": item["monthlyPrice"],
            "complianceRequirements": []})

    def numbers_stock_items(self, org: OrgState, params: dict[str, str], query: Query, body: Any) -> Answer:
        """Bird "Search Available Numbers", organization level: filters countryCodes, types, features, prefix."""
        return self.paginate(org.stock, query, self._stock_search(query))

    def workspace_numbers_stock_items(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                                      ) -> Answer:
        """The same search from a workspace: the organization's stock, as the page's example shows it."""
        return self.paginate(self.orgs[ws.organization_id].stock, query, self._stock_search(query))

    def _stock_search(self, query: Query) -> Callable[[Item], bool]:
        # Bird: prefix "MUST be used in conjunction with the countryCodes filter".
        if (query.get("prefix") or [""])[-1].strip() and not any(v.strip() for v in query.get("countryCodes", [])):
            raise invalid_field("prefix", "must be used together with countryCodes (e.g. countryCodes=US)")
        keep = self._stock_filter(query, ("countryCodes", "countryCode", "country"), ("types", "type"))
        prefix = (query.get("prefix") or [""])[-1].strip().lstrip("+")
        if prefix and self.world.stock_prefix == "area-code" and not (len(prefix) == 4 and prefix.startswith("1")):
            return lambda item: False  # not a whole area code: nothing matches it
        features = [feature_filter(raw) for raw in _values(query, "features")]
        return lambda item: keep(item) and all(has(item["capabilities"]) for has in features)

    @staticmethod
    def _stock_filter(query: Query, country_keys: tuple[str, ...], type_keys: tuple[str, ...]
                      ) -> Callable[[Item], bool]:
        countries = {value.upper() for key in country_keys for value in _values(query, key)}
        types = {value.lower() for key in type_keys for value in _values(query, key)}
        prefix = (query.get("prefix") or [""])[-1].strip()
        if prefix and not prefix.startswith("+"):
            prefix = "+" + prefix
        return lambda item: ((not countries or item["countryCode"] in countries)
                             and (not types or item["type"] in types)
                             and item["numberString"].startswith(prefix))

    def numbers_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        prefix = (query.get("prefix") or [""])[-1]
        term = (query.get("searchTerm") or [""])[-1]
        keep = (lambda n: n["number"].startswith(prefix) and term in n["number"]) if prefix or term else None
        return self.paginate(ws.numbers, query, keep)

    def numbers_long_code_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                               ) -> Answer:
        """Bird "List Workspace Long Code Numbers": filters numberString (leading digits, "+" optional)
        and countryCodes."""
        digits = (query.get("numberString") or [""])[-1].strip().lstrip("+")
        countries = {part.strip().upper() for raw in query.get("countryCodes", []) for part in raw.split(",")
                     if part.strip()}

        def keep(n: Item) -> bool:
            return n["number"].lstrip("+").startswith(digits) and (not countries or n["country"] in countries)

        return self.paginate(ws.numbers, query, keep if digits or countries else None, self._long_code)

    def number_long_code_get(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                             ) -> Answer:
        """Bird "Get Long Code Number Details": by number id or endpoint id (the same id here)."""
        number = ws.numbers.get(params["longCodeNumberId"])
        if number is None:
            raise not_found(f"long code number {params['longCodeNumberId']}")
        return 200, self._long_code(number)

    def _number(self, ws: WorkspaceState, number_id: str) -> Item:
        number = ws.numbers.get(number_id)
        if number is None:
            raise not_found(f"number {number_id}")
        return number

    def numbers_buy(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        problems = Problems()
        body = self._object(body)
        problems.unknown_fields(body, ("numbers",))
        entries = body.get("numbers")
        if not isinstance(entries, list) or not entries:
            raise invalid_field("numbers", "must be a non-empty list of {number, country}")
        if len(entries) > policy.MAX_NUMBERS_PER_PURCHASE:
            raise invalid_field("numbers", f"must have at most {policy.MAX_NUMBERS_PER_PURCHASE} items")
        org = self.orgs[ws.organization_id]
        wanted: list[tuple[str, str]] = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                problems.add(f"numbers[{i}]", "must be an object with number and country")
                continue
            scope = problems.scoped(f"numbers[{i}]")
            scope.unknown_fields(entry, ("number", "country"))
            number = scope.string(entry, "number", required=True, max_len=30)
            country = scope.string(entry, "country", required=True, max_len=2)
            if number is None or country is None:
                continue
            if not is_valid_e164(number):
                scope.add("number", "must be a valid phone number in E.164 format")
            elif not is_valid_e164(number, country):
                scope.add("country", f"does not match the number {number}")
            elif (number, country.upper()) in wanted:
                scope.add("number", "is listed twice")
            else:
                wanted.append((number, country.upper()))
        if problems:
            raise invalid(problems)
        gone = [i for i, (number, _) in enumerate(wanted) if number not in org.stock_by_number]
        if gone:
            raise ApiError(422, policy.CODE_NOT_IN_STOCK, "Number is no longer available in stock",
                           {f"numbers[{i}].number": [f"{wanted[i][0]} is not available"] for i in gone})
        items = [org.stock.get(org.stock_by_number[number]) for number, _ in wanted]
        return 201, {"results": self._buy(ws, org, [i for i in items if i is not None], long_code=False)}

    def numbers_long_code_buy(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                              ) -> Answer:
        problems = Problems()
        body = self._object(body)
        problems.unknown_fields(body, ("numberStockItemIds",))
        ids = problems.string_list(body, "numberStockItemIds", required=True, min_items=1,
                                   max_items=policy.MAX_NUMBERS_PER_PURCHASE)
        if problems or ids is None:
            raise invalid(problems)
        org = self.orgs[ws.organization_id]
        if len(set(ids)) != len(ids):
            raise invalid_field("numberStockItemIds", "must not list the same id twice")
        gone = [i for i, item_id in enumerate(ids) if item_id not in org.stock]
        if gone:
            raise ApiError(422, policy.CODE_NOT_IN_STOCK, "Number stock item is no longer available",
                           {f"numberStockItemIds[{i}]": [f"{ids[i]} is not in stock"] for i in gone})
        items = [org.stock.get(item_id) for item_id in ids]
        return 201, {"results": self._buy(ws, org, [i for i in items if i is not None], long_code=True)}

    def _buy(self, ws: WorkspaceState, org: OrgState, items: list[Item], *, long_code: bool) -> list[Item]:
        prices = [Decimal(i["monthlyPrice"]["amount"]).scaleb(i["monthlyPrice"]["exponent"]) for i in items]
        self._charge(ws, [("number", price, item["id"], f"{item['numberString']} first month")
                          for item, price in zip(items, prices, strict=True)])
        bought = []
        for item, price in zip(items, prices, strict=True):
            org.stock.remove(item["id"])
            del org.stock_by_number[item["numberString"]]
            # The owned number keeps its stock item's id, so the charge above already names it.
            number = self._own_number(ws, item["numberString"], item["countryCode"], item["type"], price,
                                      number_id=item["id"])
            bought.append(self._long_code(number) if long_code else number)
        return bought

    def _own_number(self, ws: WorkspaceState, number: str, country: str, number_type: str, price: Decimal,
                    number_id: str | None = None) -> Item:
        number_id = number_id or self.new_id()
        now = self.clock.iso()
        item = {
            "id": number_id, "number": number, "country": country, "type": number_type,
            "capabilities": SMS_CAPABILITIES, "monthlyRecurringPrice": money(price),
            "status": policy.NUMBER_ACTIVE,
            "subscription": {"status": policy.SUBSCRIPTION_ACTIVE, "subscribedAt": now, "updatedAt": now},
            "createdAt": now, "updatedAt": now, "activatedAt": now}
        ws.numbers.add(number_id, item)
        self.owner_of_number[number] = (ws.id, number_id)
        self.index[number_id] = ("number", ws.id, None)
        return item

    @staticmethod
    def _long_code(number: Item) -> Item:
        """The numbers-long-code view of an owned number (same id: Bird's endpoint id)."""
        return {"id": number["id"], "endpointId": number["id"], "numberString": number["number"],
                "countryCode": number["country"], "type": number["type"], "capabilities": number["capabilities"],
                "createdAt": number["createdAt"], "updatedAt": number["updatedAt"]}

    def number_cancel(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        number = self._number(ws, params["numberId"])
        subscription = number["subscription"]
        if subscription["status"] != policy.SUBSCRIPTION_CANCELED:
            now = self.clock.now
            subscribed = datetime.fromisoformat(subscription["subscribedAt"].replace("Z", "+00:00")).timestamp()
            periods = int((now - subscribed) // policy.NUMBER_BILLING_PERIOD_SECONDS) + 1
            ends = subscribed + periods * policy.NUMBER_BILLING_PERIOD_SECONDS
            subscription.update(status=policy.SUBSCRIPTION_CANCELED, cancelledAt=rfc3339(now),
                                updatedAt=rfc3339(now))
            number.update(deactivatesAt=rfc3339(ends), updatedAt=rfc3339(now))
            self._schedule(ends - now, "number-deactivate", ws.id, number["id"])
        # Bird "Cancel Number Subscription" answers the Number with its endpointSubscription (canceledAt, endAt:
        # the end of the period already paid), https://docs.bird.com/api/numbers-api/api-reference/
        # manage-endpoint-subscriptions/cancel-number-subscription
        return 200, {**number, "endpointSubscription": self._endpoint_subscription(ws, number["id"])["subscription"]}

    def endpoint_subscriptions_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                                    ) -> Answer:
        """Bird "Manage Endpoint Subscriptions": a long code's one subscription, named ``main``."""
        return 200, {"results": [self._endpoint_subscription(ws, params["endpointId"])]}

    def endpoint_subscription_get(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                                  ) -> Answer:
        if params["subscriptionName"] != policy.LONG_CODE_SUBSCRIPTION:
            raise not_found(f"subscription {params['subscriptionName']} of endpoint {params['endpointId']} "
                            f"(a long code number has only '{policy.LONG_CODE_SUBSCRIPTION}')")
        return 200, self._endpoint_subscription(ws, params["endpointId"])

    def endpoint_subscription_activate(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any
                                       ) -> Answer:
        """Bird "Activate Workspace Endpoint Subscription" (body ``quantity`` >= 1): a cancelled long code's
        ``main`` subscription is active again and the number is kept past the end of its period."""
        problems = Problems()
        quantity = body.get("quantity") if isinstance(body, dict) else None
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            problems.add("quantity", "is required: an integer of at least 1")
        if problems:
            raise invalid(problems, "invalid data provided")
        if params["subscriptionName"] != policy.LONG_CODE_SUBSCRIPTION:
            raise not_found(f"subscription {params['subscriptionName']} of endpoint {params['endpointId']} "
                            f"(a long code number has only '{policy.LONG_CODE_SUBSCRIPTION}')")
        number = self._number(ws, params["endpointId"])
        subscription = number["subscription"]
        if subscription["status"] == policy.SUBSCRIPTION_CANCELED:
            now = self.clock.iso()
            subscription.update(status=policy.SUBSCRIPTION_ACTIVE, updatedAt=now)
            subscription.pop("cancelledAt", None)
            number.pop("deactivatesAt", None)
            number["updatedAt"] = now
        return 200, self._endpoint_subscription(ws, params["endpointId"])

    def endpoint_compliance_requirements_list(self, ws: WorkspaceState, params: dict[str, str], query: Query,
                                              body: Any) -> Answer:
        """Bird "List Workspace Endpoint Compliance Requirements" for a long code (its number id)."""
        number = ws.numbers.get(params["endpointId"])
        if number is None:
            raise not_found(f"endpoint {params['endpointId']}")
        return 200, {"results": [self._compliance_requirement(ws, number)]}

    def _compliance_requirement(self, ws: WorkspaceState, number: Item) -> Item:
        base = {"mutable": False, "evaluatedAt": self.clock.iso(), "capabilities": ["sms"],
                "destinations": [number["country"]]}
        if number["type"] == "toll-free":
            return {**base, "name": "tfn-verification", "type": "tfn-verification",
                    "status": policy.COMPLIANCE_UNSATISFIED, "issues": ["verification-not-submitted"],
                    "message": "Toll-free verification has not been submitted for this number"}
        connector = ws.connectors.get(self.connector_of_number.get(number["id"], ""))
        channel = ws.channels.get(connector["channel"]["channelId"]) if connector else None
        if channel is not None and channel["status"] == policy.CHANNEL_ACTIVE:
            return {**base, "name": "ten-dlc", "type": "ten-dlc", "status": policy.COMPLIANCE_SATISFIED,
                    "issues": []}
        message = ("The number is not linked to an approved 10DLC campaign" if connector is None
                   else "The carriers have not acknowledged the number's 10DLC campaign link yet")
        return {**base, "name": "ten-dlc", "type": "ten-dlc", "status": policy.COMPLIANCE_UNSATISFIED,
                "issues": ["number-not-linked-to-campaign" if connector is None else "campaign-link-pending"],
                "message": message}

    def _endpoint_subscription(self, ws: WorkspaceState, endpoint_id: str) -> Item:
        number = ws.numbers.get(endpoint_id)
        if number is None:
            raise not_found(f"endpoint {endpoint_id}")
        subscription = number["subscription"]
        cancelled = subscription["status"] == policy.SUBSCRIPTION_CANCELED
        details = {"id": number["id"], "status": subscription["status"],
                   "subscribedAt": subscription["subscribedAt"], "updatedAt": subscription["updatedAt"],
                   "startAt": subscription["subscribedAt"]}
        if cancelled:
            details.update(canceledAt=subscription.get("cancelledAt"), endAt=number.get("deactivatesAt"))
        return {"name": policy.LONG_CODE_SUBSCRIPTION, "status": "inactive" if cancelled else "active",
                "price": number["monthlyRecurringPrice"], "subscription": details}

    def _deactivate_number(self, ws: WorkspaceState, object_id: str) -> dict[str, Any] | None:
        number = ws.numbers.get(object_id)
        if number and number["subscription"]["status"] == policy.SUBSCRIPTION_CANCELED:
            ws.numbers.remove(number["id"])
            self.owner_of_number.pop(number["number"], None)
            number.update(status=policy.NUMBER_INACTIVE, updatedAt=self.clock.iso(),
                          deactivatedAt=self.clock.iso())
            return {"kind": "number", "id": number["id"], "status": policy.NUMBER_INACTIVE}
        return None
