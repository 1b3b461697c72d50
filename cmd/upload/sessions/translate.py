"""The engine's refusals as the session design's errors: one table per kind of target
(a session, or an attachment), read top to bottom."""

from __future__ import annotations

import json
from typing import Any

from tusgen.runtime import ServiceError
from tuskit.gen.sessions import errors
from tuskit.persist.model import UploadState

from ..engine import errors as engine
from ..web import rejection as web_rejection

_RESERVED = {"status", "error", "code", "message", "errors"}


class Rejection(web_rejection.Rejection):
    """A JSON object body adds its members beside the envelope; other text is the
    message."""

    def __init__(self, exc: engine.Rejected) -> None:
        super().__init__(exc)
        self._members: dict[str, Any] = {}
        if exc.body is not None:
            try:
                parsed = json.loads(exc.body)
            except ValueError:
                self.message = exc.body
            else:
                if isinstance(parsed, dict):
                    self._members = {k: v for k, v in parsed.items() if k not in _RESERVED}

    def body_members(self) -> dict[str, Any]:
        return self._members


def _common(exc: engine.EngineError) -> ServiceError:
    message = exc.message
    match exc:
        case engine.BodyRejected(cause=ServiceError() as cause):
            return cause
        case engine.Locked():
            return errors.Locked(message)
        case engine.Unavailable(retry_after=retry_after):
            return errors.Unavailable(message, retry_after=retry_after)
        case engine.TooLarge():
            return errors.TooLarge(message)
        case engine.Rejected():
            return Rejection(exc)
        case _:
            return errors.BadRequest(message)


def _chunks(message: str) -> str:
    """The engine speaks of assemblies and parts; a session's client of sessions, chunks."""
    return message.replace("assembly", "session").replace("part", "chunk")


def session_error(exc: engine.EngineError) -> ServiceError:
    """The answer for a request on a session."""
    message = _chunks(exc.message)
    match exc:
        case engine.NotFound():
            return errors.SessionNotFound("no session with this id")
        case engine.Gone(state=UploadState.TERMINATED):
            return errors.SessionAborted("the session was aborted; its chunks are gone")
        case engine.Gone():
            return errors.SessionExpired("the session expired; its chunks are gone")
        case engine.AssembledDigestMismatch():
            return errors.ChecksumMismatch(
                "the file does not match the checksum given at initiate; the session stays"
                " active and every chunk must be sent again"
            )
        case engine.ChecksumMismatch():
            return errors.ChecksumMismatch(message)
        case engine.PartLengthMismatch():
            return errors.ChunkSizeMismatch(message)
        case engine.PartOutOfRange(count=count):
            return errors.ChunkOutOfRange(
                f"chunkId is out of range: the session has {count} chunks (0-{count - 1})"
            )
        case engine.MissingParts(missing=missing):
            return errors.MissingChunks(message, missing_chunks=missing)
        case engine.AlreadyComplete():
            return errors.SessionCompleted(message.replace("upload", "attachment"))
        case engine.Locked():
            return errors.Locked("another request holds this session; retry later")
    return _common(exc)


def attachment_error(exc: engine.EngineError) -> ServiceError:
    """The answer for a request on an attachment: a deleted one is simply not found."""
    match exc:
        case engine.NotFound() | engine.Gone() | engine.Incomplete() | engine.Unreadable():
            return errors.AttachmentNotFound("no such attachment")
    return _common(exc)
