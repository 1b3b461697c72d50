"""The engine's refusals as the ietf design's errors (RFC 9457 problems): one table.

Refusals about the upload's state say it is not complete (`Upload-Complete: ?0`) and, when
the engine knows it, where the upload stands (`Upload-Offset`), so a client resumes from
there. Offset mismatches and size limits need the request's side too and are built by
the service itself.
"""

from __future__ import annotations

import json
from typing import Any

from tusgen.runtime import ServiceError
from tuskit.gen.ietf import errors

from ..engine import errors as engine
from ..web import rejection as web_rejection


class Rejection(web_rejection.Rejection):
    """The draft's problem details gain the members of a JSON object body."""

    def body_members(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return {"detail": self.body}
        return parsed if isinstance(parsed, dict) else {"detail": self.body}


def ietf_error(exc: engine.EngineError) -> ServiceError:
    """The answer the draft's service gives for `exc`."""
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
        case engine.Unavailable(offset=offset, retry_after=retry_after):
            return errors.Unavailable(message, upload_offset=offset, retry_after=retry_after)
        case engine.OffsetMismatch(offset=offset):
            return errors.MismatchingOffset(
                message, upload_offset=offset, expected_offset=offset, provided_offset=-1
            )
        case engine.ChecksumMismatch(offset=offset):
            return errors.ContentDigestMismatch(message, upload_offset=offset)
        case engine.Incomplete(offset=offset):
            return errors.Incomplete(message, upload_offset=offset)
        case engine.TooLarge():
            return errors.TooLarge(message)
        case engine.InvalidRequest():
            return errors.InconsistentLength(message)
        case engine.Rejected():
            return Rejection(exc)
        case _:
            return errors.BadRequest(message)
