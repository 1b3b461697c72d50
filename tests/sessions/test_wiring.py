"""--sessions-path moves the API, --no-sessions turns it off, --chunk-size is checked."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.servers import running_server
from tuskit.upload.main import settings_from_args


def test_sessions_path_moves_the_api(tmp_path: Path) -> None:
    with running_server(tmp_path / "d", "--sessions-path", "api/uploads/") as srv:
        base = f"http://127.0.0.1:{srv.port}"
        r = httpx.post(f"{base}/api/uploads/initiate", json={"fileName": "a", "fileSize": 1})
        assert r.status_code == 201
        assert r.headers["Location"].startswith(f"{base}/api/uploads/session/")
        assert httpx.post(f"{base}/attachment/initiate", json={}).status_code == 404


def test_no_sessions_turns_it_off(tmp_path: Path) -> None:
    with running_server(tmp_path / "d", "--no-sessions") as srv:
        r = httpx.post(
            f"http://127.0.0.1:{srv.port}/attachment/initiate",
            json={"fileName": "a", "fileSize": 1},
        )
        assert r.status_code == 404
        assert httpx.options(srv.url).status_code == 204  # tus still serves
    assert not (tmp_path / "d" / ".assemblies").exists()


@pytest.mark.parametrize("value", ["1000", "0", "5000"])
def test_chunk_size_must_be_a_multiple_of_4kib(value: str) -> None:
    with pytest.raises(SystemExit):
        settings_from_args(["--chunk-size", value])


def test_settings_defaults() -> None:
    s = settings_from_args([])
    assert (s.sessions, s.sessions_path, s.chunk_size, s.session_expire_after) == (
        True, "/attachment", 8 * 1024 * 1024, 24 * 3600.0
    )  # fmt: skip
    assert settings_from_args(["--sessions-path", "/x/"]).sessions_path == "/x"
