"""Concatenation and concatenation-unfinished: final uploads built from partial ones.

A final upload may be created while its partials are still uploading; it completes
when the last one does. Completion is idempotent under the final's lock, so the
creating request and the last partial's PATCH may both try without harm.
"""

from __future__ import annotations

import logging

from tuskit.persist.composer import StoreComposer
from tuskit.persist.model import UploadInfo, UploadState
from tuskit.persist.protocols import LockTimeout

from .config import Settings
from .urls import id_from_url

log = logging.getLogger("tuskit.upload.concat")


class ConcatError(ValueError):
    """The `Upload-Concat: final;...` request names something that cannot be joined."""


def parse_final(header: str, base_path: str) -> list[str]:
    """Partial upload ids from `final;URL URL ...` (absolute or relative URLs)."""
    if not header.startswith("final;"):
        raise ConcatError("Upload-Concat must be `partial` or `final;URL ...`")
    urls = header[len("final;") :].split()
    if not urls:
        raise ConcatError("Upload-Concat final lists no partial uploads")
    ids: list[str] = []
    for url in urls:
        upload_id = id_from_url(url, base_path)
        if upload_id is None:
            raise ConcatError(f"{url!r} is not an upload URL of this server")
        ids.append(upload_id)
    return ids


class Concatenation:
    def __init__(self, stores: StoreComposer, settings: Settings) -> None:
        self.stores = stores
        self.settings = settings

    async def _partials(self, ids: list[str] | tuple[str, ...]) -> list[UploadInfo]:
        partials: list[UploadInfo] = []
        for upload_id in ids:
            info = await self.stores.metadata.get(upload_id)
            if info is None or info.state is not UploadState.ACTIVE:
                raise ConcatError(f"partial upload {upload_id} does not exist")
            if not info.is_partial:
                raise ConcatError(f"upload {upload_id} is not a partial upload")
            partials.append(info)
        return partials

    async def create_final(
        self,
        final_id: str,
        partial_ids: list[str],
        metadata: tuple[tuple[str, str], ...],
        now: float,
    ) -> UploadInfo:
        if self.stores.concatenator is None:
            raise ConcatError("this store does not support concatenation")
        partials = await self._partials(partial_ids)
        lengths = [p.length for p in partials]
        length = None if any(n is None for n in lengths) else sum(n for n in lengths if n)
        if length is not None and self.settings.max_size and length > self.settings.max_size:
            raise ConcatError(f"the final upload ({length} bytes) exceeds Tus-Max-Size")
        info = UploadInfo(
            id=final_id,
            length=length,
            metadata=metadata,
            partials=tuple(partial_ids),
            created_at=now,
            updated_at=now,
        )
        info = info.replace(storage=await self.stores.byte_store.create(info))
        await self.stores.metadata.create(info)
        await self.complete_if_ready(final_id)
        refreshed = await self.stores.metadata.get(final_id)
        return refreshed or info

    async def partial_completed(self, partial_id: str) -> None:
        """A partial just finished: complete every final that was waiting on it.

        Runs after the partial's own request succeeded, so a failure here is logged,
        never answered: HEAD on the final retries the completion later.
        """
        for final in await self.stores.metadata.finals_waiting_on(partial_id):
            try:
                await self.complete_if_ready(final.id)
            except Exception:
                log.exception("completing final upload %s failed; HEAD retries it", final.id)

    async def complete_if_ready(self, final_id: str) -> None:
        concatenator = self.stores.concatenator
        if concatenator is None:
            return
        try:
            lock = await self.stores.locker.acquire(
                final_id, timeout=self.settings.lock_timeout, on_release_request=lambda: None
            )
        except LockTimeout:
            log.warning("final upload %s stayed locked; concatenation postponed", final_id)
            return
        try:
            final = await self.stores.metadata.get(final_id)
            if final is None or final.state is not UploadState.ACTIVE or final.is_complete:
                return
            if final.partials is None:
                return
            try:
                partials = await self._partials(final.partials)
            except ConcatError as exc:
                log.warning("final upload %s cannot complete: %s", final_id, exc)
                return
            if not all(p.is_complete for p in partials):
                return
            length = sum(p.offset for p in partials)
            if self.settings.max_size and length > self.settings.max_size:
                log.warning("final upload %s would exceed Tus-Max-Size; not joined", final_id)
                return
            await concatenator.concatenate(final, partials)
            done = final.replace(length=length, offset=length, expires_at=None)
            if not lock.still_held():
                log.warning("lost the lock on final upload %s; its completion is retried", final_id)
                return
            await self.stores.metadata.save(done)
        finally:
            await lock.release()
