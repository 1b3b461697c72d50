"""The records of assembly from parts: an upload of known length whose bytes arrive as
fixed-size parts, in any order, before they are joined into the upload.

Protocols build on it (a session upload is an assembly; its attachment the upload it
becomes); stores keep it as it is. Immutable, like `UploadInfo`, so no store hands out
shared state.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field

from .model import UploadInfo


class AssemblyState(enum.StrEnum):
    """Lifecycle of an assembly. The `-ING` states are work a crash may interrupt
    (recorded before the work starts, so whoever comes next can finish it)."""

    ACTIVE = "active"
    COMPLETING = "completing"
    COMPLETED = "completed"
    ABORTING = "aborting"
    ABORTED = "aborted"
    EXPIRING = "expiring"
    EXPIRED = "expired"

    @property
    def settled(self) -> bool:
        return self in _SETTLED


_SETTLED = frozenset({AssemblyState.COMPLETED, AssemblyState.ABORTED, AssemblyState.EXPIRED})
UNSETTLED = frozenset({AssemblyState.COMPLETING, AssemblyState.ABORTING, AssemblyState.EXPIRING})


@dataclass(frozen=True, slots=True)
class StoredPart:
    """A part whose bytes are durable: its index, size and the byte store's receipt."""

    index: int
    size: int
    receipt: str = ""


@dataclass(frozen=True, slots=True)
class Assembly:
    """One assembly as the state store keeps it.

    `upload_id` names the upload the parts become (and the bytes in the byte store);
    part `i` holds bytes `[i * part_size, min((i + 1) * part_size, length))`; a
    zero-length upload has one empty part. `digest` is the expected digest of the whole
    upload (`algorithm:base64`, hashlib names), checked when it is assembled.
    `storage` is private to the byte store (multipart upload id, ...).
    """

    id: str
    upload_id: str
    length: int
    part_size: int
    metadata: tuple[tuple[str, str], ...] = ()
    digest: str | None = None
    state: AssemblyState = AssemblyState.ACTIVE
    created_at: float = 0.0
    updated_at: float = 0.0
    expires_at: float | None = None
    storage: tuple[tuple[str, str], ...] = field(default=())

    @property
    def part_count(self) -> int:
        return max(1, -(-self.length // self.part_size))

    def span(self, index: int) -> tuple[int, int]:
        """Bytes [start, end) of part `index`."""
        start = index * self.part_size
        return start, min(start + self.part_size, self.length)

    def part_length(self, index: int) -> int:
        start, end = self.span(index)
        return end - start

    def target(self, offset: int = 0) -> UploadInfo:
        """The upload the parts become, as the byte store sees it."""
        return UploadInfo(
            id=self.upload_id,
            length=self.length,
            offset=offset,
            metadata=self.metadata,
            created_at=self.created_at,
            updated_at=self.updated_at,
            expires_at=self.expires_at,
            storage=self.storage,
        )

    def replace(self, **changes: object) -> Assembly:
        """A copy with `changes` applied (dataclasses.replace, typed loosely on purpose)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
