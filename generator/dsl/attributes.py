"""Attribute declarations: request/response headers, path params and JSON fields.

They are immutable: refinements (`.required()`, `.enum(...)`, ...) return copies, so a
header declared once as a module constant can be refined per method. Each refinement
records the design line that made it; nothing is checked here (see `tusgen.validate`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from .. import names
from .location import Loc, caller
from .types import Type

Kind = Literal["header", "param", "query", "field"]


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class Attribute:
    """One declared value: its HTTP name, type, constraints and documentation."""

    kind: Kind
    name: str
    type: Type
    enum_values: tuple[Any, ...] | None = None
    pattern: str | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    doc: str = ""
    example: Any = UNSET
    is_required: bool | None = None
    invalid_error: str | None = None
    const_value: Any = UNSET
    default_value: Any = UNSET
    field_name: str | None = None
    nullable: bool = False
    loc: Loc = field(default_factory=caller, compare=False)
    refined_at: tuple[tuple[str, Loc], ...] = field(default=(), compare=False)

    def _refine(self, what: str, **changes: Any) -> Attribute:
        at = (*self.refined_at, (what, caller()))
        return dataclasses.replace(self, refined_at=at, loc=self.loc, **changes)

    @property
    def python_name(self) -> str:
        """The generated field name: `.named(...)`, else derived from the wire name
        (`Upload-Offset` -> `upload_offset`; JSON `missingChunks` -> `missing_chunks`)."""
        if self.field_name is not None:
            return self.field_name
        if self.kind == "field":
            return names.field_name(names.snake(self.name))
        return names.field_name(self.name)

    def where(self, what: str) -> Loc:
        """The line of the latest refinement `what`, else of the declaration."""
        for name, loc in reversed(self.refined_at):
            if name == what:
                return loc
        return self.loc

    @property
    def last_loc(self) -> Loc:
        """The line of the latest refinement, else of the declaration."""
        return self.refined_at[-1][1] if self.refined_at else self.loc

    def required(self) -> Attribute:
        """The value must be present."""
        return self._refine("required", is_required=True)

    def optional(self) -> Attribute:
        """The value may be absent (`None` in the generated types)."""
        return self._refine("optional", is_required=False)

    def enum(self, *values: Any) -> Attribute:
        """Only these values are valid."""
        return self._refine("enum", enum_values=tuple(values))

    def on_invalid(self, error: str) -> Attribute:
        """A missing or invalid value answers the declared error `error`, not the 400 list."""
        return self._refine("on_invalid", invalid_error=error)

    def const(self, value: Any) -> Attribute:
        """A response header always written with `value`; not a field of the result."""
        return self._refine("const", const_value=value)

    def default(self, value: Any) -> Attribute:
        """The value used when none is given (request) or passed (result, error)."""
        return self._refine("default", default_value=value)

    def named(self, field_name: str) -> Attribute:
        """Override the Python field name derived from the HTTP name."""
        return self._refine("named", field_name=field_name)


def _make(
    kind: Kind,
    name: str,
    type_: Type,
    enum: list[Any] | tuple[Any, ...] | None,
    pattern: str | None,
    minimum: int | float | None,
    maximum: int | float | None,
    doc: str,
    example: Any,
    required: bool | None,
    default: Any = UNSET,
    nullable: bool = False,
) -> Attribute:
    return Attribute(
        kind=kind,
        name=name,
        type=type_,
        enum_values=tuple(enum) if enum is not None else None,
        pattern=pattern,
        minimum=minimum,
        maximum=maximum,
        doc=doc,
        example=example,
        is_required=required,
        default_value=default,
        nullable=nullable,
        loc=caller(),
    )


def Header(
    name: str,
    type: Type,
    *,
    enum: list[Any] | tuple[Any, ...] | None = None,
    pattern: str | None = None,
    minimum: int | float | None = None,
    maximum: int | float | None = None,
    doc: str = "",
    example: Any = UNSET,
) -> Attribute:
    """An HTTP header (request or response); optional unless refined with `.required()`."""
    return _make("header", name, type, enum, pattern, minimum, maximum, doc, example, None)


def Param(
    name: str,
    type: Type,
    *,
    enum: list[Any] | tuple[Any, ...] | None = None,
    pattern: str | None = None,
    minimum: int | float | None = None,
    maximum: int | float | None = None,
    doc: str = "",
    example: Any = UNSET,
) -> Attribute:
    """A path parameter, `{name}` in a method's path; always required."""
    return _make("param", name, type, enum, pattern, minimum, maximum, doc, example, True)


def Query(
    name: str,
    type: Type,
    *,
    enum: list[Any] | tuple[Any, ...] | None = None,
    pattern: str | None = None,
    minimum: int | float | None = None,
    maximum: int | float | None = None,
    default: Any = UNSET,
    doc: str = "",
    example: Any = UNSET,
) -> Attribute:
    """A query string parameter (`?limit=10`); optional unless `.required()`, and `default`
    is used when it is absent. Unknown query parameters are ignored."""
    return _make("query", name, type, enum, pattern, minimum, maximum, doc, example, None, default)


def Field(
    name: str,
    type: Type,
    *,
    required: bool = True,
    nullable: bool = False,
    enum: list[Any] | tuple[Any, ...] | None = None,
    pattern: str | None = None,
    minimum: int | float | None = None,
    maximum: int | float | None = None,
    doc: str = "",
    example: Any = UNSET,
) -> Attribute:
    """A field of a JSON `Object` (or an error's body member); required unless
    `required=False`; `nullable=True` lets it be `null`. `name` is the JSON member name;
    the Python name is derived (`missingChunks` -> `missing_chunks`) or `.named(...)`."""
    return _make(
        "field",
        name,
        type,
        enum,
        pattern,
        minimum,
        maximum,
        doc,
        example,
        required,
        nullable=nullable,
    )
