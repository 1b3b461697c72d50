"""Upload a file through a session, the way a client on a flaky network should.

`upload_file(base_url, path)` hashes the file (sha-256), opens a session with that
whole-file checksum (the server verifies it at completion), sends the chunks with
`parallel` of them in flight, each with its own `Content-Digest`, completes, and returns
the attachment. It survives what goes wrong in between:

- a chunk that fails (connection lost, 5xx, 423) is retried with backoff;
- when requests keep failing (the server restarted, the network went away), it asks
  `GET session` which chunks the server has and sends only the missing ones;
- pass `session_id=` (handed to `on_session` when the session was opened, so the
  caller can keep it) to resume an upload after the client itself crashed: the session
  is checked against the file's size, then only missing chunks are sent;
- a completion that fails with checksum_mismatch (the file changed, or a chunk was
  corrupted past its digest) resends every chunk once and completes again.

Built on the generated `SessionsClient` (tuskit.gen.http.sessions.client); memory stays
at most `parallel` chunks.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from tusgen.runtime import ServiceError, UnexpectedResponse
from tuskit.gen.http.sessions.client import SessionsClient
from tuskit.gen.sessions import errors
from tuskit.gen.sessions.service import (
    Attachment,
    CompletePayload,
    GetSessionPayload,
    InitiatePayload,
    InitiateRequest,
    SessionState,
    UploadChunkPayload,
)

RETRYABLE_STATUSES = frozenset({408, 423, 429, 500, 502, 503, 504})
READ_BLOCK = 8 * 1024 * 1024
_T = TypeVar("_T")


class UploadFailed(Exception):
    """The upload could not be finished; `session_id` resumes it later (None when no
    session was opened)."""

    def __init__(self, message: str, session_id: str | None) -> None:
        super().__init__(message)
        self.session_id = session_id


@dataclass(frozen=True, slots=True)
class Retry:
    """How hard to try: `attempts` per request, then a `GET session` and another round,
    at most `rounds` times; backoff doubles from `backoff` up to `max_backoff` seconds."""

    attempts: int = 5
    rounds: int = 5
    backoff: float = 0.5
    max_backoff: float = 10.0


def rfc9530_sha256(digest: bytes) -> str:
    return "sha-256=:" + base64.b64encode(digest).decode() + ":"


def file_sha256(path: Path) -> bytes:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(READ_BLOCK):
            h.update(block)
    return h.digest()


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    if isinstance(exc, ServiceError):
        return exc.status in RETRYABLE_STATUSES
    if isinstance(exc, UnexpectedResponse):
        return exc.status in RETRYABLE_STATUSES
    return False


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first failure in a (nested) exception group."""
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


