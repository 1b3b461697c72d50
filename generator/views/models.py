"""Pydantic model views: JSON objects, payloads, results (and typed trailers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import ir
from .text import py_type

_WHERE = {
    "header": "Header",
    "path": "Path param",
    "query": "Query param",
    "trailer": "Trailer",
    "field": "Field",
}


@dataclass(frozen=True)
class FieldView:
    """One model field: `name: type` plus `| None = None` or `= default`."""

    name: str
    type: str
    doc: str
    optional: bool = False
    has_default: bool = False
    default: Any = None
    alias: str | None = None
    """The JSON member name when it differs from the Python name."""
    constraints: tuple[tuple[str, Any], ...] = ()
    """pydantic `Field` constraints of a JSON field (`ge`, `le`, `pattern`), checked when a
    body is validated (request headers are checked by the generated decoder instead)."""

    @property
    def uses_field(self) -> bool:
        """Written as `= Field(...)`: it has an alias or constraints."""
        return bool(self.alias or self.constraints)


@dataclass(frozen=True)
class ModelView:
    name: str
    doc: str
    fields: list[FieldView]
    arbitrary_types: bool = False


def attr_doc(a: ir.Attr) -> str:
    """`Upload-Offset` header: <doc>, or a fallback naming where the value comes from."""
    where = _WHERE[a.location]
    if a.location == "field":
        return a.doc or f"{where} {a.name}."
    return f"`{a.name}` {where.lower()}: {a.doc}" if a.doc else f"{where} {a.name}."


def field_view(a: ir.Attr, *, required: bool | None = None, literal: bool = True) -> FieldView:
    req = a.required if required is None else required
    t = py_type(a.type, a.enum if literal else None)
    if a.nullable:
        t += " | None"
    alias = a.name if a.location == "field" and a.name != a.field else None
    constraints: list[tuple[str, Any]] = []
    if a.location == "field" and a.type.kind in ("int64", "float64", "string"):
        for key, value in (("ge", a.minimum), ("le", a.maximum), ("pattern", a.pattern)):
            if value is not None:
                constraints.append((key, value))
    return FieldView(
        name=a.field,
        type=t,
        doc=attr_doc(a),
        optional=not req and not a.has_default and not a.nullable,
        has_default=a.has_default or (not req and a.nullable),
        default=a.default,
        alias=alias,
        constraints=tuple(constraints),
    )


def object_model(o: ir.ObjectType) -> ModelView:
    return ModelView(
        o.name, o.doc or f"The {o.name} JSON object.", [field_view(f) for f in o.fields]
    )


def payload_model(m: ir.Method, name: str) -> ModelView:
    return ModelView(
        name,
        f"What the {m.name} method receives from the request.",
        [field_view(a) for a in m.payload],
    )


def trailers_model(m: ir.Method, name: str) -> ModelView:
    """Trailers arrive after the body: every field may be None until then."""
    return ModelView(
        name,
        f"The declared trailers of a {m.name} body: each None until the body ended or when "
        "not sent.",
        [field_view(a, required=False) for a in m.trailers],
    )


def result_model(m: ir.Method, name: str) -> tuple[ModelView, set[str]]:
    """The result model and the names of its fields that always have a value."""
    fields: list[FieldView] = []
    if len(m.results) > 1:
        statuses = ", ".join(str(r.status) for r in m.results)
        fields.append(
            FieldView(
                "status",
                f"Literal[{statuses}]",
                "The response status; the first declared one by default.",
                has_default=True,
                default=m.results[0].status,
            )
        )
    seen: dict[str, tuple[ir.Attr, int]] = {}
    for r in m.results:
        for h in r.headers:
            a, n = seen.get(h.field, (h, 0))
            seen[h.field] = (a, n + int(h.required))
    for a, n in seen.values():
        fields.append(field_view(a, required=n == len(m.results)))
    kinds = {r.body for r in m.results}
    objects = list(dict.fromkeys(r.body_object for r in m.results if r.body_object))
    if "stream" in kinds:
        fields.append(
            FieldView(
                "body",
                "AsyncIterator[bytes]",
                "The response body, streamed; None sends no body.",
                optional=True,
            )
        )
    elif objects:
        all_have = len(kinds) == 1
        fields.append(
            FieldView("body", " | ".join(objects), "The JSON response body.", optional=not all_have)
        )
    always = {f.name for f in fields if not f.optional and not f.has_default}
    model = ModelView(
        name, f"What the {m.name} method answers with.", fields, arbitrary_types="stream" in kinds
    )
    return model, always
