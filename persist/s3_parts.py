"""Parts in S3: one multipart upload per assembly, one multipart part per part.

- `begin_parts` creates the multipart upload at the upload's own key; part `i` is
  PartNumber `i + 1`. Uploading a part number again replaces it, so a retried part is
  one more UploadPart; its ETag is the receipt the state store keeps, and
  CompleteMultipartUpload lists exactly the recorded parts: that is the assembly, done
  by S3 without copying a byte through us.
- S3 needs a part's length and digest before its bytes: a part is gathered in memory
  (at most its size, counted against the store's memory budget shared with tus writers,
  taken before the first byte is read, so many parallel parts wait instead of growing
  memory), then sent with Content-MD5 computed in a worker thread.
- Completion is idempotent: a repeated CompleteMultipartUpload whose upload is gone
  (it was completed before a crash) checks that the object is there with its length.
- `reopen_parts` (the result failed verification) deletes the object and starts a new
  multipart upload; `abandon_parts` aborts every multipart upload of the key.
"""

from __future__ import annotations

import contextlib

from .assembly import StoredPart
from .model import UploadInfo
from .protocols import StoreError, UploadNotFound
from .s3store import MAX_PART, MAX_PARTS, MIN_PART, S3ByteStore


class S3PartWriter:
    """Gathers one part, then uploads it as its multipart part on `commit`."""

    def __init__(self, parts: S3Parts, target: UploadInfo, number: int, size: int) -> None:
        self._parts = parts
        self._target = target
        self._number = number
        self._size = size
        self._chunks: list[bytes] = []
        self._got = 0
        self._closed = False

    async def write(self, data: bytes) -> None:
        self._check_open()
        if self._got + len(data) > self._size:
            raise StoreError("a part may not pass its length")
        self._chunks.append(data)
        self._got += len(data)

    async def commit(self) -> str:
        self._check_open()
        self._closed = True
        try:
            if self._size == 0:
                return ""  # the empty part of an empty upload: nothing to send
            body = b"".join(self._chunks)
            self._chunks = []
            return await self._parts.upload(self._target, self._number, body)
        finally:
            await self._release()

    async def discard(self) -> None:
        self._check_open()
        self._closed = True
        self._chunks = []
        await self._release()

    async def _release(self) -> None:
        if self._size:
            await self._parts.store.budget.release(self._size)
            self._size = 0

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"part writer of {self._target.id} already committed or discarded")


class S3Parts:
    """PartStore on an S3ByteStore's bucket."""

    min_part_size = MIN_PART
    part_alignment = 1
    max_parts: int | None = MAX_PARTS

    def __init__(self, store: S3ByteStore) -> None:
        self.store = store

    async def begin_parts(self, target: UploadInfo, part_size: int) -> tuple[tuple[str, str], ...]:
        if part_size > MAX_PART:
            raise StoreError(f"part size {part_size} exceeds S3's 5 GiB")
        key = self.store.key(target.id)
        r = await self.store.client.create_multipart_upload(Bucket=self.store.bucket, Key=key)
        return (("key", key), ("multipart_id", str(r["UploadId"])), ("part_size", str(part_size)))

    async def open_part(
        self, target: UploadInfo, index: int, start: int, size: int
    ) -> S3PartWriter:
        if not target.storage_get("multipart_id"):
            raise StoreError(f"{target.id} has no multipart upload")
        if size:
            await self.store.budget.acquire(size)
        return S3PartWriter(self, target, index + 1, size)

    async def upload(self, target: UploadInfo, number: int, body: bytes) -> str:
        mpu = target.storage_get("multipart_id")
        try:
            return await self.store.upload_part(target.id, mpu, number, body)
        except UploadNotFound:
            raise StoreError(f"the multipart upload of {target.id} is gone") from None

    async def assemble(self, target: UploadInfo, parts: list[StoredPart]) -> None:
        key = self.store.key(target.id)
        mpu = target.storage_get("multipart_id")
        if target.length == 0:
            await self.store.client.put_object(Bucket=self.store.bucket, Key=key, Body=b"")
            with contextlib.suppress(UploadNotFound):
                await self._abort(key, mpu)
            return
        listed = [{"PartNumber": p.index + 1, "ETag": p.receipt} for p in parts if p.size]
        try:
            await self.store._call(
                self.store.client.complete_multipart_upload,
                Bucket=self.store.bucket,
                Key=key,
                UploadId=mpu,
                MultipartUpload={"Parts": listed},
            )
        except UploadNotFound:
            head = await self.store._head(key)  # completed before: check, do not redo
            if head is None or int(head["ContentLength"]) != target.length:
                raise StoreError(f"the multipart upload of {target.id} is gone") from None

    async def reopen_parts(self, target: UploadInfo) -> tuple[tuple[str, str], ...]:
        await self.store.delete(target)  # the object, and any multipart upload of the key
        part_size = int(target.storage_get("part_size") or MIN_PART)
        return await self.begin_parts(target, part_size)

    async def finish_parts(self, target: UploadInfo) -> None:
        """Nothing left: CompleteMultipartUpload consumed the parts."""

    async def abandon_parts(self, target: UploadInfo) -> None:
        await self.store.delete(target)

    async def _abort(self, key: str, mpu: str) -> None:
        await self.store._call(
            self.store.client.abort_multipart_upload,
            Bucket=self.store.bucket,
            Key=key,
            UploadId=mpu,
        )
