"""Bounded retries with exponential backoff for what a retry can fix: 423 (locked), 503
(unavailable, e.g. a server shutting down), 502/504, and connection errors.

A refused connection is retried only once the server has answered in this run: before
that it is a wrong address or a server that is not running, and one line says so at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from tusgen.runtime import ServiceError, UnexpectedResponse

RETRYABLE_STATUSES = frozenset({423, 502, 503, 504})
_T = TypeVar("_T")


@dataclass
class Contact:
    """Whether the server answered once in this run (an httpx response hook sets it)."""

    answered: bool = False

    async def hook(self, response: httpx.Response) -> None:
        self.answered = True


@dataclass(frozen=True, slots=True)
class Backoff:
    """`attempts` tries in all; the wait doubles from `first` up to `most` seconds."""

    attempts: int = 8
    first: float = 0.5
    most: float = 8.0
    contact: Contact = field(default_factory=Contact)


def retryable(exc: BaseException, backoff: Backoff | None = None) -> bool:
    if isinstance(exc, httpx.ConnectError) and backoff and not backoff.contact.answered:
        return False
    if isinstance(exc, httpx.TransportError):
        return not isinstance(exc, httpx.UnsupportedProtocol)
    if isinstance(exc, ServiceError | UnexpectedResponse):
        return exc.status in RETRYABLE_STATUSES
    return False


async def again(
    call: Callable[[], Awaitable[_T]],
    backoff: Backoff,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> _T:
    """`call()`, retried while it fails retryably; the last failure is raised."""
    delay = backoff.first
    for attempt in range(1, backoff.attempts + 1):
        try:
            return await call()
        except Exception as exc:
            if not retryable(exc, backoff) or attempt == backoff.attempts:
                raise
            if on_retry is not None:
                on_retry(exc, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, backoff.most)
    raise AssertionError("unreachable")
