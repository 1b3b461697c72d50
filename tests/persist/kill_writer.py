"""The process the kill -9 test murders (run by path, not collected).

usage: kill_writer.py DATA_DIR TOTAL SEED FSYNC
Uploads SOURCE = Random(SEED).randbytes(TOTAL) to upload "victim" through FileByteStore
+ SqliteMetadataStore the way a PATCH does (write chunks, commit, then save the offset),
resuming from the recorded offset. Prints "ready" once writing starts, "done" at the end.
"""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

from tuskit.persist import FileByteStore, FsyncPolicy, SqliteMetadataStore, UploadInfo

UPLOAD = "victim"


def source(total: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(total)


async def main(data_dir: Path, total: int, seed: int, fsync: str) -> None:
    data = source(total, seed)
    store = FileByteStore(data_dir, FsyncPolicy.parse(fsync), buffer_size=32 * 1024)
    meta = SqliteMetadataStore(data_dir / ".state" / "uploads.sqlite3")
    info = await meta.get(UPLOAD)
    if info is None:
        info = UploadInfo(id=UPLOAD, length=total)
        await store.create(info)
        await meta.create(info)
    rng = random.Random()
    print("ready", flush=True)
    while info.offset < total:
        writer = await store.open_writer(info)
        end = min(total, info.offset + rng.randrange(20_000, 200_000))
        pos = info.offset
        while pos < end:
            step = min(end - pos, rng.randrange(1, 9000))
            await writer.write(data[pos : pos + step])
            pos += step
            await asyncio.sleep(0.0003)  # a client's pace: kills land mid-request too
        info = info.replace(offset=await writer.commit())
        await meta.save(info)
    print("done", flush=True)
    await meta.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
