"""The design DSL: plain Python that builds an `API` object (see docs/dsl.md)."""

from __future__ import annotations

from .api import API, Method, Service
from .attributes import UNSET, Attribute, Field, Header, Param, Query
from .location import Loc
from .types import STREAM, Bool, Float64, Int64, ListOf, Object, Primitive, String, Type

__all__ = [
    "API",
    "STREAM",
    "UNSET",
    "Attribute",
    "Bool",
    "Field",
    "Float64",
    "Header",
    "Int64",
    "ListOf",
    "Loc",
    "Method",
    "Object",
    "Param",
    "Primitive",
    "Query",
    "Service",
    "String",
    "Type",
]
