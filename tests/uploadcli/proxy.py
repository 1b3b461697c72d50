"""A loopback TCP proxy that corrupts every `Upload-Checksum: sha256 ...` header it
forwards: the way to make the server answer 460 to a well-behaved client."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

CHECKSUM = re.compile(rb"(Upload-Checksum: sha256 )[A-Za-z0-9+/=]{44}", re.IGNORECASE)
WRONG = base64.b64encode(hashlib.sha256(b"not these bytes").digest())


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rewrite: bool) -> None:
    try:
        while data := await reader.read(1 << 16):
            if rewrite:
                data = CHECKSUM.sub(lambda m: m.group(1) + WRONG, data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


@contextmanager
def corrupting_proxy(upstream_port: int) -> Iterator[int]:
    """Yields the proxy's port on 127.0.0.1; stopped (its thread joined) at exit."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []
    stop = asyncio.Event()

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        ur, uw = await asyncio.open_connection("127.0.0.1", upstream_port)
        await asyncio.gather(_pump(r, uw, True), _pump(ur, w, False))

    async def main() -> None:
        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        port.append(srv.sockets[0].getsockname()[1])
        ready.set()
        async with srv:
            await stop.wait()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in others:
            t.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10), "proxy did not start"
    try:
        yield port[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
