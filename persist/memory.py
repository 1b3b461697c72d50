"""Upload state in a dict: for tests and throwaway servers (lost on restart).

Records are frozen dataclasses, but a caller could still smuggle a list into a tuple
field; every record is normalised to tuples on the way in, so nothing handed out is
shared mutable state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from .model import UploadInfo, UploadState
from .protocols import UploadExists, UploadNotFound


def _frozen(info: UploadInfo) -> UploadInfo:
    return info.replace(
        metadata=tuple((str(k), str(v)) for k, v in info.metadata),
        partials=None if info.partials is None else tuple(info.partials),
        storage=tuple((str(k), str(v)) for k, v in info.storage),
        state=UploadState(info.state),
    )


class MemoryMetadataStore:
    """MetadataStore in process memory; same semantics as the durable stores."""

    def __init__(self) -> None:
        self._records: dict[str, UploadInfo] = {}

    async def create(self, info: UploadInfo) -> None:
        if info.id in self._records:
            raise UploadExists(info.id)
        self._records[info.id] = _frozen(info)

    async def get(self, upload_id: str) -> UploadInfo | None:
        return self._records.get(upload_id)

    async def save(self, info: UploadInfo) -> None:
        if info.id not in self._records:
            raise UploadNotFound(info.id)
        self._records[info.id] = _frozen(info)

    async def mark(self, upload_id: str, state: UploadState, now: float) -> None:
        info = self._records.get(upload_id)
        if info is None:
            raise UploadNotFound(upload_id)
        self._records[upload_id] = info.replace(state=UploadState(state), updated_at=now)

    async def expired(self, now: float, limit: int) -> list[UploadInfo]:
        found = [
            i
            for i in self._records.values()
            if i.state is UploadState.ACTIVE
            and i.expires_at is not None
            and i.expires_at < now
            and not i.is_complete
        ]
        found.sort(key=lambda i: (i.expires_at or 0.0, i.id))
        return found[:limit]

    async def finals_waiting_on(self, partial_id: str) -> list[UploadInfo]:
        return sorted(
            (
                i
                for i in self._records.values()
                if i.state is UploadState.ACTIVE
                and i.partials is not None
                and partial_id in i.partials
                and not i.is_complete
            ),
            key=lambda i: i.id,
        )

    async def all_active(self) -> AsyncIterator[UploadInfo]:
        for info in list(self._records.values()):
            if info.state is UploadState.ACTIVE:
                yield info

    async def purge_tombstones(self, older_than: float) -> int:
        old = [
            k
            for k, i in self._records.items()
            if i.state is not UploadState.ACTIVE and i.updated_at < older_than
        ]
        for k in old:
            del self._records[k]
        return len(old)

    async def ping(self) -> None:
        """Always reachable."""

    async def close(self) -> None:
        self._records.clear()
