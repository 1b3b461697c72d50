"""`upload-cli session-send`: a file through the session API, then read back."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.servers import UploadServer
from tuskit.uploadcli.state import Store, fingerprint

from .conftest import random_file, run_cli, sha256


def test_session_send_uploads_and_forgets_the_session(
    server: UploadServer, state: Path, tmp_path: Path
) -> None:
    src = random_file(tmp_path / "doc.pdf", (9 << 20) + 5)  # two chunks of 8 MiB
    api = f"http://127.0.0.1:{server.port}/attachment"
    done = run_cli(state, "session-send", str(src), "--url", api, "-q")
    assert done.returncode == 0, done.stderr
    location = done.stdout.strip()
    assert location.startswith(api + "/")
    back = tmp_path / "back"
    back.write_bytes(httpx.get(location, timeout=30).content)
    assert sha256(back) == sha256(src)
    assert json.loads((state / "sessions.json").read_text()) == {}


def test_session_send_resumes_a_remembered_session(
    server: UploadServer, state: Path, tmp_path: Path
) -> None:
    src = random_file(tmp_path / "a.bin", 1000)
    api = f"http://127.0.0.1:{server.port}/attachment"
    opened = httpx.post(f"{api}/initiate", json={"fileName": "a.bin", "fileSize": 1000}).json()
    Store(state, "sessions").put(fingerprint(src, api), {"session": opened["sessionId"]})
    done = run_cli(state, "session-send", str(src), "--url", api)
    assert done.returncode == 0, done.stderr
    assert f"resuming a.bin in session {opened['sessionId']}" in done.stderr
    assert httpx.get(done.stdout.strip()).content == src.read_bytes()


def test_session_send_starts_over_when_the_remembered_session_is_gone(
    server: UploadServer, state: Path, tmp_path: Path
) -> None:
    src = random_file(tmp_path / "b.bin", 1000)
    api = f"http://127.0.0.1:{server.port}/attachment"
    opened = httpx.post(f"{api}/initiate", json={"fileName": "b.bin", "fileSize": 1000}).json()
    aborted = httpx.post(f"{api}/session/{opened['sessionId']}/abort")
    assert aborted.json()["status"] == "aborted"
    Store(state, "sessions").put(fingerprint(src, api), {"session": opened["sessionId"]})
    unknown = random_file(tmp_path / "c.bin", 10)
    Store(state, "sessions").put(fingerprint(unknown, api), {"session": "f" * 32})
    for path in (src, unknown):
        done = run_cli(state, "session-send", str(path), "--url", api)
        assert done.returncode == 0, done.stderr
        assert f"the stored session of {path.name} is gone; starting again" in done.stderr
        assert httpx.get(done.stdout.strip()).content == path.read_bytes()
    assert json.loads((state / "sessions.json").read_text()) == {}
