"""Post-* events into the outbox: written before the client hears the answer.

The engine's listeners are synchronous, so the recorder only builds the entries; a
request's entries are collected in a context variable and written by `Collect` (the
ASGI wrapper below) before the response starts. So once a client has seen 204 for its
last PATCH, the post-finish event is in the state store: a kill -9 after that loses
nothing. Events without a request (expiry) are written by a task of their own.

post-receive is throttled per upload (`--progress-hooks-interval`); tuskit reports it
after each recorded append, not while bytes stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tuskit.persist.protocols import Outbox, OutboxEntry

from ..engine import EventType, UploadEvent
from .payload import hook_request

log = logging.getLogger("tuskit.upload.hooks")

POST_HOOKS: Mapping[EventType, str] = {
    EventType.CREATED: "post-create",
    EventType.PROGRESS: "post-receive",
    EventType.FINISHED: "post-finish",
    EventType.TERMINATED: "post-terminate",
}

_pending: ContextVar[list[OutboxEntry] | None] = ContextVar("outbox_pending", default=None)

_THROTTLE_MEMORY = 10_000  # uploads whose last post-receive time is remembered


class Recorder:
    """Engine listener turning post-* events into outbox entries, one per sink."""

    def __init__(
        self,
        outbox: Outbox,
        sinks_for: Mapping[str, Sequence[str]],
        *,
        progress_interval: float = 1.0,
        on_written: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.sinks_for = {hook: tuple(sinks) for hook, sinks in sinks_for.items() if sinks}
        self.progress_interval = progress_interval
        self.on_written = on_written
        self.clock = clock
        self._last_progress: OrderedDict[str, float] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self.failures = 0

    def __call__(self, event: UploadEvent) -> None:
        hook = POST_HOOKS.get(event.type)
        sinks = self.sinks_for.get(hook) if hook is not None else None
        if hook is None or not sinks or not self._due(hook, event):
            return
        body = hook_request(hook, event.upload, event.request, at=event.at, credentials=False)
        payload = json.dumps(body, separators=(",", ":"))
        entries = [
            OutboxEntry(id=body["EventID"], sink=s, upload_id=event.upload.id, payload=payload)
            for s in sinks
        ]
        pending = _pending.get()
        if pending is not None:
            pending.extend(entries)
        else:
            task = asyncio.get_running_loop().create_task(self.write(entries))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _due(self, hook: str, event: UploadEvent) -> bool:
        upload_id = event.upload.id
        if hook == "post-receive":
            last = self._last_progress.get(upload_id)
            complete = event.upload.is_complete
            if last is not None and event.at - last < self.progress_interval and not complete:
                return False
            self._last_progress[upload_id] = event.at
            self._last_progress.move_to_end(upload_id)
            if len(self._last_progress) > _THROTTLE_MEMORY:
                self._last_progress.popitem(last=False)
        elif hook in ("post-finish", "post-terminate"):
            self._last_progress.pop(upload_id, None)
        return True

    async def write(self, entries: Sequence[OutboxEntry]) -> None:
        """Store `entries`; a failure is logged with the upload ids (and counted)."""
        if not entries:
            return
        try:
            await self.outbox.add(entries, self.clock())
        except Exception as exc:
            self.failures += 1
            ids = sorted({e.upload_id for e in entries})
            log.error("could not store %d event(s) of upload(s) %s: %r", len(entries), ids, exc)
            return
        self.on_written()

    @contextlib.contextmanager
    def collecting(self) -> Iterator[list[OutboxEntry]]:
        collected: list[OutboxEntry] = []
        token = _pending.set(collected)
        try:
            yield collected
        finally:
            _pending.reset(token)

    async def drain(self) -> None:
        """Wait for background writes (shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


class Collect:
    """ASGI wrapper: a request's events are stored before its response starts."""

    def __init__(self, app: ASGIApp, recorder: Recorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        recorder = self.recorder
        with recorder.collecting() as collected:

            async def send_after_write(message: Message) -> None:
                if collected and message["type"] == "http.response.start":
                    entries = collected[:]
                    collected.clear()
                    await recorder.write(entries)
                await send(message)

            try:
                await self.app(scope, receive, send_after_write)
            finally:
                if collected:
                    await recorder.write(collected[:])
