"""`upload-cli ls [QUEUE]`: what the stream store holds, through the generated client.

The stream store lists queues (`GET /v1/queues`) and the streams of a queue, oldest first
(`GET /v1/queues/<q>/streams`, paged); a stream stored outside any queue is not listed
anywhere (the store has no such listing), so `ls` shows queues and queued streams.
"""

from __future__ import annotations

import argparse
from functools import partial

from tuskit.gen.http.streams.client import StreamsClient
from tuskit.gen.streams.service import ListPayload, QueuesPayload

from .command import Command, Context
from .exits import OK
from .retry import again
from .urls import checked

DEFAULT_URL = "http://127.0.0.1:8080/v1"
MAX_PAGES = 10_000
"""Bound on the pages followed (a listing of 10 million streams at 1000 a page)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("queue", nargs="?", help="List this queue's streams (default: queues).")
    parser.add_argument(
        "--url", default=DEFAULT_URL, help=f"The stream store (default: {DEFAULT_URL})."
    )
    parser.add_argument(
        "--limit", type=int, default=1000, help="Streams per page asked for (1-1000)."
    )


async def run(args: argparse.Namespace, ctx: Context) -> int:
    client = StreamsClient(checked(args.url), client=ctx.http)
    out = ctx.reporter
    if args.queue is None:
        queues = await again(lambda: client.queues(QueuesPayload()), ctx.backoff)
        for q in queues.body.queues if queues.body else []:
            out.result(f"{q.queue}\t{q.streams}", "queue", queue=q.queue, streams=q.streams)
        return OK
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        payload = ListPayload(queue=args.queue, limit=args.limit, cursor=cursor)
        page = await again(partial(client.list, payload), ctx.backoff)
        body = page.body
        if body is None:
            break
        for s in body.streams:
            out.result(
                f"{s.id}\t{s.size}\t{s.content_type}\t{s.created}",
                "stream",
                id=s.id,
                size=s.size,
                content_type=s.content_type,
                created=s.created,
            )
        if not body.next or not body.streams:
            break
        cursor = body.next
    return OK


COMMAND = Command(
    help="List the stream store's queues, or one queue's streams.",
    add_arguments=add_arguments,
    run=run,
)
