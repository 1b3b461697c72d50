"""What the engine refuses, in its own words: each adapter maps these to its protocol.

One class per decision a client can act on differently (resume elsewhere, retry later,
fix the request); messages are written for the client and carry no server paths.
"""

from __future__ import annotations

import errno
import functools
import sqlite3
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from tuskit.persist.model import UploadState

RETRY_AFTER_SECONDS = 1


class EngineError(Exception):
    """Base of every refusal the engine makes on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(EngineError):
    """No upload with this id ever existed (or its tombstone was purged)."""


class Gone(EngineError):
    """The upload existed and was terminated or expired."""

    def __init__(self, message: str, state: UploadState) -> None:
        super().__init__(message)
        self.state = state


class Locked(EngineError):
    """Another request holds the upload and did not let go in time."""


class Unavailable(EngineError):
    """Retry shortly: the server is draining, the upload was handed to another request,
    or this server lost the upload's lock before recording. `offset` is the recorded
    offset when the engine knows it."""

    def __init__(
        self, message: str, *, offset: int | None = None, retry_after: int = RETRY_AFTER_SECONDS
    ) -> None:
        super().__init__(message)
        self.offset = offset
        self.retry_after = retry_after


class OffsetMismatch(EngineError):
    """The client's offset is not the upload's; `offset` is the right one."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class TooLarge(EngineError):
    """The request would pass the upload's length or the server's size limit."""


class Truncated(EngineError):
    """A body that had to arrive whole did not (it ended early, or stalled); nothing of
    it was kept."""


class InvalidRequest(EngineError):
    """The request contradicts itself or the upload (lengths that disagree, a
    concatenation naming something that cannot be joined, a malformed digest)."""


class ChecksumMismatch(EngineError):
    """The body does not match the digest it promised; nothing of it was kept."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class FinalUpload(EngineError):
    """A concatenation result cannot take bytes of its own."""


class Incomplete(EngineError):
    """This byte store serves an upload only once it is complete."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class InsufficientStorage(EngineError):
    """The store is full: nothing of this request was recorded; retry later (507)."""

    def __init__(self, message: str, *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


_FULL = {errno.ENOSPC, errno.EDQUOT}


def is_storage_full(exc: BaseException) -> bool:
    """A full disk or quota under a byte store or SQLite (S3 servers answer their own
    errors; those stay 500)."""
    if isinstance(exc, OSError):
        return exc.errno in _FULL
    if isinstance(exc, sqlite3.OperationalError):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return False


class Unreadable(EngineError):
    """This byte store cannot serve downloads at all."""


class Rejected(EngineError):
    """A `pre-*` decision (a hook) refused the request with the answer the client sees."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        body: str | None = None,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.headers = tuple(headers.items() if isinstance(headers, Mapping) else headers)


class BodyRejected(EngineError):
    """Raised by a body iterator to refuse the request (not an interruption): the append
    is discarded and `cause` propagates to the adapter that raised it."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


# -- assembly from parts (engine/assembly.py) ---------------------------------------------


class PartOutOfRange(EngineError):
    """The part index is not below the assembly's part count."""

    def __init__(self, message: str, count: int) -> None:
        super().__init__(message)
        self.count = count


class PartLengthMismatch(EngineError):
    """A part's body is not exactly the part's length; nothing of it was kept."""

    def __init__(self, message: str, expected: int) -> None:
        super().__init__(message)
        self.expected = expected


class MissingParts(EngineError):
    """The assembly cannot complete: these parts were never stored."""

    def __init__(self, message: str, missing: Sequence[int]) -> None:
        super().__init__(message)
        self.missing = list(missing)


class AlreadyComplete(EngineError):
    """The assembly is completed (or being completed): it takes no more parts and cannot
    be abandoned. `upload_id` is the upload it became, once known to the client."""

    def __init__(self, message: str, upload_id: str | None = None) -> None:
        super().__init__(message)
        self.upload_id = upload_id


class AssembledDigestMismatch(ChecksumMismatch):
    """The assembled upload does not match the digest expected for it: every part was
    forgotten (the engine cannot tell which one was wrong) and the assembly is active."""


_P = ParamSpec("_P")
_R = TypeVar("_R")
Method = Callable[_P, Coroutine[Any, Any, _R]]


def translating(
    convert: Callable[[EngineError], Exception],
) -> Callable[[Method[_P, _R]], Method[_P, _R]]:
    """A decorator that answers the engine's refusals as `convert` says (an adapter's
    errors); free when nothing is refused."""

    def decorate(method: Method[_P, _R]) -> Method[_P, _R]:
        @functools.wraps(method)
        async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return await method(*args, **kwargs)
            except EngineError as exc:
                raise convert(exc) from exc

        return wrapper

    return decorate
