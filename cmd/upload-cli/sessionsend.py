"""`upload-cli session-send FILE --url URL`: a file through the session API (initiate, PUT
chunks in parallel with per-chunk digests, complete), resumable after a crash: the
session id is remembered per file fingerprint and only missing chunks are sent again."""

from __future__ import annotations

import argparse
from pathlib import Path

from tuskit.client.sessions import Retry, SessionUpload, UploadFailed
from tuskit.gen.http.sessions.client import SessionsClient
from tuskit.gen.sessions import errors
from tuskit.gen.sessions.service import GetSessionPayload

from .command import Command, Context
from .exits import OK, USAGE, Failure
from .state import Store, fingerprint
from .units import positive
from .urls import checked

DEFAULT_URL = "http://127.0.0.1:8080/attachment"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="The file to upload.")
    parser.add_argument(
        "--url", default=DEFAULT_URL, help=f"The session API (default: {DEFAULT_URL})."
    )
    parser.add_argument(
        "--parallel", type=positive, default=4, metavar="N", help="Chunks in flight (4)."
    )
    parser.add_argument("--content-type", help="The attachment's media type.")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="Open a new session even if an interrupted one of this file is remembered.",
    )


async def run(args: argparse.Namespace, ctx: Context) -> int:
    url = checked(args.url)
    path = Path(args.file)
    if not path.is_file():
        raise Failure(f"{path}: {'is a directory' if path.is_dir() else 'no such file'}", USAGE)
    store = Store(ctx.state_dir, "sessions")
    key = fingerprint(path, url)
    record = None if args.fresh else store.get(key)
    session_id = str(record["session"]) if record and record.get("session") else None
    client = SessionsClient(url, client=ctx.http)
    if session_id and not await _still_open(client, session_id):
        store.forget(key)
        ctx.reporter.say(
            f"the stored session of {path.name} is gone; starting again", "restart",
            session=session_id,
        )  # fmt: skip
        session_id = None
    if session_id:
        ctx.reporter.say(
            f"resuming {path.name} in session {session_id}", "resume", session=session_id
        )

    def remember(sid: str) -> None:
        store.put(key, {"file": str(path.resolve()), "session": sid})

    task = ctx.reporter.task(path.name, path.stat().st_size)
    upload = SessionUpload(
        client,
        path,
        parallel=args.parallel,
        content_type=args.content_type,
        session_id=session_id,
        on_session=remember,
        retry=Retry(attempts=ctx.backoff.attempts, backoff=ctx.backoff.first),
    )
    try:
        attachment = await upload.run()
    except UploadFailed as exc:
        cause = exc.__cause__
        if cause is not None and not isinstance(cause, UploadFailed):
            raise cause from None
        raise Failure(str(exc)) from exc
    ctx.reporter.set(task, path.stat().st_size)
    store.forget(key)
    ctx.reporter.result(attachment.location, file=str(path), url=attachment.location)
    return OK


async def _still_open(client: SessionsClient, session_id: str) -> bool:
    """False when the server no longer has the session (expired, aborted, completed or
    never known there): the file is then sent in a new one."""
    try:
        await client.get_session(GetSessionPayload(session_id=session_id))
    except (
        errors.SessionNotFound, errors.SessionExpired, errors.SessionAborted,
        errors.SessionCompleted,
    ):  # fmt: skip
        return False
    return True


COMMAND = Command(
    help="Upload a file through the session API (chunks in parallel), resumably.",
    add_arguments=add_arguments,
    run=run,
)
