"""What a generated encoder writes: per success status its constant and declared headers
and its body kind (`templates/sections/encode.j2`), and the method's error constants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .. import ir
from .request import Constants
from .text import header_text


@dataclass(frozen=True)
class OutHeaderView:
    """A declared (non-constant) response header and the result field it comes from."""

    name: str
    key: bytes
    field: str
    kind: str
    always: bool
    """The field always has a value: written unconditionally."""


@dataclass(frozen=True)
class ResultView:
    status: int
    const_name: str
    """The precomputed `(bytes, bytes)` constant headers (raw ASGI encoders)."""
    const_items: dict[str, str]
    """The same as text (encoders that answer with Starlette responses)."""
    headers: list[OutHeaderView]
    body: Literal["empty", "json", "stream"]
    first: bool
    guarded: bool
    """Several statuses and not the last: `if result.status == ...:`."""


@dataclass(frozen=True)
class EncodeView:
    method: str
    result_class: str
    results: list[ResultView]
    responds: bool
    """A result streams: the encoder returns a Starlette response, sent after the service
    returned (a failing body iterator is then not a declared error)."""
    has_json: bool
    """Some status has a JSON body: the encoder needs to know whether the request is HEAD."""
    const_name: str
    """The method's constant headers, written on its error responses too."""


def _no_body_allowed(status: int) -> bool:
    return status < 200 or status in (204, 304)


def encode_view(m: ir.Method, result_class: str, always: set[str], consts: Constants) -> EncodeView:
    responds = any(r.body == "stream" for r in m.results)
    results: list[ResultView] = []
    prefix = f"_{m.name.upper()}"
    for i, r in enumerate(m.results):
        const = {h.name: header_text(h.const) for h in r.const_headers}
        body: Literal["empty", "json", "stream"] = "empty"
        if r.body == "json":
            body = "json"
        elif r.body == "stream" and m.verb != "HEAD":
            body = "stream"
        const_name = ""
        if not responds:
            declared = {h.name.lower() for h in r.headers} | {k.lower() for k in const}
            pairs = [(k.lower().encode(), v.encode("latin-1")) for k, v in const.items()]
            if (
                body == "empty"
                and not _no_body_allowed(r.status)
                and "content-length" not in declared
            ):
                pairs.append((b"content-length", b"0"))
            const_name = consts.add(f"{prefix}_{r.status}", "headers", tuple(pairs))
        results.append(
            ResultView(
                status=r.status,
                const_name=const_name,
                const_items=const,
                headers=[
                    OutHeaderView(
                        h.name, h.name.lower().encode(), h.field, h.type.kind, h.field in always
                    )
                    for h in r.headers
                ],
                body=body,
                first=i == 0,
                guarded=len(m.results) > 1 and i < len(m.results) - 1,
            )
        )
    const_pairs = tuple(
        (h.name.lower().encode(), header_text(h.const).encode("latin-1")) for h in m.const_headers
    )
    const_name = consts.add(f"{prefix}_CONST", "headers", const_pairs)
    return EncodeView(
        method=m.name,
        result_class=result_class,
        results=results,
        responds=responds,
        has_json=any(r.body == "json" for r in m.results),
        const_name=const_name,
    )
