"""`upload-cli rm ID...`: delete streams from the stream store (generated client)."""

from __future__ import annotations

import argparse
from functools import partial

from tuskit.gen.http.streams.client import StreamsClient
from tuskit.gen.streams.service import DeletePayload

from .command import Command, Context
from .exits import OK
from .ls import DEFAULT_URL
from .retry import again
from .urls import checked


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", nargs="+", metavar="ID", help="Stream ids to delete.")
    parser.add_argument(
        "--url", default=DEFAULT_URL, help=f"The stream store (default: {DEFAULT_URL})."
    )


async def run(args: argparse.Namespace, ctx: Context) -> int:
    client = StreamsClient(checked(args.url), client=ctx.http)
    for stream_id in args.ids:
        payload = DeletePayload(id=stream_id)
        await again(partial(client.delete, payload), ctx.backoff)
        ctx.reporter.result(f"deleted {stream_id}", "deleted", id=stream_id)
    return OK


COMMAND = Command(
    help="Delete streams from the stream store.", add_arguments=add_arguments, run=run
)
