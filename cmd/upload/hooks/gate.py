"""The blocking hooks as an engine gate: pre-create, pre-finish, pre-terminate, pre-access.

Each enabled hook asks every transport that handles it, in order. A rejection becomes
`Rejected` with the hook's `HTTPResponse` (status, body, headers), which every protocol
adapter answers as is; a hook that cannot be asked (timeout, network error, 5xx after the
retries, a malformed answer) becomes a 503 with a message for the client and a log line
for the operator. pre-create runs before anything is stored, so a failure never leaves a
half-created upload.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from tuskit.persist.ids import check_id
from tuskit.persist.model import UploadInfo

from ..engine import AccessMode, NewUpload, RequestContext
from ..engine.errors import Rejected
from .payload import JSON, hook_request, upload_json
from .response import HookFailed, HookResponse
from .transport import HookTransport

log = logging.getLogger("tuskit.upload.hooks")

BLOCKING = ("pre-create", "pre-finish", "pre-terminate", "pre-access")

Tally = Callable[[str, str, str], None]
"""(hook, transport, outcome: ok | rejected | failed) -> None, for metrics."""

RemoveRejected = Callable[[UploadInfo], Awaitable[None]]

# Headers the hook may not set on the client's answer: the adapter owns the framing.
_OWN_HEADERS = frozenset({"content-type", "content-length", "transfer-encoding", "connection"})


def _no_tally(hook: str, transport: str, outcome: str) -> None:
    return None


def rejected(response: HookResponse, default_status: int, message: str) -> Rejected:
    http = response.http
    status = http.status if 400 <= http.status <= 599 else default_status
    headers = [(k, v) for k, v in http.headers if k.lower() not in _OWN_HEADERS]
    return Rejected(message, status=status, body=http.body, headers=headers)


def hook_unavailable(hook: str) -> Rejected:
    return Rejected(
        f"the {hook} hook failed",
        status=503,
        body='{"code":"hook_failed","message":"the server could not check this request'
        ' with its hooks; retry later"}',
        headers=[("Retry-After", "1")],
    )


class HookGate:
    """Blocking hooks for the enabled events, on the given transports."""

    def __init__(
        self,
        transports: Sequence[HookTransport],
        enabled: Sequence[str],
        *,
        remove_rejected: RemoveRejected | None = None,
        tally: Tally = _no_tally,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._asked = {
            hook: tuple(t for t in transports if t.handles(hook))
            for hook in BLOCKING
            if hook in enabled
        }
        self._remove_rejected = remove_rejected
        self._tally = tally
        self._clock = clock

    def enabled(self, hook: str) -> bool:
        return bool(self._asked.get(hook))

    async def _ask(
        self,
        transport: HookTransport,
        hook: str,
        body: JSON,
        request: RequestContext | None,
        upload_id: str,
    ) -> HookResponse:
        try:
            response = await transport.call(hook, body, request)
        except HookFailed as exc:
            self._tally(hook, transport.name, "failed")
            log.error("%s hook failed for upload %s: %s", hook, upload_id, exc)
            raise hook_unavailable(hook) from None
        except Rejected:
            self._tally(hook, transport.name, "rejected")
            raise
        return response

    def _outcome(self, hook: str, transport: HookTransport, refused: bool) -> None:
        self._tally(hook, transport.name, "rejected" if refused else "ok")

    async def pre_create(self, upload: NewUpload, request: RequestContext | None) -> NewUpload:
        for transport in self._asked.get("pre-create", ()):
            body = hook_request("pre-create", upload, request, at=self._clock(), credentials=True)
            response = await self._ask(transport, "pre-create", body, request, upload.id)
            self._outcome("pre-create", transport, response.reject_upload)
            if response.reject_upload:
                raise rejected(response, 400, "upload rejected by the pre-create hook")
            upload = self._changed(upload, response)
        return upload

    def _changed(self, upload: NewUpload, response: HookResponse) -> NewUpload:
        change = response.change
        new = upload
        if change.id is not None:
            try:
                new = replace(new, id=check_id(change.id))
            except ValueError as exc:
                log.error("pre-create hook answered an unusable ChangeFileInfo.ID: %s", exc)
                raise hook_unavailable("pre-create") from None
        if change.metadata is not None:
            new = replace(new, metadata=tuple(change.metadata.items()))
        if change.storage is not None:
            new = replace(new, storage=tuple(change.storage.items()))
        return new

    async def pre_finish(self, upload: UploadInfo, request: RequestContext | None) -> None:
        for transport in self._asked.get("pre-finish", ()):
            body = hook_request("pre-finish", upload, request, at=self._clock(), credentials=True)
            response = await self._ask(transport, "pre-finish", body, request, upload.id)
            self._outcome("pre-finish", transport, response.reject_upload)
            if response.reject_upload:
                if self._remove_rejected is not None:
                    await self._remove_rejected(upload)
                raise rejected(response, 400, "upload rejected by the pre-finish hook")

    async def pre_terminate(self, upload: UploadInfo, request: RequestContext | None) -> None:
        for transport in self._asked.get("pre-terminate", ()):
            body = hook_request(
                "pre-terminate", upload, request, at=self._clock(), credentials=True
            )
            response = await self._ask(transport, "pre-terminate", body, request, upload.id)
            self._outcome("pre-terminate", transport, response.reject_termination)
            if response.reject_termination:
                raise rejected(response, 400, "termination rejected by the pre-terminate hook")

    async def pre_access(
        self, upload: UploadInfo, mode: AccessMode, request: RequestContext | None
    ) -> None:
        for transport in self._asked.get("pre-access", ()):
            access = {"Access": {"Mode": mode.value, "Uploads": [upload_json(upload)]}}
            body = hook_request(
                "pre-access", upload, request, at=self._clock(), credentials=True, extra=access
            )
            response = await self._ask(transport, "pre-access", body, request, upload.id)
            refused = response.reject_access or response.reject_upload
            self._outcome("pre-access", transport, refused)
            if refused:
                raise rejected(response, 403, "access denied by the pre-access hook")
