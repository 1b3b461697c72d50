"""Assembly from parts on the engine, without any protocol: part sizes, all-or-nothing
parts, completion (idempotent, verified), abandonment, the sweep, events and gates."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tuskit.persist import open_local
from tuskit.persist.assembly import AssemblyState
from tuskit.persist.model import UploadInfo
from tuskit.upload.engine import AccessMode, Engine, EngineOptions, EventType, Expected, NewUpload
from tuskit.upload.engine.assembly import Assemblies, AssemblyOptions
from tuskit.upload.engine.errors import (
    AlreadyComplete,
    ChecksumMismatch,
    Gone,
    MissingParts,
    NotFound,
    PartLengthMismatch,
    PartOutOfRange,
    Rejected,
    TooLarge,
)

from .test_events import Recorder

pytestmark = pytest.mark.anyio
P = 4096


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[Engine, Assemblies, Clock]]:
    clock = Clock()
    engine = Engine(open_local(tmp_path), EngineOptions(max_size=10 * P), clock=clock)
    assemblies = engine.assemblies(AssemblyOptions(part_size=P, expire_after=60))
    try:
        yield engine, assemblies, clock
    finally:
        await engine.stores.close()


async def body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def write_all(a: Assemblies, assembly_id: str, data: bytes) -> None:
    for i in range(max(1, -(-len(data) // P))):
        await a.write(assembly_id, i, body(data[i * P : (i + 1) * P]))


async def test_part_size_policy(env: tuple[Engine, Assemblies, Clock]) -> None:
    _, a, _ = env
    assert a.part_size_for(0) == P  # never lowered for a small upload
    a.options = AssemblyOptions(part_size=1000)
    assert a.part_size_for(10**6) == P  # raised to the store's minimum and alignment


async def test_parts_in_any_order_complete_once(env: tuple[Engine, Assemblies, Clock]) -> None:
    engine, a, _ = env
    heard = Recorder()
    engine.events.subscribe(heard)
    data = os.urandom(3 * P + 5)
    asm = await a.begin(len(data), (("filename", "x"),))
    for i in (3, 1, 0, 2):
        stored = await a.write(asm.id, i, body(data[i * P : (i + 1) * P]))
    assert stored.received == 4
    done = await a.complete(asm.id)
    assert done.first and done.upload.id == asm.upload_id and done.upload.is_complete
    again = await a.complete(asm.id)
    assert not again.first and again.upload == done.upload
    info = await engine.load(asm.upload_id)
    assert b"".join([c async for c in engine.read(info, 0, info.offset)]) == data
    kinds = [k for k, _, _ in heard.kinds]
    assert kinds == [EventType.CREATED] + [EventType.PROGRESS] * 4 + [EventType.FINISHED]
    assert [o for _, _, o in heard.kinds][1:5] == [5, P + 5, 2 * P + 5, 3 * P + 5]
    status = await a.status(asm.id)
    assert status.assembly.state is AssemblyState.COMPLETED and status.missing == []


async def test_refusals(env: tuple[Engine, Assemblies, Clock]) -> None:
    _, a, _ = env
    with pytest.raises(TooLarge):
        await a.begin(10 * P + 1)
    asm = await a.begin(2 * P)
    with pytest.raises(PartOutOfRange):
        await a.write(asm.id, 2, body(b"x"))
    with pytest.raises(PartLengthMismatch):
        await a.write(asm.id, 0, body(b"x" * (P - 1)))
    with pytest.raises(PartLengthMismatch):
        await a.write(asm.id, 0, body(b"x" * P, b"y"))
    with pytest.raises(PartLengthMismatch):
        await a.write(asm.id, 0, body(b"x" * P), content_length=P + 1)
    with pytest.raises(MissingParts) as missing:
        await a.complete(asm.id)
    assert missing.value.missing == [0, 1]
    with pytest.raises(NotFound):
        await a.status("nope")
    assert (await a.status(asm.id)).received == ()


async def test_checksum_mismatch_forgets_every_part(env: tuple[Engine, Assemblies, Clock]) -> None:
    engine, a, _ = env
    data = os.urandom(2 * P)
    asm = await a.begin(len(data), digest=Expected("sha256", hashlib.sha256(data).digest()))
    await write_all(a, asm.id, data[:-1] + b"\0")
    with pytest.raises(ChecksumMismatch):
        await a.complete(asm.id)
    status = await a.status(asm.id)
    assert status.assembly.state is AssemblyState.ACTIVE and status.missing == [0, 1]
    assert await engine.stores.metadata.get(asm.upload_id) is None
    await write_all(a, asm.id, data)
    assert (await a.complete(asm.id)).first


async def test_abandon_and_completed_refusals(env: tuple[Engine, Assemblies, Clock]) -> None:
    engine, a, _ = env
    heard = Recorder()
    engine.events.subscribe(heard)
    asm = await a.begin(P)
    await a.write(asm.id, 0, body(b"z" * P))
    assert await a.abandon(asm.id) is True
    assert await a.abandon(asm.id) is False
    with pytest.raises(Gone):
        await a.write(asm.id, 0, body(b"z" * P))
    assert heard.events[-1].type is EventType.TERMINATED
    done = await a.begin(1)
    await a.write(done.id, 0, body(b"1"))
    await a.complete(done.id)
    with pytest.raises(AlreadyComplete):
        await a.abandon(done.id)
    with pytest.raises(AlreadyComplete):
        await a.write(done.id, 0, body(b"1"))


async def test_sweep_expires_finishes_and_purges(env: tuple[Engine, Assemblies, Clock]) -> None:
    engine, a, clock = env
    heard = Recorder()
    engine.events.subscribe(heard)
    old = await a.begin(2 * P)
    await a.write(old.id, 0, body(b"o" * P))
    clock.now += 30
    fresh = await a.begin(P)
    clock.now += 40  # old: 70 s after its last part; fresh: 40 s
    with pytest.raises(Gone):
        await a.status(old.id)  # lapsed: 410 before any sweep
    report = await a.sweep_report(clock.now)
    assert report.expired == [old.id]
    assert heard.events[-1].type is EventType.EXPIRED
    assert (await a.store.get_assembly(old.id)).state is AssemblyState.EXPIRED  # type: ignore[union-attr]
    assert await a.store.stored_parts(old.id) == []
    assert (await a.status(fresh.id)).assembly.state is AssemblyState.ACTIVE
    # An interrupted completion is finished by the sweep.
    await a.write(fresh.id, 0, body(b"f" * P))
    stuck = (await a.store.get_assembly(fresh.id)).replace(state=AssemblyState.COMPLETING)  # type: ignore[union-attr]
    assert await a.store.swap_assembly(stuck, frozenset({AssemblyState.ACTIVE}))
    report = await a.sweep_report(clock.now)
    assert report.settled == [fresh.id]
    assert (await a.complete(fresh.id)).first is False
    clock.now += 8 * 24 * 3600
    report = await a.sweep_report(clock.now)
    assert report.purged == 2
    with pytest.raises(NotFound):
        await a.status(old.id)


class Gate:
    def __init__(self) -> None:
        self.accesses: list[AccessMode] = []
        self.refuse_finish = False

    async def pre_create(self, upload: NewUpload, request: object) -> NewUpload:
        return NewUpload("chosen-id", upload.length, (*upload.metadata, ("gate", "1")))

    async def pre_finish(self, upload: UploadInfo, request: object) -> None:
        if self.refuse_finish:
            raise Rejected("not this one", status=422)

    async def pre_terminate(self, upload: UploadInfo, request: object) -> None:
        raise Rejected("keep it", status=403)

    async def pre_access(self, upload: UploadInfo, mode: AccessMode, request: object) -> None:
        self.accesses.append(mode)


async def test_gates_decide_for_assemblies(env: tuple[Engine, Assemblies, Clock]) -> None:
    engine, a, _ = env
    gate = Gate()
    engine.events.add_gate(gate)  # type: ignore[arg-type]
    asm = await a.begin(3)
    assert asm.upload_id == "chosen-id" and ("gate", "1") in asm.metadata
    await a.write(asm.id, 0, body(b"abc"))
    await a.status(asm.id)
    gate.refuse_finish = True
    with pytest.raises(Rejected):
        await a.complete(asm.id)
    with pytest.raises(Rejected):
        await a.abandon(asm.id)
    assert (await a.status(asm.id)).assembly.state is AssemblyState.ACTIVE
    gate.refuse_finish = False
    assert (await a.complete(asm.id)).upload.id == "chosen-id"
    assert AccessMode.WRITE in gate.accesses and AccessMode.READ in gate.accesses
