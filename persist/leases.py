"""Read leases and retired uploads in process memory (tests, one-process servers), and
the record form the durable stores keep for a retired upload.

A retired upload needs only what its byte store's `delete` reads: id, length, offset
and the store's private `storage` fields.
"""

from __future__ import annotations

import json

from .model import UploadInfo, UploadState


def retired_record(info: UploadInfo) -> str:
    """The JSON kept for a retired upload."""
    return json.dumps(
        {
            "id": info.id,
            "length": info.length,
            "offset": info.offset,
            "storage": [list(kv) for kv in info.storage],
        },
        separators=(",", ":"),
    )


def retired_info(text: str) -> UploadInfo:
    d = json.loads(text)
    return UploadInfo(
        id=str(d["id"]),
        length=d["length"],
        offset=int(d["offset"]),
        storage=tuple((str(k), str(v)) for k, v in d["storage"]),
        state=UploadState.TERMINATED,
    )


class MemoryReadLeases:
    """ReadLeases in dicts; same semantics as the durable stores."""

    def __init__(self) -> None:
        self._leases: dict[str, dict[str, float]] = {}
        self._retired: dict[str, tuple[float, str]] = {}

    async def hold(self, upload_id: str, reader: str, until: float) -> None:
        self._leases.setdefault(upload_id, {})[reader] = until

    async def release(self, upload_id: str, reader: str) -> None:
        readers = self._leases.get(upload_id)
        if readers is not None:
            readers.pop(reader, None)
            if not readers:
                del self._leases[upload_id]

    def _live(self, upload_id: str, now: float) -> bool:
        return any(until > now for until in self._leases.get(upload_id, {}).values())

    async def retire(self, info: UploadInfo, now: float) -> bool:
        self._retired[info.id] = (now, retired_record(info))
        return not self._live(info.id, now)

    async def reclaimable(self, now: float, limit: int) -> list[UploadInfo]:
        due = sorted(
            (since, upload_id, text)
            for upload_id, (since, text) in self._retired.items()
            if not self._live(upload_id, now)
        )
        return [retired_info(text) for _, _, text in due[:limit]]

    async def reclaimed(self, upload_id: str) -> None:
        self._retired.pop(upload_id, None)
        self._leases.pop(upload_id, None)

    async def close(self) -> None:
        self._leases.clear()
