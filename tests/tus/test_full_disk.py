"""A full disk answers 507 with a JSON code and Retry-After, keeps what was stored, and
the upload resumes once there is room (issue 15, item 3). The data dir is a small tmpfs
mounted for this test (the suite runs as root, as CI does)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import UploadServer, running_server
from tests.tus.conftest import TUS, create, patch

MIB = 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def server(small_disk: Path) -> Iterator[UploadServer]:
    with running_server(small_disk / "data") as srv:
        yield srv


def test_a_full_disk_is_507_and_the_upload_resumes_when_there_is_room(
    server: UploadServer,
) -> None:
    first, second = os.urandom(3 * MIB), os.urandom(4 * MIB)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        kept = create(http, len(first))
        assert patch(http, kept, 0, first).status_code == 204
        url = create(http, len(second))
        r = patch(http, url, 0, second)
        assert r.status_code == 507, (r.status_code, r.text)
        assert r.json()["code"] == "insufficient_storage"
        assert int(r.headers["Retry-After"]) > 0
        assert r.headers["Tus-Resumable"] == "1.0.0"
        offset = int(http.head(url, headers=TUS).headers["Upload-Offset"])
        assert offset < len(second)  # nothing beyond what is really on disk
        assert http.get(kept).content == first  # what was stored is intact
        gone = http.delete(kept, headers=TUS)
        assert gone.status_code == 204, server.log()[-3000:]  # make room
        with contextlib.suppress(httpx.HTTPError):
            r = patch(http, url, offset, second[offset:])
        assert r.status_code == 204, (r.status_code, r.text)
        assert http.get(url).content == second
