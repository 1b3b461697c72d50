"""A second OS process for the cross-process lock tests (run by path, not collected).

usage: lock_child.py DATA_DIR ID MODE SECONDS
  hold    : take the lock, print "held", release when asked ("asked") or after SECONDS
  ignore  : take the lock, print "held", ignore requests (print "asked"), release after SECONDS
  try     : try to take the lock with timeout SECONDS; print "acquired" or "timeout"
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

from tuskit.persist.locks import FileLocker
from tuskit.persist.protocols import LockTimeout, Release


def say(line: str) -> None:
    print(line, flush=True)


async def main(data_dir: str, upload_id: str, mode: str, seconds: float) -> None:
    locker = FileLocker(data_dir, poll_interval=0.02)
    asked = asyncio.Event()

    def on_release(kind: Release) -> None:
        say(f"asked:{kind.value}")
        asked.set()

    if mode == "try":
        try:
            held = await locker.acquire(upload_id, timeout=seconds, on_release_request=on_release)
        except LockTimeout:
            say("timeout")
            return
        say("acquired")
        await held.release()
        return
    held = await locker.acquire(upload_id, timeout=5, on_release_request=on_release)
    say("held")
    if mode == "hold":
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asked.wait(), seconds)
    else:
        await asyncio.sleep(seconds)
    await held.release()
    say("released")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
