"""`upload`: start the server. Flags come from the settings model (one declaration each);
every flag can also be set as `UPLOAD_<NAME>` in the environment, e.g. UPLOAD_DATA_DIR.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from types import FrameType
from typing import NoReturn

import uvicorn
from pydantic import ValidationError

from . import ops_preflight, preflight
from .app import mounts
from .observe.logformat import uvicorn_log_config
from .observe.redact import redact_url
from .settings import ENV_PREFIX, Settings

PROTOCOL = "tuskit.upload.httpproto:UploadHttpProtocol"


class _Parser(argparse.ArgumentParser):
    """Errors are one line and exit status 2 (no usage dump before them)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def build_parser() -> argparse.ArgumentParser:
    """One flag per settings field; defaults stay with the model (and the environment)."""
    p = _Parser(
        prog="upload",
        description="Resumable-upload server (tus 1.0.0 with every extension, and the IETF "
        "resumable-upload draft). "
        "Each flag can also be set as UPLOAD_<FLAG> in the environment.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = ",".join(default) if isinstance(default, tuple) else default
        text = f"{field.description} (default: {shown!s}; env {ENV_PREFIX}{name.upper()})"
        if isinstance(default, bool):
            p.add_argument(
                _flag(name),
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=text,
            )
        else:
            p.add_argument(_flag(name), default=argparse.SUPPRESS, metavar=name.upper(), help=text)
    return p


def settings_from_args(argv: Sequence[str] | None = None) -> Settings:
    """Flags over the environment over the defaults; exits 2 with one line on a bad value."""
    parser = build_parser()
    given = vars(parser.parse_args(argv))
    try:
        settings = Settings(**given)
    except ValidationError as exc:
        parser.error(_one_line(exc, given))
    taken = settings.ui_taken_by
    if "ui_path" in given and settings.ui and taken:
        parser.error(f"--ui-path: {settings.ui_path} is in the path of {taken}; pick another")
    return settings


def _one_line(exc: ValidationError, given: dict[str, object]) -> str:
    """Each problem as `--flag: why` (or `UPLOAD_NAME: why` when it came from there)."""
    problems: list[str] = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        where = _flag(name) if name in given else ENV_PREFIX + name.upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a setting"
        problems.append(f"{where}: {message}")
    return "; ".join(problems)


def _version() -> str:
    try:
        return version("tuskit")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def main(argv: Sequence[str] | None = None) -> None:
    settings = settings_from_args(argv)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(preflight.check(settings, mounts(settings)))
    except preflight.StartupError as exc:
        print(f"upload: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    problems = ops_preflight.check(settings)  # hooks, brokers, key files (docs/operations.md)
    if problems:
        print(f"upload: error: {'; '.join(problems)}", file=sys.stderr, flush=True)
        raise SystemExit(1)
    ops_preflight.metrics_dir(settings)
    os.environ.update(settings.to_env())
    state = settings.state or f"sqlite:///{settings.data_dir / '.state' / 'uploads.sqlite3'}"
    if not state.startswith("sqlite"):
        state = redact_url(state)  # no password in a log line
    where = settings.data_dir if settings.store == "file" else f"s3 {settings.s3_bucket}"
    origin = f"http://{settings.host}:{settings.port}"
    served = ", ".join(  # whole URLs: a terminal makes them links (the page's, say)
        f"{m.name} on {origin}{m.shown or (m.path or '') + '/'}"
        for m in mounts(settings)
        if m.name != "health"
    )
    print(
        f"upload: serves {served} | bytes: {where} | state: {state} | workers: {settings.workers}",
        file=sys.stderr,
        flush=True,
    )
    # uvicorn re-raises the signal that stopped it once it has shut down gracefully;
    # this handler turns that into a clean exit status 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    uvicorn.run(
        "tuskit.upload.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http=PROTOCOL,
        lifespan="on",
        access_log=False,
        proxy_headers=False,  # --behind-proxy decides what Forwarded headers may do
        server_header=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout) or 1,
        log_level="info",
        log_config=uvicorn_log_config(settings.log_format),
    )


def _exit_cleanly(sig: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    main()
