"""Lazy reconciliation: an upload whose stored bytes fall short of its record is fixed by
the first append that finds out, instead of by a start-up pass over every upload.

Bytes are durable before their offset is recorded, so a data file shorter than its
record takes an OS crash under a relaxed `--fsync` policy (or bytes removed by hand).
The writer then raises `BytesMissing` with what survived; under the upload's lock the
offset is lowered to that and the client hears 409 with the offset to resume from (a
tus client HEADs and resumes), where it got a 500 on every retry before.
"""

from __future__ import annotations

import logging

from tuskit.persist.composer import StoreComposer
from tuskit.persist.model import UploadInfo
from tuskit.persist.protocols import BytesMissing

from .errors import OffsetMismatch

log = logging.getLogger("tuskit.upload")


async def lower_to_stored(
    stores: StoreComposer,
    info: UploadInfo,
    missing: BytesMissing,
    now: float,
    expires_at: float | None,
) -> OffsetMismatch:
    """Record the offset the bytes support (caller holds the lock and has fenced it);
    returns the error to answer with. `expires_at` applies if the upload had none (it
    was complete and is not any more)."""
    lowered = info.replace(
        offset=missing.durable,
        updated_at=now,
        expires_at=info.expires_at if info.expires_at is not None else expires_at,
    )
    await stores.metadata.save(lowered)
    log.warning(
        "upload %s: %s; offset lowered from %d to %d", info.id, missing, info.offset, lowered.offset
    )
    return OffsetMismatch(
        f"the server kept only {lowered.offset} bytes of this upload (lost in a crash); "
        "resume from there",
        lowered.offset,
    )
