"""Wiring: settings -> stores -> engine -> the mounted protocols, and the lifecycle.

Start-up opens the stores, binds every mount to the engine and starts the expiry sweep
and recovery in the background (a restart with a million uploads serves at once);
shutdown asks running bodies to stop and keep what arrived, so a SIGTERM never waits on
a slow client for long. Adding a protocol is one line in `mounts`.
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

from . import health, httpproto, ietf, sessions, streams, tus, ui
from .asgi import Mount, UploadApp
from .engine import Engine, EngineOptions, Inflight
from .observe.logformat import configure_logging
from .operations import Operations
from .settings import Settings
from .stores import background_recovery, open_stores

log = logging.getLogger("tuskit.upload")

SignalHandler = Callable[[int, FrameType | None], Any] | int | None


def engine_options(settings: Settings) -> EngineOptions:
    return EngineOptions(
        max_size=settings.max_size or None,
        expire_after=settings.expire_after,
        lock_timeout=settings.lock_timeout,
        stall_timeout=settings.stall_timeout,
        idle_timeout=settings.idle_timeout,
        max_metadata_size=settings.max_metadata_size,
        max_concat_parts=settings.max_concat_parts,
    )


def mounts(settings: Settings) -> list[Mount]:
    """The protocols this server speaks, each under its own path (the first one also
    answers paths no mount claims); `--no-<protocol>` leaves one out."""
    found = [
        tus.mount(
            path=settings.router_base,
            behind_proxy=settings.behind_proxy,
            cors_origins=settings.cors_origins,
        ),
        ietf.mount(
            path=settings.ietf_base,
            behind_proxy=settings.behind_proxy,
            cors_origins=settings.cors_origins,
            progress_interval=settings.ietf_progress_interval,
        ),
        sessions.mount(
            path=settings.sessions_path,
            behind_proxy=settings.behind_proxy,
            cors_origins=settings.cors_origins,
            chunk_size=settings.chunk_size,
            expire_after=settings.session_expire_after,
        ),
        streams.mount(path=settings.streams_path, cors_origins=settings.cors_origins),
        health.mount(),
        ui.mount(
            path=settings.ui_path,
            tus_path=settings.location_base if settings.tus else None,
            ietf_path=settings.ietf_base + "/" if settings.ietf else None,
            max_size=settings.max_size or None,
        ),
    ]
    enabled = {
        "tus": settings.tus,
        "ietf": settings.ietf,
        "sessions": settings.sessions,
        "streams": settings.streams,
        "ui": settings.ui_served,
    }
    return [m for m in found if enabled.get(m.name, True)]


def create_app(settings: Settings) -> UploadApp:
    httpproto.configure(
        httpproto.HttpLimits(
            header_timeout=settings.header_timeout, max_header_size=settings.max_header_size
        )
    )
    inflight = Inflight()
    ops = Operations(settings)  # metrics, request logs, auth, hooks and events

    @contextlib.asynccontextmanager
    async def lifespan(_: object) -> AsyncIterator[None]:
        stores = await open_stores(settings)
        recovery = background_recovery(stores, settings)  # runs beside serving, not before
        engine = Engine(stores, engine_options(settings), inflight=inflight)
        app.bind(engine)
        try:
            await ops.start(engine)
        except BaseException:
            await ops.stop()
            await stores.close()
            raise
        app.wrap_mounts(ops.wrap)
        # fsync and file creation run in threads. Enough of them let the kernel batch
        # concurrent syncs (journal group commit); too many cost CPU in GIL handoffs.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=settings.io_threads, thread_name_prefix="upload-io")
        )
        sweeper = engine.sweeper(settings.sweep_interval)
        sweeper.start()
        if recovery is not None:
            recovery.start()
        restore = _drain_on_signal(inflight)
        try:
            yield
        finally:
            restore()
            inflight.drain()
            if recovery is not None:
                await recovery.stop()
            await sweeper.stop()
            await ops.stop()
            await stores.close()

    app = UploadApp([*mounts(settings), *ops.mounts()], lifespan=lifespan)
    return app


def app_from_env() -> UploadApp:
    """Factory for uvicorn (`--factory`), so every worker builds the same app."""
    settings = Settings.from_env()
    configure_logging(settings.log_format, logging.getLevelName(settings.log_level.upper()))
    return create_app(settings)


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
