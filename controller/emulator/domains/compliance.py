"""10DLC compliance (docs.bird.com/api/numbers-api/api-reference/10dlc-compliance): brands, vettings,
campaigns and resellers, with their review lifecycles on the emulator's clock and the admin ``decide``.
"""

from __future__ import annotations

import mimetypes
from typing import Any, ClassVar

from controller.emulator import policy
from controller.emulator.collection import Collection, Item
from controller.emulator.errors import ApiError, invalid, invalid_field, not_found
from controller.emulator.kernel import Answer, Kernel, Query, WorkspaceState
from controller.emulator.validation import Problems

BRAND_FIELDS = ("entityType", "firstName", "lastName", "displayName", "companyName", "ein", "einIssuingCountry",
                "phone", "street", "city", "state", "postalCode", "country", "email", "stockSymbol",
                "stockExchange", "website", "vertical", "altBusinessId", "altBusinessIdType",
                "businessContactEmail")
# Bird: once a brand is approved (or has an approved vetting) these cannot change.
BRAND_FROZEN_WHEN_APPROVED = ("entityType", "companyName", "ein", "einIssuingCountry")
# Bird "Update a campaign": while APPROVED only these change; DECLINED or REJECTED, every field does.
CAMPAIGN_EDITABLE_WHEN_APPROVED = ("description", "samples", "messageFlow", "helpMessage", "optinKeywords",
                                   "optoutKeywords", "helpKeywords", "optinMessage", "optoutMessage")
CAMPAIGN_FIELDS = ("name", "usecase", "subUsecases", "description", "embeddedLink", "embeddedPhone", "numberPool",
                   "ageGated", "directLending", "subscriberOptin", "subscriberOptout", "subscriberHelp",
                   "samples", "attachmentUrls", "messageFlow", "helpMessage", "helpKeywords", "optoutKeywords",
                   "optinKeywords", "optinMessage", "optoutMessage", "termsAndConditions", "resellerId")


# Bird "10DLC Events": payloads carry the object without its rejection ("Rejection descriptions are
# part of the brand objects but NOT the brand status events"); brand events name the workspaces in
# "workspaceId" (a list in Bird's example), campaign events add "organizationId" and "workspaceId".
def attachment_urls(campaign: Item) -> list[str]:
    return [a["mediaUrl"] for a in campaign.get("attachments") or ()]


def brand_event(brand: Item, ws: WorkspaceState) -> Item:
    payload = {k: v for k, v in brand.items() if k not in ("rejection", "workspaceIds")}
    payload["workspaceId"] = list(brand.get("workspaceIds") or [ws.id])
    return payload


def campaign_event(campaign: Item, ws: WorkspaceState) -> Item:
    payload = {k: v for k, v in campaign.items() if k != "rejection"}
    payload.update(organizationId=ws.organization_id, workspaceId=ws.id)
    return payload


def tcr_brand_id(brand_id: str) -> str:
    """The campaign registry's own brand id ("B" and six characters), derived from Bird's id."""
    return "B" + brand_id.replace("-", "")[:6].upper()


def vetting_event(vetting: Item) -> Item:
    return {k: v for k, v in vetting.items() if k not in ("rejection", "reasons")}


