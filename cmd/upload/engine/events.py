"""The event seam: what happened to an upload, and the decisions taken before it happens.

Every protocol drives the same engine, so hooks, metrics and logs subscribe here once
and see tus, streams, sessions and the IETF draft alike.

- *Listeners* get `UploadEvent`s after the fact (created, progress, finished,
  terminated, expired). They are called synchronously on the event loop and must only
  record or enqueue (an outbox, a counter); they cannot change the outcome, and one
  that raises is logged and skipped.
- *Gates* take the blocking `pre-*` decisions: `pre_create` may change the new upload
  (id, metadata, storage) or refuse it, `pre_finish` and `pre_terminate` may refuse,
  `pre_access` allows or denies a request on an existing upload. A gate refuses by
  raising `errors.Rejected` with the status and body the client gets.
With no listener and no gate, each seam costs one list check.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Protocol

from tuskit.persist.model import UploadInfo

from .context import RequestContext, current_request

log = logging.getLogger("tuskit.upload.events")


class EventType(enum.StrEnum):
    CREATED = "created"
    PROGRESS = "progress"
    FINISHED = "finished"
    TERMINATED = "terminated"
    EXPIRED = "expired"


class AccessMode(enum.StrEnum):
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True, slots=True)
class UploadEvent:
    type: EventType
    upload: UploadInfo
    at: float
    request: RequestContext | None = None
    """The request that caused it; None for background work (expiry)."""


@dataclass(frozen=True, slots=True)
class NewUpload:
    """An upload about to be created, as `pre_create` sees (and may change) it."""

    id: str
    length: int | None
    metadata: tuple[tuple[str, str], ...] = ()
    is_partial: bool = False
    partials: tuple[str, ...] | None = None
    storage: tuple[tuple[str, str], ...] = field(default=())
    """Wishes for the byte store (e.g. a key); stores may ignore what they do not know."""


class Listener(Protocol):
    def __call__(self, event: UploadEvent, /) -> None: ...


class Gate(Protocol):
    async def pre_create(self, upload: NewUpload, request: RequestContext | None) -> NewUpload:
        """Return the upload to create (changed or not), or raise Rejected."""
        ...

    async def pre_finish(self, upload: UploadInfo, request: RequestContext | None) -> None: ...

    async def pre_terminate(self, upload: UploadInfo, request: RequestContext | None) -> None: ...

    async def pre_access(
        self, upload: UploadInfo, mode: AccessMode, request: RequestContext | None
    ) -> None: ...


class Events:
    """Listeners and gates of one engine."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []
        self.gates: list[Gate] = []

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def add_gate(self, gate: Gate) -> None:
        self.gates.append(gate)

    def emit(self, kind: EventType, upload: UploadInfo, at: float) -> None:
        if not self.listeners:
            return
        event = UploadEvent(kind, upload, at, current_request.get())
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed on %s of upload %s", kind.value, upload.id)

    async def pre_create(self, upload: NewUpload) -> NewUpload:
        for gate in self.gates:
            upload = await gate.pre_create(upload, current_request.get())
        return upload

    async def pre_finish(self, upload: UploadInfo) -> None:
        for gate in self.gates:
            await gate.pre_finish(upload, current_request.get())

    async def pre_terminate(self, upload: UploadInfo) -> None:
        for gate in self.gates:
            await gate.pre_terminate(upload, current_request.get())

    async def pre_access(self, upload: UploadInfo, mode: AccessMode) -> None:
        for gate in self.gates:
            await gate.pre_access(upload, mode, current_request.get())
