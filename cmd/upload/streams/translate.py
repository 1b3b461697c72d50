"""The engine's refusals as the stream store's errors: one table, read top to bottom.

A stream is visible only when complete, so every way of not being one (unknown,
deleted, expired, still being written through another protocol) is the same 404.
"""

from __future__ import annotations

from tusgen.runtime import ServiceError
from tuskit.gen.streams import errors

from ..engine import errors as engine
from ..web import rejection as web_rejection


class Rejection(web_rejection.Rejection):
    """The decision's body, if any, is the message of the seed's error shape."""

    def __init__(self, exc: engine.Rejected) -> None:
        super().__init__(exc, exc.body if exc.body else exc.message)


def streams_error(exc: engine.EngineError) -> ServiceError:
    """The answer the stream store gives for `exc`."""
    message = exc.message
    match exc:
        case engine.BodyRejected(cause=ServiceError() as cause):
            return cause
        case engine.NotFound() | engine.Gone() | engine.Incomplete() | engine.Unreadable():
            return errors.NotFound(message)
        case engine.TooLarge():
            return errors.TooLarge(message)
        case engine.Truncated():
            return errors.Incomplete(message)
        case engine.Locked():
            return errors.Locked(message)
        case engine.Unavailable(retry_after=retry_after):
            return errors.Unavailable(message, retry_after=retry_after)
        case engine.Rejected():
            return Rejection(exc)
        case _:
            return errors.BadRequest(message)


translated = engine.translating(streams_error)
