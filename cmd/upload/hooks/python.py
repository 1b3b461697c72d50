"""Hooks as Python: an object whose async methods are named after the events.

For people who embed the server: `--hooks-python mypkg.hooks:Hooks` (a class is
instantiated without arguments). `pre_create(event)` gets the same dict an HTTP receiver
gets and returns a tusd-shaped answer dict (or None to allow); a method may also raise
`tuskit.upload.engine.errors.Rejected` directly. Missing methods are events not handled.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from typing import Any

from ..engine import RequestContext
from ..engine.errors import Rejected
from .payload import JSON
from .response import HookFailed, HookResponse, parse_response


def load_object(spec: str) -> Any:
    """`module:attr.attr` -> the object; a class is instantiated. ValueError if missing."""
    module_name, _, attr = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r}: {exc}") from None
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"{module_name!r} has no {attr!r}") from None
    return target() if inspect.isclass(target) else target


def method_name(hook: str) -> str:
    return hook.replace("-", "_")


class PythonHook:
    name = "python"

    def __init__(self, target: Any, *, timeout: float = 5.0) -> None:
        self.target = target
        self.timeout = timeout

    @classmethod
    def load(cls, spec: str, *, timeout: float = 5.0) -> PythonHook:
        return cls(load_object(spec), timeout=timeout)

    def handles(self, hook: str) -> bool:
        return callable(getattr(self.target, method_name(hook), None))

    async def call(
        self, hook: str, body: JSON, request: RequestContext | None, *, retry: bool = True
    ) -> HookResponse:
        method = getattr(self.target, method_name(hook), None)
        if method is None:
            return parse_response(None)
        try:
            async with asyncio.timeout(self.timeout):
                answer = await method(body)
        except Rejected:
            raise
        except TimeoutError:
            raise HookFailed(f"python {hook} hook timed out after {self.timeout}s") from None
        except Exception as exc:
            raise HookFailed(f"python {hook} hook raised {type(exc).__name__}: {exc}") from exc
        return parse_response(answer)

    async def close(self) -> None:
        close = getattr(self.target, "close", None)
        if close is not None and inspect.iscoroutinefunction(close):
            await close()
