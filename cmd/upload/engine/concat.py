"""Assembly from parts: a final upload built from finished partial uploads.

A final upload may be created while its partials are still uploading; it completes
when the last one does. Completion is idempotent under the final's lock, so the
creating request and the last partial's append may both try without harm.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from tuskit.persist.composer import StoreComposer
from tuskit.persist.model import UploadInfo, UploadState
from tuskit.persist.protocols import LockTimeout, Release

from .errors import InvalidRequest
from .options import EngineOptions

log = logging.getLogger("tuskit.upload.concat")


class Concatenation:
    def __init__(self, stores: StoreComposer, options: EngineOptions) -> None:
        self.stores = stores
        self.options = options

    async def _partials(self, ids: Sequence[str]) -> list[UploadInfo]:
        partials: list[UploadInfo] = []
        for upload_id in ids:
            info = await self.stores.metadata.get(upload_id)
            if info is None or info.state is not UploadState.ACTIVE:
                raise InvalidRequest(f"partial upload {upload_id} does not exist")
            if not info.is_partial:
                raise InvalidRequest(f"upload {upload_id} is not a partial upload")
            partials.append(info)
        return partials

    def _over_limit(self, length: int) -> bool:
        return self.options.max_size is not None and length > self.options.max_size

    async def create_final(
        self,
        final_id: str,
        partial_ids: Sequence[str],
        metadata: tuple[tuple[str, str], ...],
        now: float,
    ) -> UploadInfo:
        """Record the final (complete at once when every partial is) and return it."""
        if self.stores.concatenator is None:
            raise InvalidRequest("this store does not support concatenation")
        partials = await self._partials(partial_ids)
        lengths = [p.length for p in partials]
        length = None if any(n is None for n in lengths) else sum(n for n in lengths if n)
        if length is not None and self._over_limit(length):
            limit = self.options.max_size
            raise InvalidRequest(
                f"the final upload ({length} bytes) exceeds the size limit ({limit})"
            )
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

    async def partial_completed(self, partial_id: str) -> list[UploadInfo]:
        """A partial just finished: complete every final that was waiting on it; returns
        the finals completed.

        Runs after the partial's own request succeeded, so a failure here is logged,
        never answered: a status request on the final retries the completion later.
        """
        done: list[UploadInfo] = []
        for final in await self.stores.metadata.finals_waiting_on(partial_id):
            try:
                completed = await self.complete_if_ready(final.id)
            except Exception:
                log.exception(
                    "completing final upload %s failed; a status request retries it", final.id
                )
                continue
            if completed is not None:
                done.append(completed)
        return done

    async def complete_if_ready(self, final_id: str) -> UploadInfo | None:
        """Join the parts when all are complete; returns the completed final, or None
        when nothing was done (not ready, busy, already complete)."""
        concatenator = self.stores.concatenator
        if concatenator is None:
            return None
        try:
            lock = await self.stores.locker.acquire(
                final_id, timeout=self.options.lock_timeout, on_release_request=_ignore
            )
        except LockTimeout:
            log.warning("final upload %s stayed locked; concatenation postponed", final_id)
            return None
        try:
            final = await self.stores.metadata.get(final_id)
            if final is None or final.state is not UploadState.ACTIVE or final.is_complete:
                return None
            if final.partials is None:
                return None
            try:
                partials = await self._partials(final.partials)
            except InvalidRequest as exc:
                log.warning("final upload %s cannot complete: %s", final_id, exc)
                return None
            if not all(p.is_complete for p in partials):
                return None
            length = sum(p.offset for p in partials)
            if self._over_limit(length):
                log.warning("final upload %s would exceed the size limit; not joined", final_id)
                return None
            await concatenator.concatenate(final, partials)
            done = final.replace(length=length, offset=length, expires_at=None)
            if not lock.still_held():
                log.warning("lost the lock on final upload %s; its completion is retried", final_id)
                return None
            await self.stores.metadata.save(done)
            return done
        finally:
            await lock.release()


def _ignore(kind: Release) -> None:
    """Joining parts is short: a final has no body to stop."""
