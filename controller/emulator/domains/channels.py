"""Channels API (docs.bird.com/api/channels-api): SMS connectors, the channels they install, the
carriers' acknowledgement of a number's campaign link, and messages: inbound (admin ``inbound``) and
outbound (admin ``outbound``, a message a channel sends, announced as ``sms.outbound``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from controller.emulator import policy
from controller.emulator.collection import Item
from controller.emulator.errors import ApiError, invalid, not_found
from controller.emulator.kernel import Answer, Kernel, Query, WorkspaceState
from controller.emulator.validation import Problems


def use_case_status(brand_ok: bool, campaign_ok: bool, linked: bool) -> dict[str, Any]:
    """The ``useCaseStatus`` check of seed 001 ("Confirm a 10DLC channel's readiness")."""
    def assertion(name: str, ok: bool, message: str) -> dict[str, Any]:
        item = {"name": name, "displayName": "", "description": "", "status": "ok" if ok else "warning"}
        if not ok:
            item["message"] = message
        return item

    assertions = [assertion("brand", brand_ok, "Brand is not approved"),
                  assertion("campaign", campaign_ok, "Campaign is not approved"),
                  assertion("checks whether number is linked to campaign", linked, "Number status is INACTIVE")]
    return {"name": "useCaseStatus", "displayName": "UseCase Status", "assertions": assertions,
            "status": "ok" if all(a["status"] == "ok" for a in assertions) else "warning"}



class ChannelsDomain(Kernel):
    ROUTES: ClassVar[dict[str, str]] = {
        "connectors-list": "connectors_list", "connector-create": "connector_create",
        "connector-get": "connector_get", "connector-delete": "connector_delete",
        "channels-list": "channels_list", "channel-get": "channel_get"}
    TIMERS: ClassVar[dict[str, str]] = {"carrier-ack": "_carrier_acknowledged"}

    def connectors_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        ref = (query.get("templateRef") or query.get("connectorTemplateRef") or [None])[-1]
        keep = (lambda c: c["connectorTemplateRef"] == ref) if ref else None
        return self.paginate(ws.connectors, query, keep)

    def connector_get(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        return 200, self._connector(ws, params["connectorId"])

    def _connector(self, ws: WorkspaceState, connector_id: str) -> Item:
        connector = ws.connectors.get(connector_id)
        if connector is None:
            raise not_found(f"connector {connector_id}")
        return connector

    def connector_create(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        body = self._object(body)
        problems = Problems()
        problems.unknown_fields(body, ("name", "connectorTemplateRef", "arguments", "securityArguments",
                                       "channelConversationalStatusEnabled", "invitationToken"))
        name = problems.string(body, "name", required=True, min_len=1, max_len=255)
        ref = problems.string(body, "connectorTemplateRef", required=True)
        if ref is not None and ref != policy.SMS_TEMPLATE_REF:
            problems.add("connectorTemplateRef", f"the emulator installs SMS connectors only: "
                                                 f"'{policy.SMS_TEMPLATE_REF}'")
        problems.boolean(body, "channelConversationalStatusEnabled")
        arguments = body.get("arguments")
        if not isinstance(arguments, dict):
            problems.add("arguments", "is required: phoneNumberId, useCaseId and channelMessageType")
            raise invalid(problems, "invalid data provided")
        args = problems.scoped("arguments")
        number_id = args.string(arguments, "phoneNumberId", required=True)
        use_case_id = args.string(arguments, "useCaseId", required=True)
        args.string(arguments, "channelMessageType", required=True, max_len=50)
        number = ws.numbers.get(number_id) if number_id else None
        if number_id and number is None:
            problems.add("arguments.phoneNumberId", f"number {number_id} is not owned by this workspace")
        campaign = self._campaign_anywhere(ws, use_case_id) if use_case_id else None
        if use_case_id and campaign is None:
            problems.add("arguments.useCaseId", f"campaign {use_case_id} does not exist in this workspace")
        elif campaign is not None and campaign["status"] != policy.CAMPAIGN_APPROVED:
            problems.add("arguments.useCaseId", f"campaign must be APPROVED; it is {campaign['status']}")
        if problems:
            raise invalid(problems, "invalid data provided")
        assert number is not None and campaign is not None and name is not None
        if number["id"] in self.connector_of_number:
            raise ApiError(409, policy.CODE_CONFLICT,
                           f"connector already exists for number {number['number']}: "
                           f"{self.connector_of_number[number['id']]}")
        connector_id, channel_id = self.new_id(), self.new_id()
        now = self.clock.iso()
        check = use_case_status(True, True, False)
        channel = {
            "id": channel_id, "platformId": policy.SMS_PLATFORM, "name": name, "connectorId": connector_id,
            "identifier": number["number"], "status": policy.CHANNEL_PENDING,
            "capabilities": {"messaging": {"displayName": "Messaging capabilities", "status": "inactive",
                                           "outgoing": {"status": "inactive"}, "incoming": {"status": "active"}}},
            "useCaseId": campaign["id"], "useCaseType": arguments["channelMessageType"],
            policy.USE_CASE_STATUS_FIELD: check, "createdAt": now, "updatedAt": now}
        connector = {
            "id": connector_id, "workspaceId": ws.id, "name": name, "arguments": dict(arguments),
            "channel": {"channelId": channel_id, "platform": policy.SMS_PLATFORM},
            "number": {"numberId": number["id"], "phoneNumber": number["number"],
                       "capabilities": "mms-inbound,mms-outbound,sms-inbound,sms-outbound",
                       "numberType": number["type"], "endpointType": "long-code-number",
                       "country": number["country"]},
            "connectorTemplateSlug": policy.SMS_PLATFORM, "connectorTemplateRef": ref,
            "createdAt": now, "updatedAt": now}
        ws.connectors.add(connector_id, connector)
        ws.channels.add(channel_id, channel)
        self.connector_of_number[number["id"]] = connector_id
        self.channel_of_identifier[number["number"]] = (ws.id, channel_id)
        self.index[connector_id] = ("connector", ws.id, None)
        self.index[channel_id] = ("channel", ws.id, None)
        self._schedule(policy.CARRIER_ACK_SECONDS, "carrier-ack", ws.id, connector_id)
        # Bird announces the installed channel (seed 001 "Subscribing to channel created webhooks").
        self._emit(ws, "channel.created", channel, {"channelId": channel_id, "platformId": channel["platformId"],
                                                    "channelStatus": channel["status"]})
        return 201, connector

    def connector_delete(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        connector = self._connector(ws, params["connectorId"])
        ws.connectors.remove(connector["id"])
        channel_id = connector["channel"]["channelId"]
        ws.channels.remove(channel_id)
        self.connector_of_number.pop(connector["number"]["numberId"], None)
        self.channel_of_identifier.pop(connector["number"]["phoneNumber"], None)
        self.index.pop(connector["id"], None)
        self.index.pop(channel_id, None)
        return 204, None

    def channels_list(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        """Bird "Get workspace channels": up to 1000 per page, filtered by ``status`` and ``platform``."""
        def values(name: str) -> set[str]:
            return {part.strip() for raw in query.get(name, []) for part in raw.split(",") if part.strip()}

        statuses, platforms = values("status"), values("platform")
        keep = None
        if statuses or platforms:
            def keep(c: Item) -> bool:
                return (not statuses or c["status"] in statuses) and (not platforms or c["platformId"] in platforms)
        return self.paginate(ws.channels, query, keep, max_limit=policy.MAX_CHANNELS_PAGE_SIZE)

    def channel_get(self, ws: WorkspaceState, params: dict[str, str], query: Query, body: Any) -> Answer:
        channel = ws.channels.get(params["channelId"])
        if channel is None:
            raise not_found(f"channel {params['channelId']}")
        return 200, channel

    # ------------------------------------------------------------------------------------- lifecycle

    def _carrier_acknowledged(self, ws: WorkspaceState, object_id: str) -> dict[str, Any] | None:
        connector = ws.connectors.get(object_id)
        return self._acknowledge(ws, connector) if connector else None

    def _acknowledge(self, ws: WorkspaceState, connector: Item) -> dict[str, Any] | None:
        channel = ws.channels.get(connector["channel"]["channelId"])
        if channel is None:
            return None
        campaign = self._campaign_anywhere(ws, connector["arguments"].get("useCaseId", ""))
        campaign_ok = campaign is not None and campaign["status"] == policy.CAMPAIGN_APPROVED
        check = use_case_status(True, campaign_ok, True)
        now = self.clock.iso()
        connector["updatedAt"] = now
        channel[policy.USE_CASE_STATUS_FIELD] = dict(check)
        if check["status"] == "ok":
            channel["status"] = policy.CHANNEL_ACTIVE
            channel["capabilities"]["messaging"].update(status="active", outgoing={"status": "active"})
        channel["updatedAt"] = now
        self._emit(ws, "channel.updated", channel, {"channelId": channel["id"], "platformId": channel["platformId"],
                                                    "channelStatus": channel["status"]})
        return {"kind": "channel", "id": channel["id"], "status": channel["status"]}

    def inbound(self, body: Any) -> dict[str, Any]:
        """Queue a signed ``sms.inbound`` for the channel of ``to`` (admin ``POST /_emulator/inbound``)."""
        with self.lock:
            body, ws, channel, text = self._message_of(body, "to", "inbound")
            now = self.clock.iso()
            contact = self.contacts.setdefault(body["from"], self.new_id())
            # Exactly Bird's documented message (docs.bird.com/api/channels-api/supported-channels/
            # programmable-sms/receiving-messages): the receiving number is not in it, only the channel and
            # its connector.
            message = {
                "id": self.new_id(), "channelId": channel["id"],
                "sender": {"contact": {"id": contact, "identifierKey": "phonenumber", "identifierValue": body["from"]}},
                "receiver": {"connector": {"id": channel["connectorId"]}},
                "body": {"type": "text", "text": {"text": text}},
                "parts": [{"platformReference": self.new_id().replace("-", "")}],
                "status": "delivered", "direction": "incoming", "lastStatusAt": now, "createdAt": now,
                "updatedAt": now}
            self._emit(ws, "sms.inbound", message, {"channelId": channel["id"]})
            return message

    def _message_of(self, body: Any, ours: str, direction: str) -> tuple[dict[str, Any], Any, dict[str, Any], str]:
        """An admin message's checked body, and the workspace and channel of its number `ours` ("to" for an
        inbound message, "from" for an outbound one), and its text. Call with the lock held."""
        body = self._object(body)
        problems = Problems()
        for key in sorted(("to", "from"), key=lambda k: k != ours):  # the channel's own number first
            problems.phone(body, key, required=True)
        text = problems.string(body, "text", required=True, max_len=1600)
        if problems:
            raise invalid(problems, f"Invalid {direction} message")
        found = self.channel_of_identifier.get(body[ours])
        if found is None:
            raise not_found(f"channel for number {body[ours]} (install a connector for it first)")
        ws = self.workspaces[found[0]]
        channel = ws.channels.get(found[1])
        assert channel is not None
        return body, ws, channel, text

    def outbound(self, body: Any) -> dict[str, Any]:
        """A message sent from the channel of ``from`` (admin ``POST /_emulator/outbound``): queues the signed
        ``sms.outbound`` Bird sends for it (docs.bird.com/api/channels-api/message-status-and-interactions,
        "<channel>.outbound"; the message's shape is the Channels API's, docs.bird.com/api/channels-api/
        supported-channels/programmable-email/message-status: sender.connector, direction ``outgoing``)."""
        with self.lock:
            body, ws, channel, text = self._message_of(body, "from", "outbound")
            if channel["status"] != policy.CHANNEL_ACTIVE:
                raise ApiError(422, policy.CODE_INVALID, f"channel {channel['id']} is {channel['status']}: "
                                                         "carriers have not acknowledged its campaign link yet")
            now = self.clock.iso()
            message = {
                "id": self.new_id(), "channelId": channel["id"],
                "sender": {"connector": {"id": channel["connectorId"], "identifierValue": body["from"]}},
                "receiver": {"contacts": [{"identifierKey": "phonenumber", "identifierValue": body["to"]}]},
                "body": {"type": "text", "text": {"text": text}},
                "parts": [{"platformReference": self.new_id().replace("-", "")}],
                "status": "delivered", "direction": "outgoing", "lastStatusAt": now, "createdAt": now,
                "updatedAt": now}
            self._emit(ws, "sms.outbound", message, {"channelId": channel["id"], "messageStatus": "delivered"})
            return message
