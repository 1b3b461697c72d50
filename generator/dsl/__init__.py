"""The design DSL: plain Python that builds an `API` object (see docs/dsl.md)."""

from __future__ import annotations

from .api import API, Method, Service
from .attributes import UNSET, Attribute, Field, Header, Param
from .location import Loc
from .types import STREAM, Bool, Int64, ListOf, Object, Primitive, String, Type

__all__ = [
    "API",
    "STREAM",
    "UNSET",
    "Attribute",
    "Bool",
    "Field",
    "Header",
    "Int64",
    "ListOf",
    "Loc",
    "Method",
    "Object",
    "Param",
    "Primitive",
    "Service",
    "String",
    "Type",
]
