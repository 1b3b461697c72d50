"""Wiring: settings -> stores -> engine -> the mounted protocols, and the lifecycle.

Start-up opens the stores, runs recovery, binds every mount to the engine and starts the
expiry sweep; shutdown asks running bodies to stop and keep what arrived, so a SIGTERM
never waits on a slow client for long. Adding a protocol is one line in `mounts`.
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

from tuskit.persist.recovery import recover

from . import sessions, tus
from .asgi import Mount, UploadApp
from .engine import Engine, EngineOptions, Inflight
from .settings import Settings
from .stores import open_stores, runs_local_recovery

log = logging.getLogger("tuskit.upload")

SignalHandler = Callable[[int, FrameType | None], Any] | int | None


def engine_options(settings: Settings) -> EngineOptions:
    return EngineOptions(
        max_size=settings.max_size or None,
        expire_after=settings.expire_after,
        lock_timeout=settings.lock_timeout,
        stall_timeout=settings.stall_timeout,
        idle_timeout=settings.idle_timeout,
    )


def mounts(settings: Settings) -> list[Mount]:
    """The protocols this server speaks, each under its own path."""
    return [
        tus.mount(
            path=settings.router_base,
            behind_proxy=settings.behind_proxy,
            cors_origins=settings.cors_origins,
        ),
        *(
            [
                sessions.mount(
                    path=settings.sessions_path,
                    behind_proxy=settings.behind_proxy,
                    cors_origins=settings.cors_origins,
                    chunk_size=settings.chunk_size,
                    expire_after=settings.session_expire_after,
                )
            ]
            if settings.sessions
            else []
        ),
    ]


def create_app(settings: Settings) -> UploadApp:
    inflight = Inflight()

    @contextlib.asynccontextmanager
    async def lifespan(_: object) -> AsyncIterator[None]:
        stores = await open_stores(settings)
        if runs_local_recovery(settings):
            await recover(stores)
        engine = Engine(stores, engine_options(settings), inflight=inflight)
        app.bind(engine)
        # fsync and file creation run in threads. Enough of them let the kernel batch
        # concurrent syncs (journal group commit); too many cost CPU in GIL handoffs.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=settings.io_threads, thread_name_prefix="upload-io")
        )
        sweeper = engine.sweeper(settings.sweep_interval)
        sweeper.start()
        restore = _drain_on_signal(inflight)
        try:
            yield
        finally:
            restore()
            inflight.drain()
            await sweeper.stop()
            await stores.close()

    app = UploadApp(mounts(settings), lifespan=lifespan)
    return app


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
