"""`upload-cli send FILE... --url URL`: tus uploads with progress, checksums, metadata,
parallel parts, and resume from the stored upload URL after an interruption."""

from __future__ import annotations

import argparse
from pathlib import Path

from .command import Command, Context
from .exits import OK, USAGE, Failure
from .state import Store
from .tusflow import CHECKSUMS, Options, TusSender
from .units import positive, size
from .urls import checked

DEFAULT_URL = "http://127.0.0.1:8080/files/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="Files to upload, in order.")
    parser.add_argument(
        "--url", default=DEFAULT_URL, help=f"The tus endpoint (default: {DEFAULT_URL})."
    )
    parser.add_argument(
        "--chunk-size",
        type=size,
        default=8 << 20,
        metavar="SIZE",
        help="Bytes per PATCH, e.g. 8MiB (default); a retry resends at most one chunk.",
    )
    parser.add_argument(
        "--parallel",
        type=positive,
        default=1,
        metavar="N",
        help="Send N parts at once (tus concatenation), then join them (default: 1).",
    )
    parser.add_argument(
        "--checksum",
        choices=CHECKSUMS,
        help="Send Upload-Checksum with each PATCH; the server refuses a mismatch (460).",
    )
    parser.add_argument(
        "--meta",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Upload-Metadata entry (repeatable); filename and filetype are sent by default.",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="Start a new upload even if an interrupted one of this file is remembered.",
    )


def _metadata(pairs: list[str]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or any(c in key for c in " ,"):
            raise Failure(
                f"--meta {pair!r}: expected KEY=VALUE, KEY without spaces or commas", USAGE
            )
        meta[key] = value
    return meta


async def run(args: argparse.Namespace, ctx: Context) -> int:
    url = checked(args.url)
    paths = [Path(f) for f in args.files]
    for p in paths:
        if not p.is_file():
            raise Failure(f"{p}: {'is a directory' if p.is_dir() else 'no such file'}", USAGE)
    options = Options(
        chunk_size=args.chunk_size,
        checksum=args.checksum,
        metadata=_metadata(args.meta),
        backoff=ctx.backoff,
        fresh=args.fresh,
    )
    sender = TusSender(ctx.http, url, ctx.reporter, Store(ctx.state_dir, "tus"), options)
    for p in paths:
        final = await sender.send(p, args.parallel)
        ctx.reporter.result(final, file=str(p), url=final)
    return OK


COMMAND = Command(
    help="Upload files (tus), resumably, with a progress bar.",
    description="Upload files to a tus server and print each one's URL. Interrupted "
    "uploads (Ctrl-C, network loss, server restart) are remembered per file: run the same "
    "command again and it continues from the server's offset.",
    add_arguments=add_arguments,
    run=run,
)
