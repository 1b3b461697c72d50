"""Upload bytes in S3-compatible object storage: one multipart upload per upload.

Client: aiobotocore. It is botocore (the engine under boto3 and the AWS CLI: SigV4,
retries, endpoint/region/path-style config, every S3 call including UploadPartCopy) on
aiohttp, so requests and body streams never block the event loop or need a thread each.
aioboto3 only wraps it; boto3 in threads costs a hop per call and blocks on streams;
a hand-written SigV4 client would be ours to keep correct. Request checksums are sent
"when required" only: many S3-compatible servers reject the CRC trailers newer botocore
adds by default.

Layout for upload `<id>` under `prefix`: the multipart upload and, once complete, the
object `<prefix><id>`; the commit marker `<prefix><id>.tail.<n>`, whose name says how
many full parts are committed and whose body is the bytes after them.
- Part size `P` is fixed per upload when it is created (`choose_part_size`: at least
  5 MiB and the preferred size, large enough that the length, or `max_size` for deferred
  lengths, fits in 10,000 parts). Part k always holds bytes [(k-1)P, kP), so an offset
  alone says which parts and which tail bytes are committed: offset = n*P + len(tail).
- A writer starts from the tail of the recorded offset (read back and prepended, so a
  resume on another instance works), uploads every full `P` bytes as the next part while
  more arrive (at most `parts_in_flight` per writer and `memory_budget` bytes across
  writers), and `commit` waits for them and PUTs the new marker: one atomic PUT is the
  commit. `discard` cancels uploads and writes nothing: parts it uploaded are beyond the
  committed count, so they are ignored and later overwritten by the same part numbers.
- Older markers stay until the next writer opens (a crash between our commit and the
  metadata save leaves both; the writer keeps the one matching the recorded offset and
  deletes the rest: that is how "leftovers are cut" here).
- `durable_size` comes from S3 alone: the newest marker, checked against ListParts.
- When offset == length the marker's bytes become the last part (it may be < 5 MiB) and
  CompleteMultipartUpload makes the object; markers are then deleted.
- Downloads are ranged GetObject streams of the completed object. Before completion S3
  cannot serve multipart parts, so an unfinished upload only serves ranges inside its
  tail (the last < P bytes); earlier ranges raise StoreError.
- Concatenation copies partials server-side with UploadPartCopy when every partial but
  the last has at least 5 MiB (empty ones are skipped), else streams them through.
- Termination/expiry aborts every multipart upload of the key and deletes markers and
  the object. `create` is check-then-write (ids are random, so not raced in practice).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .ids import check_id
from .model import UploadInfo
from .protocols import StoreError, UploadExists, UploadNotFound

log = logging.getLogger(__name__)

MiB = 1024 * 1024
MIN_PART = 5 * MiB
MAX_PART = 5 * 1024 * MiB
MAX_PARTS = 10_000
READ_CHUNK = MiB
READ_RETRIES = 3  # a read that breaks mid-way is asked again from where it broke
_MISSING = {"NoSuchKey", "NoSuchUpload", "404", "NotFound"}


@dataclass(frozen=True, slots=True)
class S3Config:
    bucket: str
    endpoint_url: str | None = None  # None: AWS
    region: str = "us-east-1"
    prefix: str = ""  # key prefix, e.g. "uploads/"
    access_key: str | None = None  # None: botocore's usual credential chain
    secret_key: str | None = None
    session_token: str | None = None
    path_style: bool = False  # True for most self-hosted servers (SeaweedFS, MinIO)
    part_size: int = 8 * MiB  # preferred part size
    max_size: int | None = None  # largest deferred-length upload (sizes its parts)
    parts_in_flight: int = 4  # per writer
    memory_budget: int = 256 * MiB  # part bytes in flight across all writers
    max_pool_connections: int = 32


def choose_part_size(total: int | None, preferred: int = 8 * MiB) -> int:
    """Fixed part size for an upload of `total` bytes (None: unknown, use `preferred`)."""
    size = max(preferred, MIN_PART)
    if total is not None:
        need = -(-total // MAX_PARTS)
        if need > size:
            size = -(-need // MiB) * MiB
    if size > MAX_PART:
        raise StoreError(f"{total} bytes do not fit in {MAX_PARTS} parts of at most 5 GiB")
    return size


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class _Budget:
    """Bytes of part bodies in flight across writers; one oversized part may always go."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._cond = asyncio.Condition()

    async def acquire(self, n: int) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.used == 0 or self.used + n <= self.limit)
            self.used += n

    async def release(self, n: int) -> None:
        async with self._cond:
            self.used -= n
            self._cond.notify_all()


