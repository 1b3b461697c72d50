"""Stream one part's body into a PartWriter: exactly its length, verified, or nothing.

Unlike an append (engine/appender.py), a part is all or nothing: a body that is cut, stopped,
longer or shorter than the part, or that fails its digest, is discarded, and the part
stays absent. The read loop runs in its own task so a release request (a newer request
for the same part), an idle body or a shutdown can stop it at an `await` on the body.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from tuskit.persist.protocols import PartWriter

from .digests import StreamDigests, Verification
from .errors import ChecksumMismatch, PartLengthMismatch, Unavailable
from .interrupt import Interrupt


async def _pump(
    body: AsyncIterator[bytes],
    writer: PartWriter,
    digests: StreamDigests | None,
    size: int,
    interrupt: Interrupt,
) -> int:
    """Bytes received; raises PartLengthMismatch as soon as the body passes `size`."""
    got = 0
    iterator = body.__aiter__()
    clock = time.monotonic
    while True:
        try:
            chunk = await iterator.__anext__()
            interrupt.last = clock()
        except StopAsyncIteration:
            return got
        except asyncio.CancelledError:
            raise
        except Exception:
            return got  # the client went away: the part is incomplete
        if not chunk:
            continue
        got += len(chunk)
        if got > size:
            raise PartLengthMismatch(
                f"the body passes the part's length of {size} bytes; nothing was stored", size
            )
        if digests is not None:
            digests.update(chunk)
        await writer.write(chunk)


async def write_part(
    body: AsyncIterator[bytes],
    writer: PartWriter,
    *,
    size: int,
    interrupt: Interrupt,
    verify: Verification | None,
) -> str:
    """Stream `body` into `writer`; commit and return the store's receipt only when the
    body was exactly `size` bytes and matched its digest; otherwise discard and raise."""
    digests = verify.digests() if verify is not None else None
    task = asyncio.ensure_future(_pump(body, writer, digests, size, interrupt))
    interrupt.attach(task)
    try:
        got = await task
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await writer.discard()
        if interrupt.fired:
            raise Unavailable(
                "the part was handed to a newer request for it, or the server is stopping;"
                " nothing of it was stored"
            ) from None
        raise
    except BaseException:
        with contextlib.suppress(Exception):
            await writer.discard()
        raise
    if got != size:
        await writer.discard()
        raise PartLengthMismatch(
            f"the body ended after {got} of the part's {size} bytes; nothing was stored", size
        )
    if verify is not None and digests is not None:
        try:
            expected = verify.expected()
        except BaseException:
            await writer.discard()
            raise
        if not digests.matches(expected):
            await writer.discard()
            raise ChecksumMismatch("the body does not match its digest; nothing was stored", 0)
    return await writer.commit()
