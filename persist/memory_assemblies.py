"""Assemblies in a dict: for tests and throwaway servers (lost on restart). Each method
runs without awaiting, so every conditional change is atomic on the event loop."""

from __future__ import annotations

from .assembly import UNSETTLED, Assembly, AssemblyState, StoredPart
from .protocols import UploadExists


def _frozen(a: Assembly) -> Assembly:
    return a.replace(
        metadata=tuple((str(k), str(v)) for k, v in a.metadata),
        storage=tuple((str(k), str(v)) for k, v in a.storage),
        state=AssemblyState(a.state),
    )


class MemoryAssemblyStore:
    """AssemblyStore in process memory; same semantics as the durable stores."""

    def __init__(self) -> None:
        self._records: dict[str, Assembly] = {}
        self._parts: dict[str, dict[int, StoredPart]] = {}

    async def create_assembly(self, assembly: Assembly) -> None:
        if assembly.id in self._records:
            raise UploadExists(assembly.id)
        self._records[assembly.id] = _frozen(assembly)
        self._parts[assembly.id] = {}

    async def get_assembly(self, assembly_id: str) -> Assembly | None:
        return self._records.get(assembly_id)

    async def stored_parts(self, assembly_id: str) -> list[StoredPart]:
        parts = self._parts.get(assembly_id, {})
        return [parts[i] for i in sorted(parts)]

    def _active(self, assembly_id: str) -> Assembly | None:
        a = self._records.get(assembly_id)
        return a if a is not None and a.state is AssemblyState.ACTIVE else None

    async def clear_part(self, assembly_id: str, index: int) -> bool:
        if self._active(assembly_id) is None:
            return False
        self._parts[assembly_id].pop(index, None)
        return True

    async def put_part(
        self, assembly_id: str, part: StoredPart, now: float, expires_at: float | None
    ) -> int | None:
        a = self._active(assembly_id)
        if a is None:
            return None
        parts = self._parts[assembly_id]
        parts[part.index] = StoredPart(int(part.index), int(part.size), str(part.receipt))
        self._records[assembly_id] = a.replace(updated_at=now, expires_at=expires_at)
        return len(parts)

    async def clear_parts(self, assembly_id: str) -> None:
        if assembly_id in self._parts:
            self._parts[assembly_id] = {}

    async def swap_assembly(self, assembly: Assembly, expect: frozenset[AssemblyState]) -> bool:
        current = self._records.get(assembly.id)
        if current is None or current.state not in expect:
            return False
        self._records[assembly.id] = _frozen(assembly)
        return True

    async def due_assemblies(self, now: float, limit: int) -> list[Assembly]:
        found = [
            a
            for a in self._records.values()
            if a.state is AssemblyState.ACTIVE and a.expires_at is not None and a.expires_at < now
        ]
        found.sort(key=lambda a: (a.expires_at or 0.0, a.id))
        return found[:limit]

    async def unsettled_assemblies(self, limit: int) -> list[Assembly]:
        found = sorted(
            (a for a in self._records.values() if a.state in UNSETTLED), key=lambda a: a.id
        )
        return found[:limit]

    async def purge_assemblies(self, older_than: float) -> int:
        old = [k for k, a in self._records.items() if a.state.settled and a.updated_at < older_than]
        for k in old:
            del self._records[k]
            self._parts.pop(k, None)
        return len(old)

    async def close(self) -> None:
        self._records.clear()
        self._parts.clear()