class ComplianceDomain(Kernel):
    ROUTES: ClassVar[dict[str, str]] = {
        "brands-list": "brands_list", "brand-create": "brand_create", "brand-get": "brand_get",
        "brand-update": "brand_update", "brand-delete": "brand_delete",
        "vettings-list": "vettings_list", "vetting-create": "vetting_create",
        "campaigns-list": "campaigns_list", "campaign-create": "campaign_create", "campaign-get": "campaign_get",
        "campaign-update": "campaign_update", "campaign-delete": "campaign_delete",
        "numbers-tcr-verticals": "tcr_verticals",
        "resellers-list": "resellers_list"}
    TIMERS: ClassVar[dict[str, str]] = {"brand": "_brand_reviewed", "vetting": "_vetting_reviewed",
                                        "campaign": "_campaign_reviewed"}

    def brands_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        # Bird documents a status filter on "List all brands" (one value or a comma-separated list).
        statuses = {part.strip().upper() for raw in query.get("status", []) for part in raw.split(",")
                    if part.strip()}
        keep = (lambda b: b["status"] in statuses) if statuses else None
        return self.paginate(ws.brands, query, keep)

    def brand_get(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        return 200, self._brand(ws, params["brandId"])

    def _brand(self, ws: WorkspaceState, brand_id: str) -> Item:
        brand = ws.brands.get(brand_id)
        if brand is None:
            raise not_found(f"brand {brand_id}")
        return brand

    def brand_create(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        body = self._object(body)
        problems = Problems()
        problems.unknown_fields(body, BRAND_FIELDS)
        self._check_brand(body, problems, creating=True)
        if problems:
            raise invalid(problems, "Invalid brand")
        brand_id = self.new_id()
        self._charge(ws, [("brand-registration", policy.BRAND_REGISTRATION_FEE, brand_id,
                           f"10DLC brand registration: {body['displayName']}")])
        now = self.clock.iso()
        brand = {"id": brand_id, "tcrBrandId": tcr_brand_id(brand_id), "organizationId": ws.organization_id,
                 "createdAt": now, "updatedAt": now, "status": policy.BRAND_PENDING,
                 **{k: body[k] for k in BRAND_FIELDS if body.get(k) is not None}, "workspaceIds": [ws.id]}
        ws.brands.add(brand_id, brand)
        self.auth_plus_on_write(ws, brand, set(body))
        ws.vettings[brand_id] = Collection()
        ws.campaigns[brand_id] = Collection()
        self.index[brand_id] = ("brand", ws.id, None)
        self._schedule(policy.BRAND_REVIEW_SECONDS, "brand", ws.id, brand_id)
        return 201, brand

    def tcr_verticals(self, scope: Any, params: dict[str, str], query: Query, body: Any) -> Answer:
        """Bird "List of available verticals in TCR" (``GET /numbers-tcr/verticals``): not paginated."""
        return 200, {"results": [dict(v) for v in policy.tcr_verticals()]}

    @staticmethod
    def _check_brand(body: dict[str, Any], problems: Problems, *, creating: bool,
                     current_country: str | None = None) -> None:
        """Bird's documented brand limits. On update only the fields present are checked (US rules use
        the brand's current country when the update does not change it)."""
        req = creating
        entity = problems.enum(body, "entityType", policy.BRAND_ENTITY_TYPES, required=req)
        problems.string(body, "firstName", max_len=100)
        problems.string(body, "lastName", max_len=100)
        problems.string(body, "displayName", required=req, min_len=1, max_len=255)
        problems.string(body, "companyName", required=req, min_len=1, max_len=255)
        problems.string(body, "ein", required=req, min_len=1, max_len=21)
        issuing = problems.string(body, "einIssuingCountry", required=req, max_len=2)
        if issuing is not None and len(issuing) != 2:
            problems.add("einIssuingCountry", "must be a 2 letter ISO country code")
        problems.phone(body, "phone", required=req)
        problems.string(body, "street", required=req, min_len=1, max_len=100)
        problems.string(body, "city", required=req, min_len=1, max_len=100)
        state = problems.string(body, "state", required=req, min_len=1, max_len=20)
        postal = problems.string(body, "postalCode", required=req, min_len=1, max_len=10)
        country = problems.string(body, "country", required=req, max_len=2)
        if country is not None and len(country) != 2:
            problems.add("country", "must be a 2 letter ISO country code")
        if (country or current_country) == "US":
            if postal is not None and not (len(postal) == 5 and postal.isdigit()):
                problems.add("postalCode", "must be a 5 digit zip code in the United States")
            if state is not None and not (len(state) == 2 and state.isalpha()):
                problems.add("state", "must be a 2 letter state code in the United States")
        problems.email(body, "email", required=req, max_len=100)
        symbol = problems.string(body, "stockSymbol", max_len=10)
        exchange = problems.enum(body, "stockExchange", policy.STOCK_EXCHANGES)
        if entity == "PUBLIC_PROFIT":
            if not symbol:
                problems.add("stockSymbol", "is required for entityType PUBLIC_PROFIT")
            if not exchange:
                problems.add("stockExchange", "is required for entityType PUBLIC_PROFIT")
        problems.string(body, "website", required=req, min_len=1, max_len=100)
        vertical = problems.string(body, "vertical", max_len=50)
        if vertical is not None and vertical not in policy.tcr_vertical_names():
            problems.add("vertical", "is not one of the verticals GET /numbers-tcr/verticals lists")
        alt = problems.string(body, "altBusinessId", max_len=50)
        alt_type = problems.enum(body, "altBusinessIdType", policy.ALT_BUSINESS_ID_TYPES)
        if alt and not alt_type:
            problems.add("altBusinessIdType", "is required when altBusinessId is given")
        problems.email(body, "businessContactEmail", max_len=100)

    def brand_update(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        brand = self._brand(ws, params["brandId"])
        body = self._object(body)
        problems = Problems()
        problems.unknown_fields(body, BRAND_FIELDS)
        self._check_brand(body, problems, creating=False, current_country=brand.get("country"))
        for name in BRAND_FIELDS:  # Bird's required fields cannot be cleared
            if name in body and body[name] is None and name not in ("firstName", "lastName", "stockSymbol",
                                                                    "stockExchange", "vertical", "altBusinessId",
                                                                    "altBusinessIdType", "businessContactEmail"):
                problems.add(name, "is required and cannot be null")
        if brand["status"] in policy.BRAND_NOT_UPDATABLE_STATUSES:
            raise invalid_field("status", "a brand cannot be updated if the status is failed: register it as new")
        vetted = any(v["status"] == policy.VETTING_ACTIVE for v in ws.vettings.get(brand["id"], ()))
        if brand["status"] == policy.BRAND_APPROVED or vetted:
            for name in BRAND_FROZEN_WHEN_APPROVED:
                if name in body and body[name] != brand.get(name):
                    problems.add(name, "cannot be changed once the brand is approved or has an approved vetting")
        merged = {**brand, **{k: v for k, v in body.items() if v is not None}}
        if merged.get("entityType") == "PUBLIC_PROFIT" and not (merged.get("stockSymbol")
                                                                 and merged.get("stockExchange")):
            problems.add("stockSymbol", "stockSymbol and stockExchange are required for entityType PUBLIC_PROFIT")
        if problems:
            raise invalid(problems, "Invalid brand")
        resubmit = brand["status"] == policy.BRAND_REJECTED
        before = dict(brand)
        if resubmit:
            self._charge(ws, [("brand-resubmission", policy.BRAND_RESUBMISSION_FEE, brand["id"],
                               f"10DLC brand resubmission: {merged['displayName']}")])
        for name, value in body.items():
            if value is None:
                brand.pop(name, None)
            else:
                brand[name] = value
        brand["updatedAt"] = self.clock.iso()
        self.auth_plus_on_write(ws, brand, {k for k in body if body[k] != before.get(k)})
        if resubmit:
            brand["status"] = policy.BRAND_PENDING
            brand.pop("rejection", None)
            self._schedule(policy.BRAND_REVIEW_SECONDS, "brand", ws.id, brand["id"])
        return 200, brand

    def brand_delete(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        """Bird: "A brand can be deleted if it doesn't have any active campaigns"; answers 200 with the brand."""
        brand = self._brand(ws, params["brandId"])
        active = [c["id"] for c in ws.campaigns.get(brand["id"], ()) if c["status"] in policy.CAMPAIGN_ACTIVE_STATUSES]
        if active:
            raise ApiError(policy.BRAND_DELETE_WITH_CAMPAIGNS_STATUS, policy.CODE_CONFLICT,
                           f"The brand has active campaigns ({', '.join(active)}); delete them first")
        for campaign in ws.campaigns.pop(brand["id"], Collection()):
            self.index.pop(campaign["id"], None)
        for vetting in ws.vettings.pop(brand["id"], Collection()):
            self.index.pop(vetting["id"], None)
        ws.brands.remove(brand["id"])
        self.index.pop(brand["id"], None)
        return 200, brand

    # ------------------------------------------------------------------------------------ vettings

    def vettings_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        self._brand(ws, params["brandId"])
        return self.paginate(ws.vettings[params["brandId"]], query)

    def vetting_create(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        brand = self._brand(ws, params["brandId"])
        body = self._object(body)
        problems = Problems()
        problems.unknown_fields(body, ("class", "vettingProviderId"))
        vetting_class = problems.enum(body, "class", policy.VETTING_CLASSES, required=True)
        provider = problems.string(body, "vettingProviderId", max_len=50)
        if problems:
            raise invalid(problems, "Invalid workspace brand vetting")
        if brand["status"] == policy.BRAND_REJECTED:
            raise invalid_field("brandId", "must not be a rejected brand: update and resubmit it first")
        vetting_id = self.new_id()
        self._charge(ws, [("vetting", policy.VETTING_FEE, vetting_id, f"{vetting_class} brand vetting")])
        now = self.clock.iso()
        vetting = {"id": vetting_id, "brandId": brand["id"], "createdAt": now, "updatedAt": now,
                   "status": policy.VETTING_PENDING, "class": vetting_class, "reasons": []}
        if provider:
            vetting["vettingProviderId"] = provider
        ws.vettings[brand["id"]].add(vetting_id, vetting)
        self.index[vetting_id] = ("vetting", ws.id, brand["id"])
        self._schedule(policy.VETTING_REVIEW_SECONDS, "vetting", ws.id, vetting_id)
        return 201, vetting

    # ----------------------------------------------------------------------------------- campaigns

    def campaigns_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        self._brand(ws, params["brandId"])
        return self.paginate(ws.campaigns[params["brandId"]], query)

    def campaign_get(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        return 200, self._campaign(ws, params)

    def _campaign(self, ws: WorkspaceState, params: dict[str, str]) -> Item:
        self._brand(ws, params["brandId"])
        campaign = ws.campaigns[params["brandId"]].get(params["campaignId"])
        if campaign is None:
            raise not_found(f"campaign {params['campaignId']}")
        return campaign

    def campaign_update(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        """Bird "Update a campaign": only APPROVED, DECLINED or REJECTED campaigns change. APPROVED: the
        listed content fields only, in place. DECLINED/REJECTED: any field, and the campaign is resubmitted
        for review (a resubmission fee)."""
        campaign = self._campaign(ws, params)
        body = self._object(body)
        problems = Problems()
        problems.unknown_fields(body, CAMPAIGN_FIELDS)
        status = campaign["status"]
        if status not in policy.CAMPAIGN_UPDATABLE_STATUSES:
            raise invalid_field("status", f"a campaign can only be updated when the status is APPROVED, DECLINED "
                                          f"or REJECTED; it is {status}")
        if status == policy.CAMPAIGN_APPROVED:
            for name in body:
                have = attachment_urls(campaign) if name == "attachmentUrls" else campaign.get(name)
                if name not in CAMPAIGN_EDITABLE_WHEN_APPROVED and body[name] != have:
                    problems.add(name, "cannot change while the campaign is APPROVED: only "
                                       + ", ".join(CAMPAIGN_EDITABLE_WHEN_APPROVED) + " can be updated")
        if problems:
            raise invalid(problems, "Invalid campaign")
        current = {k: campaign[k] for k in CAMPAIGN_FIELDS if k in campaign}
        merged = {**current, "termsAndConditions": campaign.get("termsAndConditions", True),
                  **{k: v for k, v in body.items() if v is not None}}
        self._check_campaign(ws, merged, problems)
        if problems:
            raise invalid(problems, "Invalid campaign")
        resubmit = status != policy.CAMPAIGN_APPROVED
        if resubmit:
            self._charge(ws, [("campaign-resubmission", policy.CAMPAIGN_RESUBMISSION_FEE, campaign["id"],
                               f"10DLC campaign resubmission: {merged['name']}")])
        for name, value in body.items():
            if name == "attachmentUrls":
                campaign["attachments"] = self._attachments(value)
                continue
            if value is None:
                campaign.pop(name, None)
            else:
                campaign[name] = value
        campaign["updatedAt"] = self.clock.iso()
        if resubmit:
            campaign["status"] = policy.CAMPAIGN_PENDING
            campaign.pop("rejection", None)
            self._schedule(policy.CAMPAIGN_REVIEW_SECONDS, "campaign", ws.id, campaign["id"])
        return 200, campaign

    def campaign_delete(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        """Bird: "A campaign can be deleted if it doesn't have any active channels"; answers 200 with it."""
        campaign = self._campaign(ws, params)
        active = [c["id"] for c in ws.channels
                  if c.get("useCaseId") == campaign["id"] and c["status"] == policy.CHANNEL_ACTIVE]
        if active:
            raise ApiError(policy.CAMPAIGN_DELETE_WITH_CHANNELS_STATUS, policy.CODE_CONFLICT,
                           f"The campaign has active channels ({', '.join(active)}); remove their connectors first")
        ws.campaigns[params["brandId"]].remove(campaign["id"])
        self.index.pop(campaign["id"], None)
        return 200, campaign

    def campaign_create(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        brand = self._brand(ws, params["brandId"])
        body = self._object(body)
        problems = Problems()
        problems.unknown_fields(body, CAMPAIGN_FIELDS)
        self._check_campaign(ws, body, problems)
        if brand["status"] != policy.BRAND_APPROVED:
            problems.add("brandId", f"brand must be APPROVED to register a campaign; it is {brand['status']}")
        if problems:
            raise invalid(problems, "Invalid campaign")
        campaign_id = self.new_id()
        minimum = policy.CAMPAIGN_MONTHLY_FEE * policy.CAMPAIGN_MINIMUM_MONTHS
        self._charge(ws, [
            ("campaign-vetting", policy.CAMPAIGN_VETTING_FEE, campaign_id, f"10DLC campaign vetting: {body['name']}"),
            ("campaign-minimum-commitment", minimum, campaign_id,
             f"10DLC campaign {policy.CAMPAIGN_MINIMUM_MONTHS}-month minimum: {body['name']}")])
        now = self.clock.iso()
        campaign = {"id": campaign_id, "name": body["name"],
                    "subscription": {"status": "active", "subscribedAt": now, "updatedAt": now},
                    "status": policy.CAMPAIGN_PENDING,
                    **{k: body[k] for k in CAMPAIGN_FIELDS if k not in ("name", "attachmentUrls")
                       and body.get(k) is not None},
                    "brandId": brand["id"], "attachments": self._attachments(body.get("attachmentUrls")),
                    "createdAt": now, "updatedAt": now}
        ws.campaigns[brand["id"]].add(campaign_id, campaign)
        self.index[campaign_id] = ("campaign", ws.id, brand["id"])
        self._schedule(policy.CAMPAIGN_REVIEW_SECONDS, "campaign", ws.id, campaign_id)
        return 201, campaign

    def _attachments(self, urls: list[str] | None) -> list[Item]:
        """Bird answers a campaign's attachmentUrls as `attachments`, one object per URL (Create campaign)."""
        now = self.clock.iso()
        return [{"id": self.new_id(), "status": "PENDING", "createdAt": now, "updatedAt": now,
                 "filename": url.rstrip("/").rsplit("/", 1)[-1] or url, "mediaUrl": url,
                 "contentType": mimetypes.guess_type(url)[0] or "application/octet-stream"}
                for url in urls or ()]

    def _check_campaign(self, ws: WorkspaceState, body: dict[str, Any], problems: Problems) -> None:
        problems.string(body, "name", required=True, min_len=1, max_len=255)
        usecase = problems.string(body, "usecase", required=True, max_len=50)
        subs = problems.string_list(body, "subUsecases", max_len=50)
        if usecase in policy.MIXED_USECASES and (subs is None or not 2 <= len(subs) <= policy.MAX_SUB_USECASES):
            problems.add("subUsecases", f"must list 2 to {policy.MAX_SUB_USECASES} use cases when usecase is {usecase}")
        elif subs and usecase not in policy.SUB_USECASE_USECASES:
            problems.add("subUsecases", f"only {', '.join(policy.SUB_USECASE_USECASES)} campaigns take sub use cases")
        elif subs and len(subs) > policy.MAX_SUB_USECASES:
            problems.add("subUsecases", f"at most {policy.MAX_SUB_USECASES} sub use cases")
        problems.string(body, "description", required=True, min_len=40, max_len=4096)
        problems.string(body, "messageFlow", required=True, min_len=40, max_len=2048)
        problems.string(body, "helpMessage", required=True, min_len=20, max_len=255)
        problems.string_list(body, "samples", required=True, min_items=1, max_items=5, max_len=1024)
        problems.string_list(body, "attachmentUrls", max_items=5)
        for flag in ("embeddedLink", "embeddedPhone", "numberPool", "ageGated", "directLending", "subscriberOptin",
                     "subscriberOptout", "subscriberHelp"):
            problems.boolean(body, flag)
        for keywords in ("helpKeywords", "optoutKeywords", "optinKeywords"):
            problems.string(body, keywords, max_len=255)
        problems.string(body, "optinMessage", min_len=20, max_len=320)
        problems.string(body, "optoutMessage", min_len=20, max_len=320)
        terms = problems.boolean(body, "termsAndConditions", required=True)
        if terms is False:
            problems.add("termsAndConditions", "must be true: the campaign must follow CTIA guidelines")
        if body.get("resellerId") is not None:
            reseller_id = problems.uuid(body, "resellerId")
            if reseller_id:
                reseller = self.orgs[ws.organization_id].resellers.get(reseller_id)
                if reseller is None:
                    problems.add("resellerId", f"reseller {reseller_id} does not exist in this organization")
                elif reseller["status"] != "ACTIVE":
                    problems.add("resellerId", f"reseller must be ACTIVE; it is {reseller['status']}")

    def resellers_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        return self.paginate(self.orgs[ws.organization_id].resellers, query)

    # ----------------------------------------------------------------------------- review lifecycles

    def _brand_reviewed(self, ws: WorkspaceState, object_id: str) -> dict[str, Any] | None:
        brand = ws.brands.get(object_id)
        if brand and brand["status"] == policy.BRAND_PENDING:
            return self._set_brand(ws, brand, policy.BRAND_APPROVED, None)
        return None

    def _vetting_reviewed(self, ws: WorkspaceState, object_id: str) -> dict[str, Any] | None:
        vetting = self._find("vetting", object_id)
        if vetting and vetting["status"] == policy.VETTING_PENDING:
            return self._set_vetting(ws, vetting, policy.VETTING_ACTIVE, None)
        return None

    def _campaign_reviewed(self, ws: WorkspaceState, object_id: str) -> dict[str, Any] | None:
        campaign = self._find("campaign", object_id)
        if campaign and campaign["status"] == policy.CAMPAIGN_PENDING:
            return self._set_campaign(ws, campaign, policy.CAMPAIGN_APPROVED, None)
        return None

    def auth_plus_on_write(self, ws: WorkspaceState, brand: Item, changed: set[str]) -> None:
        """Authentication+ (domains/authplus.py) after a brand write; nothing without that domain."""

    def _set_brand(self, ws: WorkspaceState, brand: Item, status: str, rejection: dict[str, str] | None
                   ) -> dict[str, Any]:
        brand.update(status=status, updatedAt=self.clock.iso())
        if rejection:
            brand["rejection"] = rejection
        else:
            brand.pop("rejection", None)
        self._emit(ws, "10dlc.brand", brand_event(brand, ws), {"brandId": brand["id"]})
        return {"kind": "brand", "id": brand["id"], "status": status}

    def _set_vetting(self, ws: WorkspaceState, vetting: Item, status: str, rejection: dict[str, str] | None
                     ) -> dict[str, Any]:
        vetting.update(status=status, updatedAt=self.clock.iso())
        if status == policy.VETTING_ACTIVE:
            vetting["score"] = policy.VETTING_SCORE
        if rejection:  # Bird: "reasons: a list of reasons for FAILED vetting" (a vetting has no rejection)
            vetting["reasons"] = [rejection["description"]]
        self._emit(ws, policy.VETTING_EVENT, vetting_event(vetting), {"brandId": vetting["brandId"]})
        return {"kind": "vetting", "id": vetting["id"], "status": status}

    def _set_campaign(self, ws: WorkspaceState, campaign: Item, status: str, rejection: dict[str, str] | None
                      ) -> dict[str, Any]:
        campaign.update(status=status, updatedAt=self.clock.iso())
        if rejection:
            campaign["rejection"] = rejection
        else:
            campaign.pop("rejection", None)
        self._emit(ws, "10dlc.campaign", campaign_event(campaign, ws),
                   {"campaignId": campaign["id"], "brandId": campaign["brandId"]})
        return {"kind": "campaign", "id": campaign["id"], "status": status}

    def decide(self, kind: Any, object_id: Any, status: Any, rejection: Any = None) -> dict[str, Any]:
        """Force a brand, vetting or campaign outcome now (admin ``POST /_emulator/decide``)."""
        with self.lock:
            if kind not in policy.DECISIONS:
                raise invalid_field("kind", "must be one of " + ", ".join(policy.DECISIONS))
            if status not in policy.DECISIONS[kind]:
                raise invalid_field("status", "must be one of " + ", ".join(policy.DECISIONS[kind]))
            item = self._find(kind, object_id) if isinstance(object_id, str) else None
            if item is None:
                raise not_found(f"{kind} {object_id}")
            target = policy.DECISIONS[kind][status]
            reason = None
            if status in ("REJECTED", "FAILED"):
                given = rejection if isinstance(rejection, dict) else {}
                reason = {"code": str(given.get("code") or policy.DEFAULT_REJECTION["code"]),
                          "description": str(given.get("description") or policy.DEFAULT_REJECTION["description"])}
            ws = self.workspaces[self.index[object_id][1]]
            setter = {"brand": self._set_brand, "vetting": self._set_vetting, "campaign": self._set_campaign}[kind]
            setter(ws, item, target, reason)
            return item
