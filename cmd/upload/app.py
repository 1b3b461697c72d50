"""The ASGI application: generated tus router + CORS + the service's lifecycle.

Start-up opens the stores and runs recovery; shutdown asks running PATCHes to stop
and keep what arrived, so a SIGTERM never waits on a slow client for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from tuskit.gen.http.cors import cors_middleware
from tuskit.gen.http.tus.server import make_router
from tuskit.persist.recovery import recover
from tuskit.persist.sweeper import Sweeper

from .config import Settings
from .inflight import Inflight
from .service import TUS_VERSION, TusService
from .stores import open_stores, runs_local_recovery

log = logging.getLogger("tuskit.upload")

SignalHandler = Callable[[int, FrameType | None], Any] | int | None


def create_app(settings: Settings) -> Starlette:
    inflight = Inflight()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stores = await open_stores(settings)
        if runs_local_recovery(settings):
            await recover(stores)
        service = TusService(stores, settings, inflight=inflight)
        # The generated router's routes are plain Starlette endpoints: served by a bare
        # Starlette app, requests skip FastAPI's app-level middleware (measured: HEAD
        # spends a third of its time there).
        app.router.routes.extend(make_router(service, base_path=settings.router_base).routes)
        # fsync and file creation run in threads. Enough of them let the kernel batch
        # concurrent syncs (journal group commit); too many cost CPU in GIL handoffs.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=settings.io_threads, thread_name_prefix="tus-io")
        )
        sweeper = Sweeper(stores, interval=settings.sweep_interval)
        sweeper.start()
        restore = _drain_on_signal(inflight)
        try:
            yield
        finally:
            restore()
            inflight.drain()
            await sweeper.stop()
            await stores.close()

    return Starlette(
        lifespan=lifespan,
        middleware=[cors_middleware(list(settings.cors_origins))],
        exception_handlers={StarletteHTTPException: _http_error},
    )


_CODES = {404: "not_found", 405: "method_not_allowed"}


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing errors (no such path or method) in the service's own JSON shape."""
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    code = _CODES.get(status, "http_error")
    message = "no upload at this URL" if status == 404 else str(getattr(exc, "detail", ""))
    body = json.dumps({"code": code, "message": message}).encode()
    headers = {"Tus-Resumable": TUS_VERSION}
    if isinstance(exc, StarletteHTTPException) and exc.headers:
        headers.update(exc.headers)
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def app_from_env() -> Starlette:
    """Factory for uvicorn (`--factory`), so every worker builds the same app."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return create_app(Settings.from_env())


def _drain_on_signal(inflight: Inflight) -> Callable[[], None]:
    """Chain onto uvicorn's SIGTERM/SIGINT handlers: the first signal also stops every
    running body (they commit and answer 503); a second one exits at once."""
    loop = asyncio.get_running_loop()
    previous: dict[int, SignalHandler] = {}
    seen: list[int] = []

    def handler(sig: int, frame: FrameType | None) -> None:
        if seen:
            log.warning("second signal: exiting now")
            import os

            os._exit(1)
        seen.append(sig)
        loop.call_soon_threadsafe(inflight.drain)
        chained = previous.get(sig)
        if callable(chained):
            chained(sig, frame)

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[sig] = signal.getsignal(sig)
            signal.signal(sig, handler)
        except ValueError:  # not the main thread (tests running the app in a thread)
            previous.pop(sig, None)

    def restore() -> None:
        for sig, old in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, old)

    return restore
