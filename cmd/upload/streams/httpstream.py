"""`httpstream`: the original stream store's command line (seed 002), on this server.

    httpstream -addr 0.0.0.0:8080 -path DATA -d

serves the stream API and its queues alone (no tus, IETF, sessions or page) under `/v1`,
with bytes and state in `-path` (files + SQLite, the embedded default). It is
`upload --no-tus --no-ietf --no-sessions --no-ui` with the old flags; every other setting
still comes from `UPLOAD_*` environment variables.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

DESCRIPTION = (
    "HTTP Stream Store Service -- a simple service storing data streams with a RESTful "
    "interface (POST/PUT /v1/streams, GET/DELETE /v1/streams/<id>, FIFO queues under "
    "/v1/queues)."
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Go-style single-dash flags, as the original `httpstream -h` printed them."""
    p = _Parser(prog="httpstream", description=DESCRIPTION)
    p.add_argument(
        "-addr",
        "--addr",
        default="0.0.0.0:8080",
        metavar="string",
        help='Service listening address & port (default "0.0.0.0:8080")',
    )
    p.add_argument("-d", "--d", action="store_true", help="Debug mode (debug logging)")
    p.add_argument(
        "-path",
        "--path",
        default="DATA",
        metavar="string",
        help='Streams storage path (default "DATA")',
    )
    return p


def split_addr(addr: str) -> tuple[str, int]:
    """`host:port`, `:port` (every interface) or `[::1]:port` -> (host, port)."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"-addr must be host:port, not {addr!r}")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def upload_args(addr: str, path: str, debug: bool = False) -> list[str]:
    host, port = split_addr(addr)
    alone = ["--no-tus", "--no-ietf", "--no-sessions", "--no-ui"]  # the stream store only
    level = ["--log-level", "debug" if debug else "info"]
    return ["--host", host, "--port", str(port), "--data-dir", path, *alone, *level]


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        forwarded = upload_args(args.addr, args.path, args.d)
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(
        level=logging.DEBUG if args.d else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from ..main import main as upload_main

    upload_main(forwarded)


if __name__ == "__main__":
    main()
