"""Digests of a whole upload, read back from the byte store.

A representation digest covers every byte of an upload, which may have arrived over many
requests (and instances): it is computed once the upload is complete, by reading the
stored bytes back. Hashing runs in a worker thread (hashlib releases the GIL on large
buffers), in batches, so a large upload does not stall the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tuskit.persist.model import UploadInfo

from .digests import ALGORITHMS, Hasher
from .uploads import Engine

BATCH = 8 * 1024 * 1024
"""Bytes hashed per thread hop (a hop costs ~50 us; hashing 8 MiB ~20 ms)."""


async def digest_upload(
    engine: Engine, info: UploadInfo, algorithms: Sequence[str]
) -> dict[str, bytes]:
    """Digests (hashlib names, see `digests.ALGORITHMS`) of bytes [0, offset) of `info`;
    raises the engine's Unreadable / Incomplete when the store cannot serve them."""
    engine.check_readable(info)
    hashers = {name: ALGORITHMS[name]() for name in algorithms}
    batch: list[bytes] = []
    size = 0
    async for chunk in engine.read(info, 0, info.offset):
        batch.append(chunk)
        size += len(chunk)
        if size >= BATCH:
            await asyncio.to_thread(_update, hashers, batch)
            batch, size = [], 0
    if batch:
        await asyncio.to_thread(_update, hashers, batch)
    return {name: hasher.digest() for name, hasher in hashers.items()}


def _update(hashers: dict[str, Hasher], chunks: list[bytes]) -> None:
    for chunk in chunks:
        for hasher in hashers.values():
            hasher.update(chunk)
