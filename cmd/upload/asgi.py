"""The outermost ASGI app: a list of mounted services, each under its base path with its
own CORS policy and error format, plus the process's lifespan.

Protocol-neutral: a mount is whatever a protocol adapter's wiring hands over (generated
routes, a CORS middleware, how its routing errors look). For each request the app picks
the mount by path prefix (longest first), records which protocol is serving it
(`engine.current_request`, for events and hooks), and runs that mount's CORS and router.

Why not `starlette.applications.Starlette`: it wraps every request in an error and an
exception middleware that the generated endpoints do not need (they catch their own
errors), measured at ~6.7 us of a ~29 us HEAD. This class keeps only what is used.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from .engine import Engine, RequestContext, current_request

RoutingError = Callable[[Scope, Send, int, Sequence[str]], Awaitable[None]]
"""(scope, send, status, allowed methods): the mount's answer to a 404 (no such path) or
a 405, in its own error format (each generated server has `send_routing_error`)."""

Bind = Callable[[Engine], Sequence[BaseRoute]]
"""Build the protocol's routes on the engine (called once the stores are open)."""

Wrap = Callable[["Mount", ASGIApp], ASGIApp]
"""(mount, its CORS -> router stack) -> the stack to run (metrics, request logs, hooks)."""


@dataclass
class Mount:
    """One protocol's routes under `path` (no trailing slash; '' mounts at the root)."""

    name: str
    path: str
    bind: Bind
    routing_error: RoutingError
    cors: Middleware | None = None
    exact: tuple[str, ...] = ()
    """Further paths this mount answers, exactly (e.g. `/readyz` beside `/healthz`)."""
    shown: str = ""
    """The path people open, for the start-up banner (default: `path` + "/")."""
    redirect_slashes: bool = True
    """Starlette's redirect of `/x/` to `/x` (off for mounts that answer only exact paths:
    its redirect would carry the client's Host and none of the mount's headers)."""
    routes: list[BaseRoute] = field(default_factory=list)

    def matches(self, path: str) -> bool:
        return (
            not self.path
            or path == self.path
            or path.startswith(self.path + "/")
            or path in self.exact
        )


class _Mounted:
    """A mount made runnable: CORS -> router, with routing errors in the mount's format."""

    def __init__(self, mount: Mount, app: ASGIApp) -> None:
        self.mount = mount
        self.router = Router(redirect_slashes=mount.redirect_slashes)
        self.router.routes = mount.routes  # the same list: routes may arrive at start-up
        self.stack: ASGIApp = self._route
        if mount.cors is not None:
            cls, args, kwargs = mount.cors
            self.stack = cls(self._route, *args, **kwargs)
        self.base = self.stack
        self._app = app

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        # With "app" in the scope, Starlette's routing raises HTTPException for an unknown
        # path or method instead of answering plain text; the mount answers in its format.
        scope["app"] = self._app
        try:
            await self.router(scope, receive, send)
        except HTTPException as exc:
            allow = (exc.headers or {}).get("Allow", "")
            methods = [m.strip() for m in allow.split(",") if m.strip()]
            await self.mount.routing_error(scope, send, exc.status_code, methods)


Lifespan = Callable[[Any], AbstractAsyncContextManager[None]]


class UploadApp:
    """Dispatches to mounts; the first mount also answers paths no mount claims.

    Embeddable: under a host app's `Mount("/prefix", app)` (or uvicorn `--root-path`)
    paths are matched below the scope's `root_path`; the host runs `running()` in its own
    lifespan, since a mounted app's lifespan is not run by Starlette."""

    def __init__(self, mounts: Sequence[Mount], lifespan: Lifespan | None = None) -> None:
        if not mounts:
            raise ValueError("an upload app needs at least one mounted service")
        self.mounts = list(mounts)
        self._lifespan = lifespan
        self._lifespan_router = Router(lifespan=lifespan)
        self._ordered = sorted(
            (_Mounted(m, self) for m in self.mounts), key=lambda m: len(m.mount.path), reverse=True
        )
        self._fallback = next(m for m in self._ordered if m.mount is self.mounts[0])

    def mount(self, name: str) -> Mount:
        return next(m for m in self.mounts if m.name == name)

    def running(self) -> AbstractAsyncContextManager[None]:
        """Open the stores and serve until the block ends (for a host app's lifespan)."""
        if self._lifespan is None:
            return contextlib.nullcontext()
        return self._lifespan(self)

    def bind(self, engine: Engine) -> None:
        """Give every mount its routes on `engine` (at start-up, once stores are open)."""
        for m in self.mounts:
            m.routes[:] = m.bind(engine)

    def wrap_mounts(self, wrap: Wrap) -> None:
        """Run every mount's stack inside `wrap(mount, stack)` (replacing an earlier wrap)."""
        for mounted in self._ordered:
            mounted.stack = wrap(mounted.mount, mounted.base)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan_router.lifespan(scope, receive, send)
            return
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]  # embedded under a prefix
        target = self._fallback
        for mounted in self._ordered:
            if mounted.mount.matches(path):
                target = mounted
                break
        token = current_request.set(RequestContext(target.mount.name, scope))
        try:
            await target.stack(scope, receive, send)
        finally:
            current_request.reset(token)
