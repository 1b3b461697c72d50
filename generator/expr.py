"""Evaluate a design: import `module:attribute` and return the `API` it builds."""

from __future__ import annotations

import importlib
from typing import Any

from .dsl import API


class DesignLoadError(Exception):
    """The design spec could not be imported or does not name an API."""


def load(spec: str) -> API:
    """`tuskit.design:api` -> the API object (a callable attribute is called first)."""
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise DesignLoadError(f"cannot import design module {module_name!r}: {exc}") from exc
    value: Any = getattr(module, attr or "api", None)
    if value is None:
        raise DesignLoadError(f"design module {module_name!r} has no attribute {attr or 'api'!r}")
    if callable(value) and not isinstance(value, API):
        value = value()
    if not isinstance(value, API):
        raise DesignLoadError(f"{spec} is a {type(value).__name__}, not a tusgen.dsl.API")
    return value
