"""Stream one request body into a ChunkWriter: verify, then commit or discard.

The read loop runs in its own task so it can be stopped while it waits on a stalled
connection: a lock release request, an idle body or a shutdown cancels the task at an
`await` on the body, never in the middle of a write, and the bytes that arrived are
committed (or dropped, when a new append superseded this one).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from tuskit.persist.protocols import ChunkWriter

from .checkpoints import Checkpoints
from .digests import StreamDigests, Verification
from .errors import EngineError
from .interrupt import Interrupt


class Ending(enum.Enum):
    COMPLETE = "complete"  # the body ended normally
    INTERRUPTED = "interrupted"  # the client went away / the connection broke
    STOPPED = "stopped"  # another request or shutdown asked us to let go
    TOO_LARGE = "too_large"  # the body would pass the upload's length


@dataclass(frozen=True, slots=True)
class Appended:
    ending: Ending
    offset: int  # durable offset after commit/discard
    written: int  # bytes kept from this request
    checksum_failed: bool = False


async def _pump(
    body: AsyncIterator[bytes],
    writer: ChunkWriter,
    digests: StreamDigests | None,
    limit: int | None,
    interrupt: Interrupt,
    checkpoints: Checkpoints | None,
) -> Ending:
    remaining = limit
    iterator = body.__aiter__()
    clock = time.monotonic
    while True:
        if checkpoints is not None and checkpoints.due():
            # Before waiting for more: a client that pauses still has what it sent
            # recorded when the interval is up (never after the last chunk: due() needs
            # more than a window, or time to pass, and the commit follows at once).
            await checkpoints.record()
            checkpoints.taken()
        try:
            chunk = await iterator.__anext__()
            interrupt.last = clock()
        except StopAsyncIteration:
            return Ending.COMPLETE
        except (asyncio.CancelledError, EngineError):
            raise  # stop request, or the body refused the request (BodyRejected)
        except Exception:
            return Ending.INTERRUPTED
        if not chunk:
            continue
        if remaining is not None:
            if len(chunk) > remaining:
                if remaining:
                    part = chunk[:remaining]
                    if digests is not None:
                        digests.update(part)
                    await writer.write(part)
                return Ending.TOO_LARGE
            remaining -= len(chunk)
        if digests is not None:
            digests.update(chunk)
        await writer.write(chunk)
        if checkpoints is not None:
            checkpoints.wrote(len(chunk))


async def append_body(
    body: AsyncIterator[bytes],
    writer: ChunkWriter,
    *,
    limit: int | None,
    interrupt: Interrupt,
    verify: Verification | None,
    checkpoints: Checkpoints | None = None,
) -> Appended:
    """Run the pump, then decide: commit what arrived, or discard it all.

    `verify` is set when a digest was promised (before the body or in a trailer); its
    `expected` is asked only after the body ended, when trailers are known, and may
    raise (malformed or missing trailer): the bytes are discarded first. Bytes are
    discarded only when a promised digest cannot be confirmed (mismatch, or a body that
    did not arrive whole); otherwise every byte that arrived is kept.
    """
    digests = verify.digests() if verify is not None else None
    if verify is not None:
        checkpoints = None  # a promised digest covers the whole body: all or nothing
    task = asyncio.ensure_future(_pump(body, writer, digests, limit, interrupt, checkpoints))
    interrupt.attach(task)
    try:
        ending = await task
    except EngineError:
        await writer.discard()
        raise
    except Exception:
        # The store failed (disk full, I/O error): close the writer; the bytes past the
        # recorded offset are cut on the next open, and the client gets a 500 to retry.
        with contextlib.suppress(Exception):
            await writer.discard()
        raise
    except asyncio.CancelledError:
        if not interrupt.fired:
            # Our own request was cancelled (forced shutdown): settle, then re-raise.
            if digests is None:
                await writer.commit()
            else:
                await writer.discard()
            raise
        ending = Ending.STOPPED
        if interrupt.superseded:
            # A new append resumes from the recorded offset and sends these bytes again.
            await writer.discard()
            return Appended(ending, -1, 0)
    if verify is None or digests is None:
        written = writer.written
        return Appended(ending, await writer.commit(), written)
    if ending is not Ending.COMPLETE:
        await writer.discard()
        return Appended(ending, -1, 0)
    try:
        expected = verify.expected()
    except Exception:
        await writer.discard()
        raise
    if not digests.matches(expected):
        await writer.discard()
        return Appended(ending, -1, 0, checksum_failed=True)
    written = writer.written
    return Appended(ending, await writer.commit(), written)