class S3ChunkWriter:
    """Appends at the recorded offset; parts upload while the body streams in."""

    def __init__(
        self, store: S3ByteStore, info: UploadInfo, mpu: str, part_size: int, tail: bytes
    ) -> None:
        self._store = store
        self._info = info
        self._mpu = mpu
        self._p = part_size
        self._base = info.offset // part_size  # full parts committed before this writer
        # The next part's bytes as the chunks that arrived (joined once, when it is full).
        self._chunks: list[bytes | memoryview] = [tail] if tail else []
        self._buffered = len(tail)
        self._start = info.offset
        self._next = self._base + 1  # next part number to upload
        self._etags: dict[int, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._written = 0

    @property
    def written(self) -> int:
        return self._written

    async def write(self, data: bytes) -> None:
        """Keep the chunk; a full part is joined with one copy (a growing bytearray cost
        three: append, slice, bytes, plus moving the rest down)."""
        self._check_open()
        self._written += len(data)
        view: bytes | memoryview = data
        while self._buffered + len(view) >= self._p:
            take = self._p - self._buffered
            body = b"".join([*self._chunks, view[:take]])
            self._chunks, self._buffered = [], 0
            view = memoryview(view)[take:]
            await self._spawn(self._next, body)
            self._next += 1
        if view:
            self._chunks.append(view)
            self._buffered += len(view)

    async def _spawn(self, number: int, body: bytes) -> None:
        if number > MAX_PARTS:
            raise StoreError(f"upload {self._info.id} exceeds {MAX_PARTS} parts of {self._p}")
        while len(self._tasks) >= self._store.config.parts_in_flight:
            done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
            self._reap(done)
        await self._store.budget.acquire(len(body))
        task = asyncio.get_running_loop().create_task(self._upload(number, body))
        self._tasks.add(task)

    async def _upload(self, number: int, body: bytes) -> None:
        try:
            self._etags[number] = await self._store.upload_part(
                self._info.id, self._mpu, number, body
            )
        finally:
            await self._store.budget.release(len(body))

    def _reap(self, done: set[asyncio.Task[None]]) -> None:
        for task in done:
            self._tasks.discard(task)
            exc = task.exception()
            if exc is not None:
                raise StoreError(f"uploading a part of {self._info.id} failed: {exc}") from exc

    async def commit(self) -> int:
        """Wait for parts in flight, PUT the new tail marker (the commit), maybe complete."""
        self._check_open()
        self._closed = True
        try:
            if self._tasks:
                finished, _ = await asyncio.wait(self._tasks)
                self._reap(finished)
        except BaseException:
            await self._cancel()
            raise
        base, tail = self._next - 1, b"".join(self._chunks)
        self._chunks, self._buffered = [], 0
        offset = base * self._p + len(tail)
        done = self._info.length is not None and offset >= self._info.length
        if offset == self._start:
            if done:  # e.g. a zero-length upload: make sure the object exists
                await self._store.finish(self._info)
            return offset  # nothing new: the current marker already says so
        await self._store.put_tail(self._info.id, base, tail, self._p)
        if done:
            await self._store.complete(self._info.id, self._mpu, base, tail, self._etags)
        return offset

    async def checkpoint(self) -> int:
        """Checkpointing: wait for the parts in flight and PUT a marker naming them (with
        no tail: the part being filled stays in memory); returns the end of those parts.
        A crash after it leaves the marker, which the next writer keeps when the record
        says that offset, or deletes with the other leftovers when it does not."""
        self._check_open()
        if self._tasks:
            finished, _ = await asyncio.wait(self._tasks)
            self._reap(finished)
        base = self._next - 1
        offset = base * self._p
        if offset > self._start:
            await self._store.put_tail(self._info.id, base, b"", self._p)
            self._start = offset
        return self._start

    async def discard(self) -> None:
        """Forget this writer's bytes: cancel uploads; the committed marker is untouched."""
        self._check_open()
        self._closed = True
        self._chunks, self._buffered = [], 0
        self._written = 0
        await self._cancel()

    async def _cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"writer for {self._info.id} already committed or discarded")


