"""What a generated decoder reads and checks: one `ValueView` per request value.

The decisions (which parser, which checks and messages, where problems go) are made
here once; `templates/sections/decode.j2` prints them as straight-line code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .. import ir
from .text import header_text, py_type

ConstKind = Literal["enum", "pattern", "headers", "trailers"]


@dataclass(frozen=True)
class ConstView:
    """A module-level constant of the server module."""

    name: str
    kind: ConstKind
    value: Any


@dataclass
class Constants:
    """Module-level constants in creation order, enum sets and patterns deduplicated."""

    items: list[ConstView] = field(default_factory=list)
    by_value: dict[tuple[str, str], str] = field(default_factory=dict)

    def shared(self, base: str, kind: Literal["enum", "pattern"], value: Any) -> str:
        """The name of a deduplicated constant (`_X_MODE_ENUM`, `_ID_PATTERN_2`)."""
        key = (kind, repr(value))
        if key in self.by_value:
            return self.by_value[key]
        name = f"_{base.upper()}_{kind.upper()}"
        taken = set(self.by_value.values())
        n = 2
        while name in taken:
            name = f"_{base.upper()}_{kind.upper()}_{n}"
            n += 1
        self.by_value[key] = name
        self.items.append(ConstView(name, kind, value))
        return name

    def add(self, name: str, kind: ConstKind, value: Any) -> str:
        self.items.append(ConstView(name, kind, value))
        return name

    @property
    def uses_re(self) -> bool:
        return any(c.kind == "pattern" for c in self.items)


@dataclass(frozen=True)
class CheckView:
    """One check of a value, in order: parse (with bounds), enum membership, pattern."""

    kind: Literal["parse", "enum", "pattern"]
    message: str
    parser: str = ""
    """`rt.parse_int`, `rt.parse_bool` or `rt.parse_float` for `parse`."""
    const: str = ""
    """The enum set or compiled pattern constant."""
    minimum: int | float | None = None
    maximum: int | float | None = None
    explain: str = ""
    """For integers: an expression giving the message that says what is wrong with `_raw`
    (evaluated only on failure), instead of the fixed `message`."""


_PARSERS = {"int64": "rt.parse_int", "bool": "rt.parse_bool", "float64": "rt.parse_float"}


@dataclass(frozen=True)
class ValueView:
    """One request value (header, path or query param, trailer) to read and check."""

    name: str
    """As on the wire: `Upload-Offset`, `id`, `limit`."""
    field: str
    where: str
    """`header`, `path`, `query` or `trailer` (the problem list's `in`)."""
    key: Any
    """The lookup key: lower-case header bytes, trailer str, param or query name."""
    py_type: str
    parsed: bool
    """Read into `_raw` and parsed (ints, bools, floats); strings are used as read."""
    checks: list[CheckView]
    presence_checked: bool
    """Required or defaulted: absence is a problem, or gives the default."""
    on_invalid: str | None
    has_default: bool
    default: Any

    @property
    def raw(self) -> str:
        return "_raw" if self.parsed else self.field

    @property
    def missing_message(self) -> str:
        return "is missing" if self.on_invalid else "is required"


def _bounds_message(a: ir.Attr) -> str:
    if a.type.kind == "bool":
        return "must be true or false"
    msg = "must be an integer" if a.type.kind == "int64" else "must be a number"
    if a.minimum is not None and a.maximum is not None:
        msg += f" between {a.minimum} and {a.maximum}"
    elif a.minimum is not None:
        msg += f" >= {a.minimum}"
    elif a.maximum is not None:
        msg += f" <= {a.maximum}"
    return msg


def value_view(a: ir.Attr, consts: Constants) -> ValueView:
    checks: list[CheckView] = []
    parsed = a.type.kind in _PARSERS
    if parsed:
        explain = (
            f"rt.int_problem(_raw, {a.minimum!r}, {a.maximum!r})" if a.type.kind == "int64" else ""
        )
        checks.append(
            CheckView(
                "parse",
                _bounds_message(a),
                _PARSERS[a.type.kind],
                "",
                a.minimum,
                a.maximum,
                explain,
            )
        )
    if a.enum is not None:
        name = consts.shared(a.field, "enum", tuple(a.enum))
        shown = ", ".join(header_text(e) for e in a.enum)
        checks.append(CheckView("enum", f"must be one of: {shown}", const=name))
    if a.pattern is not None:
        name = consts.shared(a.field, "pattern", a.pattern)
        checks.append(CheckView("pattern", f"must match {a.pattern}", const=name))
    key: Any = a.name
    if a.location == "header":
        key = a.name.lower().encode()
    elif a.location == "trailer":
        key = a.name.lower()
    return ValueView(
        name=a.name,
        field=a.field,
        where=a.location,
        key=key,
        py_type=py_type(a.type),
        parsed=parsed,
        checks=checks,
        presence_checked=a.required or a.has_default,
        on_invalid=a.on_invalid,
        has_default=a.has_default,
        default=a.default,
    )


@dataclass(frozen=True)
class DecodeView:
    """The payload decoder of one method, plus its trailers and JSON body decoders."""

    method: str
    payload_class: str
    values: list[ValueView]
    header_scan: Literal["none", "loop", "dict"]
    """Up to two declared headers: a loop with a comparison each beats building a dict
    (measured); more: one `dict(scope["headers"])`."""
    has_path: bool
    has_query: bool
    collects_problems: bool
    bad_request: str
    """The 400 error class the problem list is raised with."""
    trailers: list[ValueView]
    trailers_class: str | None
    trailers_collect_problems: bool
    json_body: str | None
    """The JSON body's model, if the request has one."""
    unsupported_media_type: str
    """The 415 error class for a JSON body sent without a JSON `Content-Type`."""


def decode_view(
    m: ir.Method,
    payload_class: str,
    trailers_class: str | None,
    bad: str,
    unsupported: str,
    consts: Constants,
) -> DecodeView:
    headers = [a for a in m.payload if a.location == "header"]
    scan: Literal["none", "loop", "dict"] = (
        "none" if not headers else "loop" if len(headers) <= 2 else "dict"
    )
    values = [value_view(a, consts) for a in m.payload]
    trailers = [value_view(a, consts) for a in m.trailers]
    return DecodeView(
        method=m.name,
        payload_class=payload_class,
        values=values,
        header_scan=scan,
        has_path=any(a.location == "path" for a in m.payload),
        has_query=any(a.location == "query" for a in m.payload),
        collects_problems=any(not a.on_invalid for a in m.payload),
        bad_request=bad,
        trailers=trailers,
        trailers_class=trailers_class,
        trailers_collect_problems=any(not a.on_invalid for a in m.trailers),
        json_body=m.body_object if m.body == "json" else None,
        unsupported_media_type=unsupported,
    )
