"""A restart with many uploads serves at once; recovery runs beside it, in the background.

Start-up used to lock, read and stat every record and list every data file before the
first answer: 680 s with a million records, ~14 s with the 20,000 here.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx

from bench.preload import StateArgs, preload
from tests.e2e.conftest import MakeServer
from tests.servers import UploadServer, wait_until
from tests.tus.conftest import TUS

RECORDS = 20_000
DONE = "recovery: done"


def started_in(make_server: MakeServer, data: Path) -> tuple[float, UploadServer]:
    t0 = time.monotonic()
    server = make_server(data)
    return time.monotonic() - t0, server


def test_many_records_cost_start_up_nothing(make_server: MakeServer, tmp_path: Path) -> None:
    data = tmp_path / "full"
    loaded = preload(data, RECORDS, StateArgs())
    orphan = data / ("f" * 32)  # bytes whose record never came (a crash), hours ago
    orphan.write_bytes(b"x")
    os.utime(orphan, (time.time() - 7200,) * 2)

    empty_s, _ = started_in(make_server, tmp_path / "empty")
    full_s, server = started_in(make_server, data)
    assert full_s < empty_s + 3.0, (full_s, empty_s)  # was ~ +14 s

    finished, halfway = loaded.sample_ids[:2]
    with httpx.Client(base_url=server.url, timeout=10) as http:
        done = http.head(finished, headers=TUS)
        half = http.head(halfway, headers=TUS)
    assert (
        done.status_code == 200 and done.headers["Upload-Offset"] == done.headers["Upload-Length"]
    )
    assert "Upload-Expires" not in done.headers  # a finished upload does not expire
    assert int(half.headers["Upload-Offset"]) == int(half.headers["Upload-Length"]) // 2

    wait_until(lambda: not orphan.exists(), 60, "the background orphan sweep")
    wait_until(lambda: DONE in server.log(), 30, DONE)


def test_after_a_reboot_under_fsync_never_the_records_are_walked(
    make_server: MakeServer, tmp_path: Path
) -> None:
    """The durability mark says the last run used --fsync never in another boot: bytes
    acknowledged then may be gone, so the background pass checks every record and
    lowers offsets to what the files hold (here: one file lost bytes)."""
    data = tmp_path / "data"
    loaded = preload(data, 1000, StateArgs())
    halfway = loaded.sample_ids[1]
    size = (data / halfway).stat().st_size
    os.truncate(data / halfway, size // 2)
    (data / ".state" / "durability.json").write_text(
        json.dumps({"boot_id": "an-earlier-boot", "relaxed": True, "walk_owed": False})
    )
    server = make_server(data, "--fsync", "never")
    wait_until(lambda: DONE in server.log(), 60, DONE)
    assert "1 offsets lowered" in server.log()
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.head(halfway, headers=TUS).headers["Upload-Offset"] == str(size // 2)
    mark = json.loads((data / ".state" / "durability.json").read_text())
    assert mark["walk_owed"] is False and mark["relaxed"] is True


def test_a_clean_restart_owes_nothing_and_a_crash_owes_a_sweep(
    make_server: MakeServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    server = make_server(data)
    wait_until(lambda: DONE in server.log(), 30, DONE)  # a new data dir: swept once
    assert server.stop() == 0
    server.start()
    wait_until(lambda: server.log().count(DONE) == 2, 30, "second " + DONE)
    assert "nothing owed" in server.log().split(DONE)[-1]
    server.kill9()
    orphan = data / ("e" * 32)  # as if that crash came between bytes and record
    orphan.write_bytes(b"x")
    os.utime(orphan, (time.time() - 7200,) * 2)
    server.start()
    wait_until(lambda: not orphan.exists(), 30, "the sweep owed after kill -9")