class S3ByteStore:
    """ByteStore + ContentReader + Terminator + Concatenator on S3; build with `open_s3`."""

    # Object storage cannot read multipart parts before completion (see module doc).
    serves_unfinished = False
    # No guarantee that a GET in flight survives a DeleteObject: deletes wait for readers.
    reads_survive_delete = False

    def __init__(self, client: Any, config: S3Config) -> None:
        self.client = client
        self.config = config
        self.bucket = config.bucket
        self.budget = _Budget(config.memory_budget)
        self._exit: contextlib.AsyncExitStack | None = None

    # keys
    def key(self, upload_id: str) -> str:
        return f"{self.config.prefix}{check_id(upload_id)}"

    def tail_key(self, upload_id: str, base: int) -> str:
        return f"{self.key(upload_id)}.tail.{base}"

    # ByteStore
    async def create(self, info: UploadInfo) -> tuple[tuple[str, str], ...]:
        key = self.key(info.id)
        if await self._head(key) is not None or await self._tails(info.id):
            raise UploadExists(info.id)
        total = self.config.max_size if info.length is None else info.length
        size = choose_part_size(total, self.config.part_size)
        mpu = ""
        if info.partials is None:
            r = await self.client.create_multipart_upload(Bucket=self.bucket, Key=key)
            mpu = str(r["UploadId"])
        await self.put_tail(info.id, 0, b"", size)
        return (("key", key), ("multipart_id", mpu), ("part_size", str(size)))

    async def open_writer(self, info: UploadInfo) -> S3ChunkWriter:
        self.key(info.id)
        mpu = await self._mpu(info)
        if not mpu:
            raise StoreError(f"upload {info.id} has no multipart upload (complete or deleted?)")
        p = await self._part_size(info)
        base, need = divmod(info.offset, p)
        tail = b""
        tails = await self._tails(info.id)
        if need:
            if tails.get(base, -1) < need:
                raise StoreError(f"tail of {info.id} at {info.offset} is missing; run recovery")
            tail = await self._get(self.tail_key(info.id, base), 0, need)
        for other in tails:
            if other != base:  # superseded, or leftovers of an unrecorded commit: cut
                await self._delete_key(self.tail_key(info.id, other))
        if tails.get(base, -1) != need:  # a longer marker is an unrecorded commit: cut
            await self.put_tail(info.id, base, tail, p)
        return S3ChunkWriter(self, info, mpu, p, tail)

    async def durable_size(self, info: UploadInfo) -> int:
        head = await self._head(self.key(info.id))
        if head is not None:
            return int(head["ContentLength"])
        tails = await self._tails(info.id)
        if not tails:
            return 0
        base = max(tails)
        p = await self._part_size(info, base)
        if base:
            mpu = await self._mpu(info)
            listed = await self.list_parts(info.id, mpu) if mpu else {}
            full = 0
            while full < base and listed.get(full + 1, (0, ""))[0] == p:
                full += 1
            if full < base:
                return full * p  # parts went missing: only the intact prefix counts
        return base * p + tails[base]

    # ContentReader
    async def read(self, info: UploadInfo, start: int, end: int) -> AsyncIterator[bytes]:
        if start < 0 or end < start:
            raise ValueError(f"bad range [{start}, {end})")
        if start == end:
            return
        key = self.key(info.id)
        try:
            body = await self._open_range(key, start, end)
        except UploadNotFound:
            if info.is_complete and info.partials is None:
                await self.finish(info)  # e.g. the length was declared after the last byte
                body = await self._open_range(key, start, end)
            else:
                p = await self._part_size(info)
                base = info.offset // p
                if start < base * p:
                    raise StoreError(
                        f"bytes before {base * p} of unfinished upload {info.id} are in"
                        " multipart parts, which S3 serves only after completion"
                    ) from None
                key = self.tail_key(info.id, base)
                body = await self._open_range(key, start - base * p, end - base * p)
        async for chunk in self._resuming(body, key, start, end):
            yield chunk

    async def _resuming(self, body: Any, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Stream `body` (bytes [start, end) of `key`); when the store's connection breaks
        mid-way, ask again from the first byte not yet passed on, a few times, so a
        download is not cut short by one dropped connection to the store."""
        at, failures = start, 0
        while True:
            try:
                async with body as stream:
                    async for chunk in stream.iter_chunks(READ_CHUNK):
                        at += len(chunk)
                        yield chunk
                if at == end:
                    return
                problem = f"ended at byte {at}"
            except (TimeoutError, aiohttp.ClientError, BotoCoreError) as exc:
                problem = f"broke at byte {at}: {exc!r}"
            failures += 1
            if failures > READ_RETRIES:
                raise StoreError(f"reading {key} {problem}")
            log.warning("reading %s %s; asking again from there", key, problem)
            body = await self._open_range(key, at, end)

    # Terminator
    async def delete(self, info: UploadInfo) -> None:
        key = self.key(info.id)
        for mpu in await self._uploads_of(key):
            with contextlib.suppress(UploadNotFound):
                await self._call(
                    self.client.abort_multipart_upload, Bucket=self.bucket, Key=key, UploadId=mpu
                )
        for base in await self._tails(info.id):
            await self._delete_key(self.tail_key(info.id, base))
        await self._delete_key(key)

    # Concatenator
    async def concatenate(self, final: UploadInfo, partials: list[UploadInfo]) -> None:
        sizes: list[tuple[str, int]] = []
        for p in partials:
            if p.length is None or p.offset != p.length:
                raise StoreError(f"partial upload {p.id} is not complete")
            if p.length:
                sizes.append((self.key(p.id), p.length))
        key = self.key(final.id)
        if not sizes:
            await self.client.put_object(Bucket=self.bucket, Key=key, Body=b"")
        elif all(n >= MIN_PART for _, n in sizes[:-1]):
            await self._concat_copy(key, sizes)
        else:
            await self._concat_stream(key, sizes)
        for base in await self._tails(final.id):
            await self._delete_key(self.tail_key(final.id, base))

    async def _concat_copy(self, key: str, sizes: list[tuple[str, int]]) -> None:
        """UploadPartCopy each partial (split into <= 5 GiB ranges) as parts of one upload."""
        mpu = str(
            (await self.client.create_multipart_upload(Bucket=self.bucket, Key=key))["UploadId"]
        )
        parts: list[dict[str, Any]] = []
        for src, size in sizes:
            pieces = -(-size // MAX_PART)
            step = -(-size // pieces)
            for start in range(0, size, step):
                stop = min(start + step, size) - 1
                r = await self.client.upload_part_copy(
                    Bucket=self.bucket, Key=key, UploadId=mpu, PartNumber=len(parts) + 1,
                    CopySource={"Bucket": self.bucket, "Key": src},
                    CopySourceRange=f"bytes={start}-{stop}",
                )  # fmt: skip
                parts.append({"PartNumber": len(parts) + 1, "ETag": r["CopyPartResult"]["ETag"]})
        await self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=mpu, MultipartUpload={"Parts": parts}
        )

    async def _concat_stream(self, key: str, sizes: list[tuple[str, int]]) -> None:
        """Small partials: stream them through a fresh multipart upload (no whole buffering)."""
        total = sum(n for _, n in sizes)
        p = choose_part_size(total, self.config.part_size)
        mpu = str(
            (await self.client.create_multipart_upload(Bucket=self.bucket, Key=key))["UploadId"]
        )
        parts: list[dict[str, Any]] = []
        buf = bytearray()

        async def flush(final: bool) -> None:
            while len(buf) >= p or (final and (buf or not parts)):
                body = bytes(buf[:p])
                del buf[:p]
                etag = await self._upload_part(key, mpu, len(parts) + 1, body)
                parts.append({"PartNumber": len(parts) + 1, "ETag": etag})

        for src, size in sizes:
            body = await self._open_range(src, 0, size)
            async with body as stream:
                async for chunk in stream.iter_chunks(READ_CHUNK):
                    buf.extend(chunk)
                    await flush(False)
        await flush(True)
        await self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=mpu, MultipartUpload={"Parts": parts}
        )

    # helpers used by writers
    async def upload_part(self, upload_id: str, mpu: str, number: int, body: bytes) -> str:
        return await self._upload_part(self.key(upload_id), mpu, number, body)

    async def _upload_part(self, key: str, mpu: str, number: int, body: bytes) -> str:
        """Content-MD5, computed in a worker thread (hashlib lets go of the GIL), lets the
        store reject a corrupted part; the payload itself is not SHA-256 signed (see
        `open_s3`), which botocore would otherwise do on the event loop for every part."""
        md5 = await asyncio.to_thread(content_md5, body)
        r = await self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=mpu, PartNumber=number, Body=body, ContentMD5=md5
        )
        return str(r["ETag"])

    async def put_tail(self, upload_id: str, base: int, tail: bytes, part_size: int) -> None:
        await self.client.put_object(
            Bucket=self.bucket,
            Key=self.tail_key(upload_id, base),
            Body=tail,
            ContentMD5=content_md5(tail),  # under one part: cheap on the loop
            Metadata={"tus-part-size": str(part_size)},
        )

    async def complete(
        self, upload_id: str, mpu: str, base: int, tail: bytes, known: dict[int, str]
    ) -> None:
        """Tail as the last part, CompleteMultipartUpload, then drop the markers."""
        key = self.key(upload_id)
        etags = dict(known)
        if len(etags) < base or any(n not in etags for n in range(1, base + 1)):
            listed = await self.list_parts(upload_id, mpu)
            for n in range(1, base + 1):
                etags.setdefault(n, listed[n][1])
        parts = [{"PartNumber": n, "ETag": etags[n]} for n in range(1, base + 1)]
        if tail:
            etag = await self.upload_part(upload_id, mpu, base + 1, tail)
            parts.append({"PartNumber": base + 1, "ETag": etag})
        if parts:
            await self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=mpu, MultipartUpload={"Parts": parts}
            )
        else:  # zero bytes: S3 cannot complete an upload without parts
            await self.client.put_object(Bucket=self.bucket, Key=key, Body=b"")
            with contextlib.suppress(UploadNotFound):
                await self._call(
                    self.client.abort_multipart_upload, Bucket=self.bucket, Key=key, UploadId=mpu
                )
        for b in await self._tails(upload_id):
            await self._delete_key(self.tail_key(upload_id, b))

    async def finish(self, info: UploadInfo) -> None:
        """Complete an upload whose recorded offset already equals its length."""
        if await self._head(self.key(info.id)) is not None:
            return
        mpu = await self._mpu(info)
        p = await self._part_size(info)
        base, need = divmod(info.offset, p)
        tail = await self._get(self.tail_key(info.id, base), 0, need) if need else b""
        await self.complete(info.id, mpu, base, tail, {})

    async def list_parts(self, upload_id: str, mpu: str) -> dict[int, tuple[int, str]]:
        """part number -> (size, ETag), newest entry per number (some servers list repeats)."""
        found: dict[int, tuple[int, str, Any]] = {}
        marker = 0
        for _ in range(MAX_PARTS):
            try:
                r = await self._call(
                    self.client.list_parts, Bucket=self.bucket, Key=self.key(upload_id),
                    UploadId=mpu, PartNumberMarker=marker,
                )  # fmt: skip
            except UploadNotFound:
                return {}
            for part in r.get("Parts", []):
                n, when = int(part["PartNumber"]), part.get("LastModified")
                old = found.get(n)
                if old is None or (when is not None and old[2] is not None and when > old[2]):
                    found[n] = (int(part["Size"]), str(part["ETag"]), when)
            if not r.get("IsTruncated"):
                break
            marker = int(r["NextPartNumberMarker"])
        return {n: (size, etag) for n, (size, etag, _) in found.items()}

    async def ping(self) -> None:
        """The bucket answers (HEAD bucket)."""
        await self.client.head_bucket(Bucket=self.bucket)

    async def close(self) -> None:
        exit_stack, self._exit = self._exit, None
        if exit_stack is not None:
            await exit_stack.aclose()

    # internals
    async def _call(self, method: Any, **kwargs: Any) -> Any:
        try:
            return await method(**kwargs)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise UploadNotFound(str(kwargs.get("Key"))) from None
            raise

    async def _head(self, key: str) -> dict[str, Any] | None:
        try:
            return dict(await self._call(self.client.head_object, Bucket=self.bucket, Key=key))
        except UploadNotFound:
            return None

    async def _get(self, key: str, start: int, end: int) -> bytes:
        body = await self._open_range(key, start, end)
        async with body as stream:
            data = bytes(await stream.read())
        if len(data) != end - start:
            raise StoreError(f"{key} ends before byte {end}")
        return data

    async def _open_range(self, key: str, start: int, end: int) -> Any:
        r = await self._call(
            self.client.get_object, Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end - 1}"
        )
        return r["Body"]

    async def _delete_key(self, key: str) -> None:
        with contextlib.suppress(UploadNotFound):
            await self._call(self.client.delete_object, Bucket=self.bucket, Key=key)

    async def _tails(self, upload_id: str) -> dict[int, int]:
        """Commit markers of an upload: base (full parts) -> tail size."""
        prefix = f"{self.key(upload_id)}.tail."
        found: dict[int, int] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                suffix = str(obj["Key"])[len(prefix) :]
                if suffix.isdigit():
                    found[int(suffix)] = int(obj["Size"])
        return found

    async def _uploads_of(self, key: str) -> list[str]:
        ids: list[str] = []
        paginator = self.client.get_paginator("list_multipart_uploads")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
            ids += [str(u["UploadId"]) for u in page.get("Uploads", []) if u["Key"] == key]
        return ids

    async def _mpu(self, info: UploadInfo) -> str:
        """The multipart upload id: from `storage`, else asked of S3."""
        mpu = info.storage_get("multipart_id")
        if mpu:
            return mpu
        found = await self._uploads_of(self.key(info.id))
        return found[0] if found else ""

    async def _part_size(self, info: UploadInfo, base: int | None = None) -> int:
        """The upload's part size: from `storage`, else from a marker's metadata."""
        size = info.storage_get("part_size")
        if size:
            return int(size)
        bases = [base] if base is not None else list(await self._tails(info.id))
        for b in bases:
            head = await self._head(self.tail_key(info.id, b))
            if head is not None and "tus-part-size" in head.get("Metadata", {}):
                return int(head["Metadata"]["tus-part-size"])
        total = self.config.max_size if info.length is None else info.length
        return choose_part_size(total, self.config.part_size)


def content_md5(body: bytes) -> str:
    """The Content-MD5 header value of `body` (base64 of the binary digest)."""
    return base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()


async def open_s3(config: S3Config) -> S3ByteStore:
    """An S3ByteStore with its own aiobotocore client; `await store.close()` when done."""
    session = get_session()
    botocfg = Config(
        region_name=config.region,
        # Integrity comes from Content-MD5 on every body we send (and TLS where used);
        # SigV4 payload signing would hash each part again, on the event loop.
        s3={
            "addressing_style": "path" if config.path_style else "auto",
            "payload_signing_enabled": False,
        },
        retries={"max_attempts": 5, "mode": "standard"},
        max_pool_connections=config.max_pool_connections,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    stack = contextlib.AsyncExitStack()
    client = await stack.enter_async_context(
        session.create_client(
            "s3",
            endpoint_url=config.endpoint_url,
            aws_access_key_id=config.access_key,
            aws_secret_access_key=config.secret_key,
            aws_session_token=config.session_token,
            config=botocfg,
        )
    )
    store = S3ByteStore(client, config)
    store._exit = stack
    return store
