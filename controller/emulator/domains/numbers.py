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


class NumbersDomain(Kernel):
    ROUTES: ClassVar[dict[str, str]] = {
        "numbers-available": "numbers_available", "numbers-stock-items": "numbers_stock_items",
        "numbers-list": "numbers_list", "numbers-buy": "numbers_buy",
        "numbers-long-code-list": "numbers_long_code_list", "number-long-code-get": "number_long_code_get",
        "endpoint-subscriptions-list": "endpoint_subscriptions_list",
        "endpoint-subscription-get": "endpoint_subscription_get",
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
        # Bird: prefix "MUST be used in conjunction with the countryCodes filter".
        if (query.get("prefix") or [""])[-1].strip() and not any(v.strip() for v in query.get("countryCodes", [])):
            raise invalid_field("prefix", "must be used together with countryCodes (e.g. countryCodes=US)")
        keep = self._stock_filter(query, ("countryCodes", "countryCode", "country"), ("types", "type"))
        return self.paginate(org.stock, query, keep)

    @staticmethod
    def _stock_filter(query: Query, country_keys: tuple[str, ...], type_keys: tuple[str, ...]
                      ) -> Callable[[Item], bool]:
        def values(keys: tuple[str, ...]) -> set[str]:
            return {part.strip().upper() for key in keys for raw in query.get(key, []) for part in raw.split(",")
                    if part.strip()}

        countries = values(country_keys)
        types = {t.lower() for t in values(type_keys)}
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
        return 200, number

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
