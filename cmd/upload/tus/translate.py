"""The engine's refusals as the tus design's errors: one table, read top to bottom."""

from __future__ import annotations

import json
from typing import Any

from tusgen.runtime import ServiceError
from tuskit.gen.tus import errors

from ..engine import errors as engine
from ..web import rejection as web_rejection


class Rejection(web_rejection.Rejection):
    """tus answers the decision's body as it is when it is a JSON object."""

    def to_json(self) -> dict[str, Any]:
        if self.body is not None:
            try:
                parsed = json.loads(self.body)
            except ValueError:
                return {"code": self.code, "message": self.body}
            if isinstance(parsed, dict):
                return parsed
        return {"code": self.code, "message": self.message}


def tus_error(exc: engine.EngineError) -> ServiceError:
    """The answer tus gives for `exc`."""
    message = exc.message
    match exc:
        case engine.BodyRejected(cause=ServiceError() as cause):
            return cause
        case engine.NotFound() | engine.Unreadable():
            return errors.NotFound(message)
        case engine.Gone():
            return errors.Gone(message)
        case engine.Locked():
            return errors.Locked(message)
        case engine.Unavailable(retry_after=retry_after):
            return errors.Unavailable(message, retry_after=retry_after)
        case engine.InsufficientStorage(retry_after=retry_after):
            return errors.InsufficientStorage(message, retry_after=retry_after)
        case engine.OffsetMismatch(offset=offset):
            return errors.OffsetMismatch(message, upload_offset=offset)
        case engine.ChecksumMismatch(offset=offset):
            return errors.ChecksumMismatch(message, upload_offset=offset)
        case engine.Incomplete(offset=offset):
            return errors.Incomplete(message, upload_offset=offset)
        case engine.TooLarge():
            return errors.RequestTooLarge(message)
        case engine.FinalUpload():
            return errors.FinalUpload(message)
        case engine.Rejected():
            return Rejection(exc)
        case _:
            return errors.BadRequest(message)
