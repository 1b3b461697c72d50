"""The engine's event seam: listeners hear what happened, gates decide before it happens,
whichever protocol drives the engine (here: direct calls, no protocol at all)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tuskit.persist import open_local
from tuskit.persist.model import UploadInfo, UploadState
from tuskit.upload.engine import (
    AccessMode,
    Engine,
    EngineOptions,
    EventType,
    NewUpload,
    RequestContext,
    UploadEvent,
    current_request,
)
from tuskit.upload.engine.errors import Rejected

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


class Recorder:
    def __init__(self) -> None:
        self.events: list[UploadEvent] = []

    def __call__(self, event: UploadEvent) -> None:
        self.events.append(event)

    @property
    def kinds(self) -> list[tuple[EventType, str, int]]:
        return [(e.type, e.upload.id, e.upload.offset) for e in self.events]


class Gate:
    """Rejects what it is told to; renames created uploads; records access checks."""

    def __init__(self) -> None:
        self.refuse: set[str] = set()
        self.accesses: list[tuple[str, AccessMode, str | None]] = []

    async def pre_create(self, upload: NewUpload, request: RequestContext | None) -> NewUpload:
        if "create" in self.refuse:
            raise Rejected("no uploads today", status=403, body='{"why":"closed"}')
        meta = (*upload.metadata, ("checked", "yes"))
        return NewUpload(upload.id, upload.length, meta, upload.is_partial, upload.partials)

    async def pre_finish(self, upload: UploadInfo, request: RequestContext | None) -> None:
        if "finish" in self.refuse:
            raise Rejected("not this content", status=422)

    async def pre_terminate(self, upload: UploadInfo, request: RequestContext | None) -> None:
        if "terminate" in self.refuse:
            raise Rejected("keep it", status=403)

    async def pre_access(
        self, upload: UploadInfo, mode: AccessMode, request: RequestContext | None
    ) -> None:
        self.accesses.append((upload.id, mode, request.protocol if request else None))
        if "access" in self.refuse:
            raise Rejected("not yours", status=403)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    e = Engine(open_local(tmp_path), EngineOptions(expire_after=60))
    try:
        yield e
    finally:
        await e.stores.close()


async def test_listeners_hear_create_progress_finish_terminate(engine: Engine) -> None:
    heard = Recorder()
    engine.events.subscribe(heard)
    info = await engine.create(length=6, metadata=(("filename", "a.txt"),))
    info = await engine.append(info.id, 0, body(b"abc"))
    info = await engine.append(info.id, 3, body(b"def"))
    await engine.terminate(info.id)
    assert heard.kinds == [
        (EventType.CREATED, info.id, 0),
        (EventType.PROGRESS, info.id, 3),
        (EventType.PROGRESS, info.id, 6),
        (EventType.FINISHED, info.id, 6),
        (EventType.TERMINATED, info.id, 6),
    ]
    assert heard.events[0].upload.metadata == (("filename", "a.txt"),)


async def test_creation_with_a_body_that_completes_reports_finished(engine: Engine) -> None:
    heard = Recorder()
    engine.events.subscribe(heard)
    info = await engine.create(length=3, body=body(b"xyz"))
    assert [k for k, _, _ in heard.kinds] == [
        EventType.CREATED,
        EventType.PROGRESS,
        EventType.FINISHED,
    ]
    assert info.is_complete


async def test_events_carry_the_request_that_caused_them(engine: Engine) -> None:
    heard = Recorder()
    engine.events.subscribe(heard)
    token = current_request.set(
        RequestContext("streams", {"method": "POST", "path": "/v1/streams", "headers": []})
    )
    try:
        await engine.create(length=0)
    finally:
        current_request.reset(token)
    request = heard.events[0].request
    assert request is not None and request.protocol == "streams" and request.method == "POST"


async def test_a_failing_listener_does_not_fail_the_request(engine: Engine) -> None:
    def broken(event: UploadEvent) -> None:
        raise RuntimeError("listener bug")

    heard = Recorder()
    engine.events.subscribe(broken)
    engine.events.subscribe(heard)
    info = await engine.create(length=1)
    assert heard.kinds == [(EventType.CREATED, info.id, 0)]


async def test_pre_create_may_change_metadata_or_refuse_leaving_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    gate = Gate()
    engine.events.add_gate(gate)
    info = await engine.create(length=3, metadata=(("k", "v"),))
    assert (await engine.load(info.id)).metadata == (("k", "v"), ("checked", "yes"))
    gate.refuse.add("create")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(Rejected) as refused:
        await engine.create(length=3, body=body(b"abc"))
    assert refused.value.status == 403 and refused.value.body == '{"why":"closed"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no bytes, no record


async def test_pre_access_sees_every_request_on_an_existing_upload(engine: Engine) -> None:
    gate = Gate()
    engine.events.add_gate(gate)
    info = await engine.create(length=2)
    await engine.status(info.id)
    await engine.append(info.id, 0, body(b"ab"))
    await engine.load(info.id, AccessMode.READ)
    assert [(m, p) for _, m, p in gate.accesses] == [
        (AccessMode.READ, None),
        (AccessMode.WRITE, None),
        (AccessMode.READ, None),
    ]
    gate.refuse.add("access")
    with pytest.raises(Rejected):
        await engine.status(info.id)


async def test_pre_terminate_refusal_keeps_the_upload(engine: Engine) -> None:
    gate = Gate()
    engine.events.add_gate(gate)
    info = await engine.create(length=2)
    gate.refuse.add("terminate")
    with pytest.raises(Rejected):
        await engine.terminate(info.id)
    assert (await engine.load(info.id)).state is UploadState.ACTIVE


async def test_pre_finish_refusal_reaches_the_client_after_the_bytes_are_kept(
    engine: Engine,
) -> None:
    gate = Gate()
    engine.events.add_gate(gate)
    heard = Recorder()
    engine.events.subscribe(heard)
    info = await engine.create(length=2)
    gate.refuse.add("finish")
    with pytest.raises(Rejected) as refused:
        await engine.append(info.id, 0, body(b"ab"))
    assert refused.value.status == 422
    assert (await engine.load(info.id)).offset == 2  # bytes kept for inspection
    assert EventType.FINISHED not in [k for k, _, _ in heard.kinds]


async def test_the_sweeper_reports_expired_uploads(engine: Engine) -> None:
    heard = Recorder()
    engine.events.subscribe(heard)
    info = await engine.create(length=5)
    engine.clock = lambda: info.created_at + 3600
    await engine.sweeper(60).run_once()
    assert heard.kinds[-1] == (EventType.EXPIRED, info.id, 0)
