"""`upload`: start the tus server (flags in the spirit of tusd; `UPLOAD_*` env vars too).

Every flag also reads `UPLOAD_<NAME>` from the environment, e.g. UPLOAD_DATA_DIR.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import uvicorn

from .config import ENV_PREFIX, Settings, parse_duration, parse_size

PROTOCOL = "tuskit.upload.httpproto:UploadHttpProtocol"


def _env(name: str, default: str) -> str:
    return os.environ.get(ENV_PREFIX + name.upper(), default)


def build_parser() -> argparse.ArgumentParser:
    d = Settings()
    p = argparse.ArgumentParser(
        prog="upload",
        description="tus 1.0.0 resumable-upload server (all extensions). "
        "Each flag can also be set as UPLOAD_<FLAG> in the environment.",
    )
    p.add_argument("--host", default=_env("host", d.host), help="listen address")
    p.add_argument(
        "--port", type=int, default=int(_env("port", str(d.port))), help="listen port (8080)"
    )
    p.add_argument(
        "--base-path", default=_env("base_path", d.base_path), help="URL path of uploads"
    )
    p.add_argument(
        "--data-dir", default=_env("data_dir", str(d.data_dir)), help="where bytes and state go"
    )
    p.add_argument(
        "--max-size",
        default=_env("max_size", "0"),
        help="largest upload (e.g. 10GiB); 0 = no limit",
    )
    p.add_argument(
        "--expire-after",
        default=_env("expire_after", "24h"),
        help="unfinished uploads expire after (0 = never)",
    )
    p.add_argument(
        "--sweep-interval",
        default=_env("sweep_interval", "60s"),
        help="how often expired uploads are removed",
    )
    p.add_argument(
        "--fsync", default=_env("fsync", d.fsync), help="patch (default), never, or interval:5s"
    )
    p.add_argument(
        "--no-group-sync",
        dest="group_sync",
        action="store_false",
        default=_env("group_sync", "1") in ("1", "true"),
        help="sync each short upload's file and directory instead of one syncfs per batch"
        " (for a data dir on a filesystem shared with heavy writers)",
    )
    p.add_argument(
        "--cors-origins",
        default=_env("cors_origins", "*"),
        help="comma-separated allowed origins, * for any",
    )
    p.add_argument(
        "--behind-proxy",
        action="store_true",
        default=_env("behind_proxy", "0") in ("1", "true"),
        help="trust Forwarded / X-Forwarded-* for Location",
    )
    p.add_argument(
        "--lock-timeout",
        default=_env("lock_timeout", "5s"),
        help="how long a request waits for a busy upload",
    )
    p.add_argument(
        "--shutdown-timeout",
        default=_env("shutdown_timeout", "10s"),
        help="bound on graceful shutdown",
    )
    p.add_argument(
        "--workers", type=int, default=int(_env("workers", "1")), help="worker processes"
    )
    p.add_argument(
        "--io-threads",
        type=int,
        default=int(_env("io_threads", str(d.io_threads))),
        help="threads per worker for fsync and file creation",
    )
    p.add_argument("--store", default=_env("store", d.store), help="where bytes go: file or s3")
    p.add_argument(
        "--state",
        default=_env("state", d.state),
        help="where state goes: sqlite (default), sqlite:///path, redis://..., postgresql://...",
    )
    s3_help = {
        "s3_endpoint": "S3 API URL (empty: AWS)",
        "s3_bucket": "bucket for upload objects",
        "s3_region": "S3 region",
        "s3_prefix": "key prefix inside the bucket",
        "s3_access_key": "access key (prefer the environment variable)",
        "s3_secret_key": "secret key (prefer the environment variable)",
    }
    for name, text in s3_help.items():
        p.add_argument(
            "--" + name.replace("_", "-"), default=_env(name, str(getattr(d, name))), help=text
        )
    p.add_argument(
        "--redis-prefix",
        default=_env("redis_prefix", d.redis_prefix),
        help="key prefix with --state redis://... (one per deployment)",
    )
    p.add_argument(
        "--pg-schema",
        default=_env("pg_schema", d.pg_schema),
        help="schema with --state postgresql://... (created on start)",
    )
    p.add_argument(
        "--s3-path-style",
        action=argparse.BooleanOptionalAction,
        default=_env("s3_path_style", "1") in ("1", "true"),
        help="path-style S3 addressing (SeaweedFS, MinIO); --no-s3-path-style for AWS",
    )
    p.add_argument(
        "--s3-part-size",
        default=_env("s3_part_size", str(d.s3_part_size)),
        help="preferred multipart part size (at least 5MiB)",
    )
    return p


def settings_from_args(argv: Sequence[str] | None = None) -> Settings:
    a = build_parser().parse_args(argv)
    try:
        return Settings(
            host=a.host,
            port=a.port,
            base_path="/" + a.base_path.strip("/") + "/" if a.base_path.strip("/") else "/",
            data_dir=Path(a.data_dir).resolve(),
            max_size=parse_size(a.max_size),
            expire_after=parse_duration(a.expire_after),
            sweep_interval=parse_duration(a.sweep_interval),
            fsync=a.fsync,
            group_sync=a.group_sync,
            cors_origins=tuple(o.strip() for o in a.cors_origins.split(",") if o.strip()),
            behind_proxy=a.behind_proxy,
            lock_timeout=parse_duration(a.lock_timeout),
            shutdown_timeout=parse_duration(a.shutdown_timeout),
            workers=a.workers,
            io_threads=a.io_threads,
            store=a.store,
            state=a.state,
            s3_endpoint=a.s3_endpoint,
            s3_bucket=a.s3_bucket,
            s3_region=a.s3_region,
            s3_prefix=a.s3_prefix,
            s3_access_key=a.s3_access_key,
            s3_secret_key=a.s3_secret_key,
            s3_path_style=a.s3_path_style,
            redis_prefix=a.redis_prefix,
            pg_schema=a.pg_schema,
            s3_part_size=parse_size(a.s3_part_size),
        )
    except ValueError as exc:
        build_parser().error(str(exc))
        raise  # unreachable: error() exits


def main(argv: Sequence[str] | None = None) -> None:
    settings = settings_from_args(argv)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(settings.to_env())
    state = settings.state or f"sqlite:///{settings.data_dir / '.state' / 'uploads.sqlite3'}"
    where = settings.data_dir if settings.store == "file" else f"s3 {settings.s3_bucket}"
    print(
        f"upload: tus 1.0.0 on http://{settings.host}:{settings.port}{settings.location_base}"
        f" | bytes: {where} | state: {state} | workers: {settings.workers}",
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
    )


def _exit_cleanly(sig: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    main()
