"""The upload record every store speaks: immutable, so no store can hand out shared state."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field


class UploadState(enum.StrEnum):
    """Lifecycle of an upload id; tombstones let the service answer 410 instead of 404."""

    ACTIVE = "active"
    TERMINATED = "terminated"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class UploadInfo:
    """State of one upload as the metadata store keeps it.

    `metadata` is a plain mapping of text keys to text values ('' when a key has no
    value), kept in the order the client gave them; stores keep it as it is. Protocols
    decode their own wire forms before it gets here (tus's base64 pairs, a stream's
    Content-Type, a session's fileName); `filename` and `filetype` are the keys every
    protocol uses for what downloads serve.
    `storage` is private to the byte store (file name, multipart upload id, ...).
    """

    id: str
    length: int | None
    offset: int = 0
    metadata: tuple[tuple[str, str], ...] = ()
    is_partial: bool = False
    partials: tuple[str, ...] | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    expires_at: float | None = None
    state: UploadState = UploadState.ACTIVE
    storage: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_final(self) -> bool:
        """A concatenation result (`Upload-Concat: final;...`)."""
        return self.partials is not None

    @property
    def deferred(self) -> bool:
        """Length not known yet (`Upload-Defer-Length: 1`)."""
        return self.length is None

    @property
    def is_complete(self) -> bool:
        return self.length is not None and self.offset >= self.length

    def storage_get(self, key: str, default: str = "") -> str:
        for k, v in self.storage:
            if k == key:
                return v
        return default

    def metadata_dict(self) -> dict[str, str]:
        return dict(self.metadata)

    def replace(self, **changes: object) -> UploadInfo:
        """A copy with `changes` applied (dataclasses.replace, typed loosely on purpose)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
