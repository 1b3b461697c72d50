"""`upload-cli get URL -o FILE`: download with Range resume.

A partial FILE is continued with `Range: bytes=N-` and `If-Range: <ETag>` (the ETag kept
beside it in `FILE.etag` while the download is unfinished), so a file that changed on the
server is downloaded again from the start instead of being spliced. Plain HTTP: any
upload URL (tus, IETF draft), attachment or stream can be fetched.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from .command import Command, Context
from .exits import NETWORK, OK, REFUSED, USAGE, Failure
from .retry import retryable
from .urls import checked

_TOTAL = re.compile(r"/(\d+)\s*$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", metavar="URL", help="What to download.")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="Where to write it (default: the URL's last segment in this directory).",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="Overwrite an existing FILE that upload-cli did not start downloading.",
    )


def _total(response: httpx.Response, have: int) -> int | None:
    match = _TOTAL.search(response.headers.get("content-range", ""))
    if match:
        return int(match.group(1))
    length = response.headers.get("content-length")
    return have + int(length) if length and length.isdigit() else None


class Download:
    """One URL into one file; `run()` retries from where the file ends."""

    def __init__(self, url: str, out: Path, ctx: Context) -> None:
        self.url, self.out, self.ctx = url, out, ctx
        self.etag_path = out.with_name(out.name + ".etag")
        self.task: int | None = None

    def _have(self) -> tuple[int, str | None]:
        if self.out.exists() and self.etag_path.exists():
            return self.out.stat().st_size, self.etag_path.read_text().strip() or None
        return 0, None

    async def run(self) -> None:
        delay = self.ctx.backoff.first
        for attempt in range(1, self.ctx.backoff.attempts + 1):
            try:
                await self._once(resumed=attempt > 1)
                return
            except Exception as exc:
                if not retryable(exc, self.ctx.backoff) or attempt == self.ctx.backoff.attempts:
                    raise
                self.ctx.reporter.say(f"GET: {exc}; retrying in {delay:.1f}s", "retry")
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.ctx.backoff.most)

    async def _once(self, resumed: bool) -> None:
        have, etag = self._have()
        headers = {}
        if have and etag:
            headers = {"Range": f"bytes={have}-", "If-Range": etag}
        async with self.ctx.http.stream("GET", self.url, headers=headers) as r:
            if r.status_code == 416 and have:
                total = _total(r, 0)
                if total == have:
                    self.etag_path.unlink(missing_ok=True)
                    return
            if r.status_code not in (200, 206):
                body = (await r.aread())[:200].decode("utf-8", "replace").strip()
                raise Failure(f"GET {self.url}: HTTP {r.status_code} {body}", REFUSED)
            if r.status_code == 200:
                have = 0
            elif not resumed:
                self.ctx.reporter.say(
                    f"resuming {self.out.name} at offset {have}", "resume", offset=have
                )
            if tag := r.headers.get("etag"):
                self.etag_path.write_text(tag + "\n")
            total = _total(r, have)
            if self.task is None:
                self.task = self.ctx.reporter.task(self.out.name, total, have)
            else:
                self.ctx.reporter.set(self.task, have)
            with self.out.open("r+b" if have else "wb") as f:
                f.seek(have)
                f.truncate()
                async for chunk in r.aiter_bytes():
                    f.write(chunk)
                    self.ctx.reporter.advance(self.task, len(chunk))
        self.etag_path.unlink(missing_ok=True)


async def run(args: argparse.Namespace, ctx: Context) -> int:
    url = checked(args.url)
    name = Path(unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2])).name
    if name in ("", ".", ".."):  # a decoded `..%2F..%2Fx` must not leave the directory
        name = "download"
    out = Path(args.output or name)
    if out.exists() and not out.with_name(out.name + ".etag").exists() and not args.force:
        raise Failure(f"{out} exists (--force overwrites it)", USAGE)
    try:
        await Download(url, out, ctx).run()
    except httpx.TransportError as exc:
        with contextlib.suppress(Exception):
            ctx.reporter.say(f"{out}: kept {out.stat().st_size} bytes; run again to resume")
        raise Failure(f"network error: {exc or type(exc).__name__}", NETWORK) from exc
    ctx.reporter.result(str(out), file=str(out), url=url)
    return OK


COMMAND = Command(
    help="Download a URL to a file, resuming a partial download.",
    add_arguments=add_arguments,
    run=run,
)
