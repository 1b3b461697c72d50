"""`upload-cli ls` / `rm` on the stream store, through the generated streams client."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.servers import UploadServer

from .conftest import run_cli


def base(server: UploadServer) -> str:
    return f"http://127.0.0.1:{server.port}/v1"


def test_ls_lists_queues_and_streams_and_rm_deletes(server: UploadServer, state: Path) -> None:
    ids = [
        httpx.post(f"{base(server)}/queues/cli-q/streams", content=f"item {i}".encode()).json()[
            "id"
        ]
        for i in range(3)
    ]
    queues = run_cli(state, "ls", "--url", base(server), "-q")
    assert queues.returncode == 0, queues.stderr
    assert "cli-q\t3" in queues.stdout.splitlines()

    listed = run_cli(state, "ls", "cli-q", "--url", base(server), "--json", "--limit", "2")
    assert listed.returncode == 0, listed.stderr
    events = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [e["id"] for e in events] == ids  # oldest first, across pages of 2
    assert all(e["event"] == "stream" and e["size"] == 6 for e in events)

    removed = run_cli(state, "rm", ids[1], "--url", base(server), "-q")
    assert removed.returncode == 0 and removed.stdout.strip() == f"deleted {ids[1]}"
    after = run_cli(state, "ls", "cli-q", "--url", base(server), "-q")
    assert [line.split("\t")[0] for line in after.stdout.splitlines()] == [ids[0], ids[2]]


def test_rm_of_an_unknown_stream_is_one_line(server: UploadServer, state: Path) -> None:
    done = run_cli(state, "rm", "no-such-stream", "--url", base(server))
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1
    assert "HTTP 404" in done.stderr
