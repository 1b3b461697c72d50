"""kill -9 a real process writing through FileByteStore + SqliteMetadataStore, repeatedly.

After each kill, start-up recovery must leave the recorded offset equal to the bytes on
disk, and those bytes must be a prefix of the source; the writer then resumes.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tuskit.persist import open_local, recover

from .kill_writer import UPLOAD, source

pytestmark = pytest.mark.anyio

WRITER = Path(__file__).with_name("kill_writer.py")
TOTAL = 6 * 1024 * 1024
SEED = 1234


def start(data_dir: Path, fsync: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(data_dir), str(TOTAL), str(SEED), fsync],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    return proc


@pytest.mark.parametrize("fsync", ["patch", "never"])
async def test_kill_9_then_recover_keeps_a_true_prefix(tmp_path: Path, fsync: str) -> None:
    data = source(TOTAL, SEED)
    rng = random.Random(fsync)
    offsets: list[int] = []
    cut_back = killed = 0
    for _ in range(5):
        proc = start(tmp_path, fsync)
        time.sleep(rng.uniform(0.02, 0.3))
        proc.send_signal(signal.SIGKILL)
        killed += proc.wait(10) == -signal.SIGKILL
        assert proc.stdout is not None
        proc.stdout.close()

        c = open_local(tmp_path, fsync=fsync)
        try:
            info = await c.metadata.get(UPLOAD)
            assert info is not None
            # Bytes are durable before the offset is saved: never fewer bytes than recorded.
            assert await c.byte_store.durable_size(info) >= info.offset
            report = await recover(c)
            cut_back += len(report.truncated)
            assert report.lowered == []
            info = await c.metadata.get(UPLOAD)
            assert info is not None
            assert await c.byte_store.durable_size(info) == info.offset
            assert (tmp_path / UPLOAD).read_bytes() == data[: info.offset]
            offsets.append(info.offset)
        finally:
            await c.close()

    assert killed >= 3, "the writer finished before it could be killed"
    assert offsets == sorted(offsets), "an offset went backwards"
    assert offsets[-1] > 0
    proc = start(tmp_path, fsync)  # the survivor finishes the upload
    assert proc.communicate(timeout=60)[0] == b"done\n"
    assert (tmp_path / UPLOAD).read_bytes() == data
    print(f"offsets after kills: {offsets}; files cut back: {cut_back}")
