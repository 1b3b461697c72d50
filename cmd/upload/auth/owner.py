"""A gate that lets only an upload's creator use it, on top of bearer JWTs.

`pre_create` needs a valid token and records the user (the `--auth-jwt-owner-claim`
claim, `sub` by default) under the metadata key `--auth-jwt-owner-key`, replacing any
value the client sent; `pre_access` (every HEAD, PATCH, GET, DELETE and stream/session
request on an existing upload) needs a valid token of that same user. A final upload
may only join partials of its creator. Missing or bad tokens get 401, another user's
403; neither answer says whether the upload exists for someone else.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from tuskit.persist.model import UploadInfo

from ..engine import AccessMode, NewUpload, RequestContext
from ..engine.errors import Rejected
from .tokens import InvalidToken, TokenVerifier, bearer

log = logging.getLogger("tuskit.upload.auth")

Lookup = Callable[[str], Awaitable[UploadInfo | None]]


def unauthorized(why: str) -> Rejected:
    return Rejected(
        f"unauthorized: {why}",
        status=401,
        body='{"code":"unauthorized","message":"a valid bearer token is required"}',
        headers=[("WWW-Authenticate", 'Bearer realm="uploads"')],
    )


def forbidden() -> Rejected:
    return Rejected(
        "forbidden: not the upload's owner",
        status=403,
        body='{"code":"forbidden","message":"this upload belongs to another user"}',
    )


class OwnerGate:
    def __init__(
        self,
        verifier: TokenVerifier,
        lookup: Lookup,
        *,
        claim: str = "sub",
        metadata_key: str = "owner",
    ) -> None:
        self.verifier = verifier
        self.lookup = lookup
        self.claim = claim
        self.key = metadata_key

    def user(self, request: RequestContext | None) -> str:
        """The user the request's token names; Rejected(401) otherwise."""
        if request is None:
            raise unauthorized("no request")
        token = bearer(request.header("authorization"))
        if token is None:
            raise unauthorized("no bearer token")
        try:
            claims = self.verifier.claims(token)
        except InvalidToken as exc:
            log.info("rejected a token on %s %s: %s", request.method, request.uri, exc)
            raise unauthorized("invalid token") from None
        user = claims.get(self.claim)
        if not isinstance(user, str) or not user:
            raise unauthorized(f"the token has no {self.claim!r} claim")
        return user

    def owner(self, upload: UploadInfo) -> str | None:
        return dict(upload.metadata).get(self.key)

    async def pre_create(self, upload: NewUpload, request: RequestContext | None) -> NewUpload:
        user = self.user(request)
        for partial_id in upload.partials or ():
            partial = await self.lookup(partial_id)
            if partial is not None and self.owner(partial) != user:
                raise forbidden()
        metadata = tuple((k, v) for k, v in upload.metadata if k != self.key)
        return replace(upload, metadata=(*metadata, (self.key, user)))

    async def pre_finish(self, upload: UploadInfo, request: RequestContext | None) -> None:
        return None

    async def pre_terminate(self, upload: UploadInfo, request: RequestContext | None) -> None:
        return None  # a DELETE passes pre_access(write) first

    async def pre_access(
        self, upload: UploadInfo, mode: AccessMode, request: RequestContext | None
    ) -> None:
        if self.owner(upload) != self.user(request):
            raise forbidden()
