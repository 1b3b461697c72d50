"""One file to a tus server, resumably, on the generated `TusClient`: create (or find the
stored upload and HEAD it), then PATCH chunk by chunk from the server's offset; with
`parallel > 1`, N partial uploads sent at once and a final `Upload-Concat: final;...`.

The file is streamed in blocks (memory stays flat whatever its size); a checksum is
computed per PATCH over the same bytes (`Upload-Checksum: sha256 <base64>`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import mimetypes
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urljoin

import google_crc32c
import httpx

from tuskit.gen.http.tus.client import TusClient
from tuskit.gen.tus import errors
from tuskit.gen.tus.service import CreatePayload, HeadPayload, PatchPayload

from .exits import Failure
from .report import Reporter
from .retry import Backoff, again, retryable
from .state import Store, fingerprint
from .urls import split_upload_url

VERSION: Final = "1.0.0"
OFFSET_STREAM: Final = "application/offset+octet-stream"
BLOCK = 1 << 20
"""Bytes read from the file at a time (and handed to httpx)."""
CHECKSUMS = ("md5", "sha1", "sha256", "sha512", "crc32c")


@dataclass(frozen=True)
class Options:
    chunk_size: int = 8 << 20
    checksum: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    backoff: Backoff = field(default_factory=Backoff)
    fresh: bool = False
    """Ignore a stored upload URL and start again."""


def encode_metadata(meta: dict[str, str]) -> str:
    """`Upload-Metadata`: `key base64(value)` pairs, comma-separated."""
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())


def default_metadata(path: Path) -> dict[str, str]:
    kind, _ = mimetypes.guess_type(path.name)
    return {"filename": path.name, "filetype": kind or "application/octet-stream"}


def _hasher(algorithm: str) -> Any:
    if algorithm == "crc32c":
        return google_crc32c.Checksum()  # type: ignore[no-untyped-call]
    return hashlib.new(algorithm)


def range_checksum(algorithm: str, fd: int, start: int, length: int) -> str:
    """`Upload-Checksum` of `length` bytes at `start`, read in blocks."""
    h = _hasher(algorithm)
    done = 0
    while done < length:
        block = os.pread(fd, min(BLOCK, length - done), start + done)
        if not block:
            raise Failure("the file got shorter while uploading")
        h.update(block)
        done += len(block)
    return f"{algorithm} {base64.b64encode(h.digest()).decode()}"


@dataclass
class Part:
    """A byte range of the file and the upload it goes to (the whole file, or a partial)."""

    start: int
    length: int
    url: str = ""
    counted: int = 0
    """Bytes of this part shown in the progress bar (resynced with the server's offset)."""


class TusSender:
    """Sends files to one tus endpoint (`http://host/files/`)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        endpoint: str,
        reporter: Reporter,
        store: Store,
        options: Options,
    ) -> None:
        self.http = http
        self.endpoint = endpoint
        self.client = TusClient(endpoint, client=http)
        self.reporter = reporter
        self.store = store
        self.options = options

    def _client_for(self, url: str) -> tuple[TusClient, str]:
        base, upload_id = split_upload_url(url)
        return TusClient(base, client=self.http), upload_id

    def _retrying(self, what: str) -> Callable[[BaseException, float], None]:
        def note(exc: BaseException, delay: float) -> None:
            why = str(exc) or type(exc).__name__
            self.reporter.say(
                f"{what}: {why}; retrying in {delay:.1f}s", "retry", what=what, error=why
            )

        return note

    async def create(self, length: int | None, meta: dict[str, str], concat: str | None) -> str:
        payload = CreatePayload(
            tus_resumable=VERSION,
            upload_length=length,
            upload_metadata=encode_metadata(meta) if meta else None,
            upload_concat=concat,
        )
        result = await again(
            lambda: self.client.create(payload), self.options.backoff, self._retrying("create")
        )
        return urljoin(self.endpoint, result.location)

    async def offset(self, url: str) -> int | None:
        """The server's offset of `url`, None when the upload is gone (404/410)."""
        client, upload_id = self._client_for(url)
        payload = HeadPayload(id=upload_id, tus_resumable=VERSION)
        try:
            result = await again(
                lambda: client.head(payload), self.options.backoff, self._retrying("HEAD")
            )
        except (errors.NotFound, errors.Gone):
            return None
        return result.upload_offset

    async def send(self, path: Path, parallel: int = 1) -> str:
        """Upload `path`; its final URL. Resumes a stored upload of the same file."""
        size = path.stat().st_size
        step = -(-size // max(1, parallel)) if size else 1
        parts = [Part(start, min(step, size - start)) for start in range(0, size, step)]
        parts = parts or [Part(0, 0)]
        parallel = len(parts)
        key = fingerprint(path, self.endpoint, f"parallel={parallel}")
        meta = {**default_metadata(path), **self.options.metadata}
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # unreadable: fail before creating
        try:
            await self._resume_or_create(key, path, size, parts, meta)
            task = self.reporter.task(path.name, size, sum(p.counted for p in parts))
            async with asyncio.TaskGroup() as group:
                for part in parts:
                    group.create_task(self._upload(fd, part, task))
        except BaseExceptionGroup as failed:
            raise _first(failed) from None
        finally:
            os.close(fd)
        if len(parts) == 1:
            url = parts[0].url
        else:
            concat = "final;" + " ".join(p.url for p in parts)
            url = await self.create(None, meta, concat)
        self.store.forget(key)
        return url

    async def _resume_or_create(
        self, key: str, path: Path, size: int, parts: list[Part], meta: dict[str, str]
    ) -> None:
        """The stored uploads with the server's offsets, else new ones (remembered at once)."""
        record = None if self.options.fresh else self.store.get(key)
        urls = record.get("urls") if record else None
        if isinstance(urls, list) and len(urls) == len(parts):
            offsets = [await self.offset(str(u)) for u in urls]
            if all(o is not None for o in offsets):
                for part, url, off in zip(parts, urls, offsets, strict=True):
                    part.url, part.counted = str(url), int(off or 0)
                done = sum(p.counted for p in parts)
                self.reporter.say(
                    f"resuming {path.name} at offset {done} of {size} ({urls[0]})",
                    "resume",
                    file=str(path),
                    offset=done,
                    size=size,
                    url=str(urls[0]),
                )
                return
            self.reporter.say(
                f"the stored upload of {path.name} is gone; starting again",
                "restart",
                file=str(path),
            )
        concat = "partial" if len(parts) > 1 else None
        for part in parts:
            part.url = await self.create(part.length, {} if concat else meta, concat)
        self.store.put(
            key,
            {"file": str(path.resolve()), "size": size, "urls": [p.url for p in parts]},
        )

    async def _upload(self, fd: int, part: Part, task: int) -> None:
        """PATCH the part from the server's offset to its end; resync after failures."""
        offset = part.counted
        failures = 0
        delay = self.options.backoff.first
        while offset < part.length:
            try:
                before, offset = offset, await self._patch(fd, part, offset, task)
                if offset <= before:  # bounded: a server that takes nothing ends the loop
                    failures += 1
                    if failures >= self.options.backoff.attempts:
                        raise Failure(f"the server accepted no bytes at offset {offset}")
                    continue
                failures, delay = 0, self.options.backoff.first
            except errors.OffsetMismatch:
                offset = await self._resync(part, task)
            except Exception as exc:
                failures += 1
                if (
                    not retryable(exc, self.options.backoff)
                    or failures >= self.options.backoff.attempts
                ):
                    raise
                self._retrying("PATCH")(exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.options.backoff.most)
                offset = await self._resync(part, task)

    async def _resync(self, part: Part, task: int) -> int:
        server = await self.offset(part.url)
        if server is None:
            raise Failure(f"the upload {part.url} is gone (404/410)")
        self.reporter.advance(task, server - part.counted)
        part.counted = server
        return server

    async def _patch(self, fd: int, part: Part, offset: int, task: int) -> int:
        n = min(self.options.chunk_size, part.length - offset)
        checksum = None
        if self.options.checksum:
            checksum = await asyncio.to_thread(
                range_checksum, self.options.checksum, fd, part.start + offset, n
            )
        client, upload_id = self._client_for(part.url)
        payload = PatchPayload(
            id=upload_id,
            tus_resumable=VERSION,
            upload_offset=offset,
            content_type=OFFSET_STREAM,
            upload_checksum=checksum,
            content_length=n,
        )
        result = await client.patch(payload, self._blocks(fd, part, offset, n, task))
        server = result.upload_offset
        self.reporter.advance(task, server - part.counted)
        part.counted = server
        return server

    async def _blocks(
        self, fd: int, part: Part, offset: int, n: int, task: int
    ) -> AsyncIterator[bytes]:
        """The chunk's bytes, block by block; the bar moves as httpx sends them."""
        done = 0
        while done < n:
            block = os.pread(fd, min(BLOCK, n - done), part.start + offset + done)
            if not block:
                raise Failure("the file got shorter while uploading")
            done += len(block)
            yield block
            self.reporter.advance(task, len(block))
            part.counted += len(block)


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first failure in a (nested) exception group."""
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc
