"""Operations checks before the workers start (after preflight.py's store checks): every
hook, key file and broker the flags name must be usable, or `upload` exits 1 with one
line naming the flags (never a traceback from a worker's start-up). Messages name
servers without credentials."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from .observe.metrics import MULTIPROC_ENV
from .observe.redact import redact_url
from .settings import Settings

CONNECT_TIMEOUT = 3.0


async def _reach(url: str) -> str | None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or repr(exc))
        return f"cannot reach {redact_url(url)}: {reason}"
    writer.close()
    return None


async def problems(settings: Settings) -> list[str]:
    """What stops this configuration from serving, one line each."""
    found = _missing_extras(settings)
    if found:
        return found
    if settings.hooks_python:
        from .hooks.python import load_object

        try:
            load_object(settings.hooks_python)
        except Exception as exc:
            found.append(f"--hooks-python: {exc}")
    if settings.auth_jwt_jwks:
        from .auth.tokens import load_jwks

        try:
            load_jwks(settings.auth_jwt_jwks)
        except ValueError as exc:
            found.append(f"--auth-jwt-jwks: {exc}")
    if settings.hooks_http and (problem := await _reach(settings.hooks_http)):
        found.append(f"--hooks-http: {problem}")
    if settings.events_nats or settings.events_amqp:
        from .hooks.setup import brokers

        try:
            for sink in await brokers(settings):
                await sink.close()
        except ConnectionError as exc:
            flag = "--events-nats" if "NATS" in str(exc) else "--events-amqp"
            found.append(f"{flag}: {exc}")
    return found


def _missing_extras(settings: Settings) -> list[str]:
    """Features whose client library is not installed (the `ops` extra)."""
    wanted = {
        "--auth-jwt-secret/--auth-jwt-jwks": (
            "jwt",
            bool(settings.auth_jwt_secret or settings.auth_jwt_jwks),
        ),
        "--events-nats": ("nats", bool(settings.events_nats)),
        "--events-amqp": ("aio_pika", bool(settings.events_amqp)),
    }
    return [
        f"{flag}: needs the `ops` extra (pip install 'tuskit[ops]')"
        for flag, (module, used) in wanted.items()
        if used and importlib.util.find_spec(module) is None
    ]


def check(settings: Settings) -> list[str]:
    """`problems`, with client libraries' own log output off (their connection errors
    are in the one line this returns)."""
    logging.disable(logging.CRITICAL)
    try:
        return asyncio.run(problems(settings))
    finally:
        logging.disable(logging.NOTSET)


def metrics_dir(settings: Settings) -> None:
    """With several workers, prometheus-client's multiprocess mode needs an empty
    directory named in the environment before the workers import it."""
    if not settings.metrics or settings.workers < 2 or os.environ.get(MULTIPROC_ENV):
        return
    path = Path(settings.data_dir) / ".metrics" / str(settings.port)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)
