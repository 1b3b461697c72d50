"""The ASGI application: generated tus router + CORS + the service's lifecycle.

Start-up opens the stores and runs recovery; shutdown asks running PATCHes to stop
and keep what arrived, so a SIGTERM never waits on a slow client for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

from starlette.routing import Router

from tuskit.gen.http.cors import cors_middleware
from tuskit.gen.http.tus.server import make_routes
from tuskit.persist.recovery import recover
from tuskit.persist.sweeper import Sweeper

from .asgi import UploadApp
from .config import Settings
from .inflight import Inflight
from .service import TUS_VERSION, TusService
from .stores import open_stores, runs_local_recovery

log = logging.getLogger("tuskit.upload")

SignalHandler = Callable[[int, FrameType | None], Any] | int | None


def create_app(settings: Settings) -> UploadApp:
    inflight = Inflight()
    router = Router()

    @contextlib.asynccontextmanager
    async def lifespan(_: object) -> AsyncIterator[None]:
        stores = await open_stores(settings)
        if runs_local_recovery(settings):
            await recover(stores)
        service = TusService(stores, settings, inflight=inflight)
        # The generated routes are raw ASGI endpoints: no FastAPI app around them.
        router.routes.extend(make_routes(service, base_path=settings.router_base))
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

    router.lifespan_context = lifespan
    cors = cors_middleware(list(settings.cors_origins))
    return UploadApp(router, cors, tus_version=TUS_VERSION)


def app_from_env() -> UploadApp:
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