class SessionUpload:
    """One file through one session; `run()` returns the attachment."""

    def __init__(
        self,
        client: SessionsClient,
        path: Path,
        *,
        parallel: int = 4,
        file_name: str | None = None,
        content_type: str | None = None,
        session_id: str | None = None,
        on_session: Callable[[str], None] | None = None,
        retry: Retry | None = None,
    ) -> None:
        if parallel < 1:
            raise ValueError("parallel must be at least 1")
        self.client = client
        self.path = path
        self.parallel = parallel
        self.file_name = file_name or path.name
        self.content_type = content_type
        self.session_id = session_id
        self.on_session = on_session
        self.retry = retry or Retry()
        self.size = path.stat().st_size
        self.chunk_size = 0
        self.sent = 0
        """Chunks this run sent (a resumed run sends only the missing ones)."""

    async def run(self) -> Attachment:
        digest = await asyncio.to_thread(file_sha256, self.path)
        try:
            state = await self._open(rfc9530_sha256(digest))
            for round_ in range(self.retry.rounds + 1):
                if state.status == "completed":
                    break
                if state.missing_chunks:
                    try:
                        await self._send(state.missing_chunks)
                    except Exception as exc:
                        if not _retryable(exc) or round_ == self.retry.rounds:
                            raise
                else:
                    try:
                        return await self._complete()
                    except errors.ChecksumMismatch:
                        if round_ == self.retry.rounds:
                            raise
                    except Exception as exc:
                        if not _retryable(exc) or round_ == self.retry.rounds:
                            raise
                state = await self._state()
            return await self._complete()
        except UploadFailed:
            raise
        except Exception as exc:
            raise UploadFailed(
                f"uploading {self.path.name} failed: {exc}", self.session_id
            ) from exc

    async def _open(self, checksum: str) -> SessionState:
        if self.session_id is not None:
            state = await self._state()
            if state.file_size != self.size:
                raise UploadFailed(
                    f"session {self.session_id} is for {state.file_size} bytes, the file has"
                    f" {self.size}",
                    self.session_id,
                )
            return state
        request = InitiateRequest(
            fileName=self.file_name,
            fileSize=self.size,
            contentType=self.content_type,
            checksum=checksum,
        )
        result = await self._again(lambda: self.client.initiate(InitiatePayload(), request))
        self.session_id = result.body.session_id
        self.chunk_size = result.body.chunk_size
        if self.on_session is not None:
            self.on_session(self.session_id)
        return await self._state()

    async def _state(self) -> SessionState:
        assert self.session_id is not None
        sid = self.session_id
        result = await self._again(
            lambda: self.client.get_session(GetSessionPayload(session_id=sid))
        )
        self.chunk_size = result.body.chunk_size
        return result.body

    async def _send(self, indexes: list[int]) -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in indexes:
            queue.put_nowait(i)

        async def worker() -> None:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                while not queue.empty():
                    await self._send_one(fd, queue.get_nowait())
            finally:
                os.close(fd)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.parallel, len(indexes))):
                    group.create_task(worker())
        except BaseExceptionGroup as failed:
            raise _first(failed) from None

    async def _send_one(self, fd: int, index: int) -> None:
        assert self.session_id is not None
        start = index * self.chunk_size
        size = max(0, min(self.chunk_size, self.size - start))
        data = await asyncio.to_thread(os.pread, fd, size, start) if size else b""
        if len(data) != size:
            raise UploadFailed(f"{self.path.name} changed while uploading", self.session_id)
        payload = UploadChunkPayload(
            session_id=self.session_id,
            chunk_id=index,
            content_length=size,
            content_digest=rfc9530_sha256(hashlib.sha256(data).digest()),
        )
        await self._again(lambda: self.client.upload_chunk(payload, data))
        self.sent += 1

    async def _complete(self) -> Attachment:
        assert self.session_id is not None
        payload = CompletePayload(session_id=self.session_id)
        result = await self._again(lambda: self.client.complete(payload))
        return result.body

    async def _again(self, call: Callable[[], Awaitable[_T]]) -> _T:
        """`call()`, retried with backoff while it fails in a way a retry can fix."""
        delay = self.retry.backoff
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return await call()
            except Exception as exc:
                if not _retryable(exc) or attempt == self.retry.attempts:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry.max_backoff)
        raise AssertionError("unreachable")


async def upload_file(
    base_url: str,
    path: str | os.PathLike[str],
    *,
    parallel: int = 4,
    file_name: str | None = None,
    content_type: str | None = None,
    session_id: str | None = None,
    on_session: Callable[[str], None] | None = None,
    retry: Retry | None = None,
    http: httpx.AsyncClient | None = None,
) -> Attachment:
    """Upload `path` to the session API at `base_url` (e.g. `http://host/attachment`);
    returns the attachment. UploadFailed (with the session id to resume) otherwise."""
    own = http is None
    client = http or httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))
    try:
        upload = SessionUpload(
            SessionsClient(base_url, client=client),
            Path(path),
            parallel=parallel,
            file_name=file_name,
            content_type=content_type,
            session_id=session_id,
            on_session=on_session,
            retry=retry,
        )
        return await upload.run()
    finally:
        if own:
            await client.aclose()
