"""Concatenation edge cases at the service level, with real file and SQLite stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuskit.gen.tus.service import CreatePayload, GetPayload, HeadPayload, PatchPayload
from tuskit.persist import open_local
from tuskit.upload.engine import Engine
from tuskit.upload.tus import TusService

from .test_service_errors import body_of

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def patch(upload_id: str, offset: int, length: int | None = None) -> PatchPayload:
    return PatchPayload(
        id=upload_id,
        tus_resumable="1.0.0",
        upload_offset=offset,
        content_type="application/offset+octet-stream",
        upload_length=length,
    )


async def test_empty_patch_that_fixes_a_deferred_length_completes_the_final(
    tmp_path: Path,
) -> None:
    """tus-js-client sends Upload-Length in an empty PATCH when the size is a multiple of
    its chunk size: that must complete a final upload waiting on this partial."""
    service = TusService(Engine(open_local(tmp_path)))
    try:
        a = await service.create(
            CreatePayload(
                tus_resumable="1.0.0", upload_defer_length="1", upload_concat="partial", host="h"
            ),
            body_of(),
        )
        b = await service.create(
            CreatePayload(
                tus_resumable="1.0.0", upload_length=3, upload_concat="partial", host="h"
            ),
            body_of(),
        )
        a_id, b_id = (r.location.rsplit("/", 1)[1] for r in (a, b))
        await service.patch(patch(b_id, 0), body_of(b"xyz"))
        await service.patch(patch(a_id, 0), body_of(b"hello"))
        final = await service.create(
            CreatePayload(
                tus_resumable="1.0.0",
                upload_concat=f"final;/files/{a_id} /files/{b_id}",
                host="h",
            ),
            body_of(),
        )
        f_id = final.location.rsplit("/", 1)[1]
        head = await service.head(HeadPayload(id=f_id, tus_resumable="1.0.0"))
        assert head.upload_offset is None  # waiting on the deferred partial
        await service.patch(patch(a_id, 5, length=5), body_of())  # empty body, length known
        head = await service.head(HeadPayload(id=f_id, tus_resumable="1.0.0"))
        assert (head.upload_offset, head.upload_length) == (8, 8)
        got = await service.get(GetPayload(id=f_id))
        assert got.body is not None
        assert b"".join([c async for c in got.body]) == b"helloxyz"
    finally:
        await service.engine.stores.close()
