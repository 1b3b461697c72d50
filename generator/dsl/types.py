"""Attribute types: primitives, JSON objects and lists, and the STREAM body marker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .location import Loc, caller

if TYPE_CHECKING:
    from .attributes import Attribute


@dataclass(frozen=True)
class Primitive:
    """A scalar type: `String`, `Int64`, `Float64` or `Bool`."""

    name: str

    def __repr__(self) -> str:
        return {"string": "String", "int64": "Int64", "float64": "Float64", "bool": "Bool"}.get(
            self.name, self.name
        )


String = Primitive("string")
Int64 = Primitive("int64")
Bool = Primitive("bool")
Float64 = Primitive("float64")
"""A finite decimal number (`1`, `0.5`, `2e3`); JSON `number`."""


class _Stream:
    """A body streamed as raw bytes, never buffered whole."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "STREAM"


STREAM = _Stream()


class Object:
    """A JSON object type with named fields: `Object("Created", Field("id", String))`."""

    def __init__(self, name: str, *fields: Attribute, doc: str = "") -> None:
        self.name = name
        self.fields = tuple(fields)
        self.doc = doc
        self.loc: Loc = caller()

    def __repr__(self) -> str:
        return f"Object({self.name!r})"


@dataclass(frozen=True)
class ListOf:
    """A JSON array of one element type: `ListOf(String)`, `ListOf(SomeObject)`."""

    of: Type


Type = Primitive | Object | ListOf
"""Anything an attribute may be typed with."""
