"""OpenAPI links: which answer names the object another operation takes, so a client (or a stateful
test such as schemathesis') can follow a purchase to its assignment, and a created workspace phone
number to its reads and writes. Only relations the API really has are
listed. Values are OpenAPI runtime expressions over the answer (and its request)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ORG_NUMBERS = "/v1/sms/phone-numbers"
WS_PHONES = "/api/v2/w/{workspace_uuid}/phone-numbers"
WS_PHONE = WS_PHONES + "/{phone_number_id}"


@dataclass(frozen=True)
class Link:
    method: str
    path: str
    parameters: dict[str, str]


def phone_operations(parameters: dict[str, str]) -> list[Link]:
    """What takes one workspace phone number."""
    return [Link("get", WS_PHONE, parameters), Link("put", WS_PHONE, parameters),
            Link("get", WS_PHONE + "/archive-blockers", parameters), Link("post", WS_PHONE + "/archive", parameters),
            Link("post", WS_PHONE + "/link", parameters)]


BOUGHT_NUMBER = {"phone": "$response.body#/number"}
CREATED_PHONE = {"workspace_uuid": "$request.path.workspace_uuid", "phone_number_id": "$response.body#/id"}
LISTED_PHONE = {"workspace_uuid": "$request.path.workspace_uuid", "phone_number_id": "$response.body#/results/0/id"}
LINKS: dict[tuple[str, str, str], list[Link]] = {
    ("post", ORG_NUMBERS + "/purchase", "201"): [
        Link("post", ORG_NUMBERS + "/{phone}/assign", BOUGHT_NUMBER),
        Link("delete", ORG_NUMBERS + "/{phone}/assign", BOUGHT_NUMBER),
        # Not to POST .../phone-numbers: a purchase already makes the number's workspace phone (409).
    ],
    ("post", WS_PHONES, "201"): phone_operations(CREATED_PHONE),
    ("get", WS_PHONES, "200"): phone_operations(LISTED_PHONE),  # a page's first phone
}


def add_links(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    for (method, path, status), targets in LINKS.items():
        links = paths[path][method]["responses"][status].setdefault("links", {})
        for link in targets:
            target = paths[link.path][link.method]
            name = target.get("summary", target["operationId"]).title().replace(" ", "")
            links[name] = {"operationId": target["operationId"], "parameters": dict(link.parameters)}
