"""Start-up checks before serving: every store opens and answers, every mounted service
implements its design. Each failure is one line for the operator, never a traceback from
inside a worker (which would only say "Application startup failed")."""

from __future__ import annotations

import asyncio

from tusgen.runtime import IncompleteService

from .asgi import Mount
from .engine import Engine
from .settings import Settings
from .stores import open_stores

PING_TIMEOUT = 10.0
_EXTRA = "pip install 'tuskit[scale]'"


class StartupError(Exception):
    """Why the server cannot start, in one line."""


def _needs_extra(settings: Settings, missing: str | None) -> str:
    flag = f"--store {settings.store}" if settings.store != "file" else f"--state {settings.state}"
    return f"{flag} needs the 'scale' extra (module {missing!r} is not installed): {_EXTRA}"


async def check(settings: Settings, mounts: list[Mount]) -> None:
    """Raise StartupError unless the stores open and answer and every mount binds."""
    try:
        stores = await open_stores(settings)
    except ModuleNotFoundError as exc:
        raise StartupError(_needs_extra(settings, exc.name)) from None
    except Exception as exc:
        raise StartupError(f"cannot open the stores: {_said(exc)}") from None
    try:
        try:
            await asyncio.wait_for(stores.ping(), PING_TIMEOUT)
        except Exception as exc:
            raise StartupError(f"a store does not answer: {_said(exc)}") from None
        engine = Engine(stores)
        for mount in mounts:
            try:
                mount.bind(engine)
            except IncompleteService as exc:
                raise StartupError(str(exc)) from None
    finally:
        await stores.close()


def _said(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
