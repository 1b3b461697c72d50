"""The generated per-method commands, mounted as `upload-cli <service> <method>`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.servers import UploadServer

from .conftest import random_file, run_cli


def root(server: UploadServer) -> str:
    return f"http://127.0.0.1:{server.port}"


def test_tus_create_patch_head_through_generated_commands(
    server: UploadServer, state: Path, tmp_path: Path
) -> None:
    body = random_file(tmp_path / "b", 10)
    created = run_cli(state, "tus", "create", "--url", root(server), "--upload-length", "10")
    assert created.returncode == 0, created.stderr
    upload_id = json.loads(created.stdout)["location"].rsplit("/", 1)[1]
    patched = run_cli(
        state,
        "tus",
        "patch",
        "--url",
        root(server),
        "--id",
        upload_id,
        "--upload-offset",
        "0",
        "--body",
        str(body),
    )
    assert patched.returncode == 0, patched.stderr
    assert json.loads(patched.stdout)["upload_offset"] == 10
    head = run_cli(state, "tus", "head", "--url", root(server), "--id", upload_id)
    assert json.loads(head.stdout) == {"upload_length": 10, "upload_offset": 10}


def test_generated_command_failures(server: UploadServer, state: Path) -> None:
    missing = run_cli(state, "tus", "head", "--url", root(server), "--id", "nope")
    assert missing.returncode == 1 and missing.stderr == (
        "error: HTTP 404 not_found: No upload with this id ever existed.\n"
    )
    bad = run_cli(state, "tus", "create", "--url", root(server), "--upload-length", "-1")
    assert bad.returncode == 2 and "must be an integer >= 0" in bad.stderr
    pattern = run_cli(
        state, "sessions", "get-session", "--url", root(server), "--session-id", "a/b"
    )
    assert pattern.returncode == 2 and "must match" in pattern.stderr


def test_streams_queues_through_generated_command(server: UploadServer, state: Path) -> None:
    done = run_cli(state, "streams", "queues", "--url", root(server))
    assert done.returncode == 0, done.stderr
    assert "queues" in json.loads(done.stdout)["body"]
