"""Client method views (`templates/sections/client.j2`): URL parts, request headers, and
per status what the response decoder reads back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .. import ir


@dataclass(frozen=True)
class UrlPart:
    """A literal piece of the method path, or the payload field of a path param."""

    text: str = ""
    field: str = ""


@dataclass(frozen=True)
class RequestHeaderView:
    name: str
    field: str
    kind: str
    always: bool
    """Required or defaulted: always sent."""


@dataclass(frozen=True)
class ClientResultView:
    status: int
    headers: list[tuple[str, str]]
    """(field, lower-case header name) read back from the response."""
    body: Literal["none", "stream", "json"]
    body_object: str | None


@dataclass(frozen=True)
class ClientMethodView:
    name: str
    verb: str
    doc: str
    payload_class: str
    result_class: str
    url: list[UrlPart]
    headers: list[RequestHeaderView]
    query: list[RequestHeaderView]
    body: Literal["none", "stream", "json"]
    body_object: str | None
    results: list[ClientResultView]
    multi: bool
    """Several success statuses: the result carries `status`."""
    errors_name: str
    error_format: str
    """The runtime's error format constant (`TUS`, `ENVELOPE`, `PROBLEM`)."""


def url_parts(m: ir.Method) -> list[UrlPart]:
    """The method path split into literals and path param fields."""
    fields = {a.name: a.field for a in m.payload if a.location == "path"}
    parts: list[UrlPart] = []
    pos = 0
    for match in re.finditer(r"\{([^{}]+)\}", m.path):
        if match.start() > pos:
            parts.append(UrlPart(text=m.path[pos : match.start()]))
        parts.append(UrlPart(field=fields[match.group(1)]))
        pos = match.end()
    if pos < len(m.path):
        parts.append(UrlPart(text=m.path[pos:]))
    return parts


def client_method_view(
    m: ir.Method, doc: str, payload_class: str, result_class: str, error_format: str
) -> ClientMethodView:
    def sent(a: ir.Attr) -> RequestHeaderView:
        return RequestHeaderView(a.name, a.field, a.type.kind, a.required or a.has_default)

    return ClientMethodView(
        name=m.name,
        verb=m.verb,
        doc=doc,
        payload_class=payload_class,
        result_class=result_class,
        url=url_parts(m),
        headers=[sent(a) for a in m.payload if a.location == "header"],
        query=[sent(a) for a in m.payload if a.location == "query"],
        body=m.body,
        body_object=m.body_object,
        results=[
            ClientResultView(
                r.status, [(h.field, h.name.lower()) for h in r.headers], r.body, r.body_object
            )
            for r in m.results
        ],
        multi=len(m.results) > 1,
        errors_name=f"_{m.name.upper()}_ERRORS",
        error_format=error_format.upper(),
    )
