"""Error class views (`templates/errors.py.j2`): status, code and typed header fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import ir, names
from .text import py_type


@dataclass(frozen=True)
class ErrorHeaderView:
    """A header an error carries: a keyword-only constructor argument and attribute."""

    name: str
    key: str
    """Lower-case, as a client reads it back."""
    field: str
    kind: str
    py_type: str
    required: bool
    has_default: bool
    default: Any

    @property
    def always(self) -> bool:
        """Always has a value: written unconditionally, read back as required."""
        return self.required or self.has_default

    @property
    def reader(self) -> str:
        """The runtime helper a client reads it back with (`rt.required_int`)."""
        kind = {"string": "str", "int64": "int", "bool": "bool", "float64": "float"}[self.kind]
        need = "default" if self.has_default else "required" if self.required else "optional"
        return f"rt.{need}_{kind}"


@dataclass(frozen=True)
class ErrorFieldView:
    """A typed JSON body member: keyword-only constructor argument, attribute, member."""

    name: str
    """The JSON member name (`missingChunks`, `expected-offset`)."""
    field: str
    py_type: str
    required: bool

    @property
    def annotation(self) -> str:
        return self.py_type if self.required else f"{self.py_type} | None"


@dataclass(frozen=True)
class ErrorView:
    name: str
    doc: str
    status: int
    code: str
    headers: list[ErrorHeaderView]
    fields: list[ErrorFieldView]
    problem_type: str
    title: str

    @property
    def has_members(self) -> bool:
        """Declares headers or body members: needs its own constructor and readers."""
        return bool(self.headers or self.fields)


def error_view(e: ir.Error) -> ErrorView:
    return ErrorView(
        name=e.name,
        doc=e.doc or f"{e.name} ({e.status}).",
        status=e.status,
        code=e.code or names.snake(e.name),
        fields=[
            ErrorFieldView(f.name, f.field, py_type(f.type, f.enum), f.required and not f.nullable)
            for f in e.fields
        ],
        problem_type=e.problem_type,
        title=e.title,
        headers=[
            ErrorHeaderView(
                h.name,
                h.name.lower(),
                h.field,
                h.type.kind,
                py_type(h.type),
                h.required,
                h.has_default,
                h.default,
            )
            for h in e.headers
        ],
    )
