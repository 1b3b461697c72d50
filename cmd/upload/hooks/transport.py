"""What a hook transport is: something that asks a receiver about one event."""

from __future__ import annotations

from typing import Protocol

from ..engine import RequestContext
from .payload import JSON
from .response import HookResponse


class HookTransport(Protocol):
    """HTTP or Python; `call` raises `HookFailed` when there is no usable answer."""

    name: str

    def handles(self, hook: str) -> bool:
        """Whether this transport has a receiver for `hook` at all."""
        ...

    async def call(
        self, hook: str, body: JSON, request: RequestContext | None, *, retry: bool = True
    ) -> HookResponse:
        """Ask about one event; `request` is the live request (headers to forward), None
        for stored events. `retry` False: one attempt (the outbox retries instead)."""
        ...

    async def close(self) -> None: ...
