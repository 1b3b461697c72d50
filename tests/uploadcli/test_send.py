"""`upload-cli send` against a real `upload`: resume after SIGINT, parallel parts,
checksums, metadata, and one clear line for each way it can fail."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import ROOT, UploadServer, free_port, running_server

from .conftest import CLI, cli_env, random_file, run_cli, sha256
from .proxy import corrupting_proxy

MiB = 1 << 20


def download(url: str, to: Path) -> Path:
    with httpx.stream("GET", url, timeout=60) as r, to.open("wb") as f:
        assert r.status_code == 200
        for chunk in r.iter_bytes():
            f.write(chunk)
    return to


def server_offset(url: str) -> int:
    r = httpx.head(url, headers={"Tus-Resumable": "1.0.0"}, timeout=5)
    return int(r.headers.get("upload-offset", "0"))


def stored_urls(state: Path) -> list[str]:
    try:
        data = json.loads((state / "tus.json").read_text())
    except (FileNotFoundError, ValueError):
        return []
    return [u for record in data.values() for u in record["urls"]]


@pytest.mark.slow
def test_sigint_halfway_then_the_same_command_resumes(
    server: UploadServer, state: Path, tmp_path: Path
) -> None:
    src = random_file(tmp_path / "big.bin", 200 * MiB)
    argv = [*CLI, "send", str(src), "--url", server.url, "--chunk-size", "1MiB"]
    proc = subprocess.Popen(
        [*argv, "--json"], cwd=ROOT, env=cli_env(state), stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        offset = 0
        while time.monotonic() < deadline and offset == 0:
            urls = stored_urls(state)
            offset = server_offset(urls[0]) if urls else 0
            time.sleep(0.01)
        assert 0 < offset < src.stat().st_size, "the upload did not get going"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 130
    assert '"event": "done"' not in out  # it really stopped halfway
    url = stored_urls(state)[0]
    stopped_at = server_offset(url)
    assert 0 < stopped_at < src.stat().st_size

    again = run_cli(state, "send", str(src), "--url", server.url)
    assert again.returncode == 0, again.stderr
    match = re.search(r"resuming big\.bin at offset (\d+) of 209715200", again.stderr)
    assert match and int(match.group(1)) >= stopped_at > 0, again.stderr
    assert again.stdout.strip() == url  # the same upload, finished
    assert sha256(download(url, tmp_path / "back.bin")) == sha256(src)
    assert stored_urls(state) == []  # forgotten once finished


def test_two_quick_interrupts_exit_at_once_without_a_traceback(
    server: UploadServer, state: Path, tmp_path: Path
) -> None:
    """A terminal and a wrapper script may both deliver SIGINT: the second must not hang
    the client in its clean-up or print a traceback."""
    src = random_file(tmp_path / "twice.bin", 64 * MiB)
    argv = [*CLI, "send", str(src), "--url", server.url, "--chunk-size", "1MiB"]
    for attempt in range(8):
        fresh = state / str(attempt)  # nothing remembered: the run must create its upload
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=cli_env(fresh), stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not stored_urls(fresh):
                time.sleep(0.01)
            assert stored_urls(fresh), "the upload did not get going"
            proc.send_signal(signal.SIGINT)
            time.sleep(attempt / 16000)  # 0 to 0.44 ms apart
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        assert proc.returncode == 130, err
        assert "Traceback" not in err and "never retrieved" not in err, err


def test_parallel_4_joins_partial_uploads(
    server: UploadServer, state: Path, tmp_path: Path
) -> None:
    src = random_file(tmp_path / "p.bin", 10 * MiB + 3)
    done = run_cli(
        state,
        "send",
        str(src),
        "--url",
        server.url,
        "--parallel",
        "4",
        "--json",
        "--chunk-size",
        "1MiB",
        "--checksum",
        "sha256",
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    url = events[-1]["url"]
    assert events[-1]["event"] == "done" and events[-1]["file"] == str(src)
    head = httpx.head(url, headers={"Tus-Resumable": "1.0.0"})
    assert head.headers["upload-concat"].startswith("final;")
    assert len(head.headers["upload-concat"].split()) == 4
    assert sha256(download(url, tmp_path / "back.bin")) == sha256(src)


def test_several_files_print_one_url_each_with_metadata(
    server: UploadServer, state: Path, tmp_path: Path
) -> None:
    a = random_file(tmp_path / "a.txt", 1000)
    b = random_file(tmp_path / "b.bin", 0)
    done = run_cli(
        state, "send", str(a), str(b), "--url", server.url, "--quiet", "--meta", "team=blue"
    )
    assert done.returncode == 0, done.stderr
    urls = done.stdout.split()
    assert len(urls) == 2 and done.stderr == ""
    head = httpx.head(urls[0], headers={"Tus-Resumable": "1.0.0"})
    meta = head.headers["upload-metadata"]
    assert "filename YS50eHQ=" in meta and "filetype dGV4dC9wbGFpbg==" in meta
    assert "team Ymx1ZQ==" in meta
    assert httpx.get(urls[0]).content == a.read_bytes()
    assert head.headers["upload-length"] == "1000"


def one_line(done: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    lines = done.stderr.splitlines()
    assert done.returncode == code, done.stderr
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert done.stdout == ""
    return lines[0]


def test_bad_url_is_one_usage_line(state: Path, tmp_path: Path) -> None:
    src = random_file(tmp_path / "f", 10)
    one_line(run_cli(state, "send", str(src), "--url", "127.0.0.1:8080/files"), 2, "bad URL")


def test_refused_connection_is_one_network_line(state: Path, tmp_path: Path) -> None:
    src = random_file(tmp_path / "f", 10)
    url = f"http://127.0.0.1:{free_port()}/files/"
    one_line(run_cli(state, "send", str(src), "--url", url), 3, "network error", url)


def test_missing_file_is_one_usage_line(state: Path, server: UploadServer) -> None:
    one_line(run_cli(state, "send", "/nonexistent/f", "--url", server.url), 2, "no such file")


def test_too_large_is_one_line_413(state: Path, tmp_path: Path) -> None:
    src = random_file(tmp_path / "f", 5000)
    with running_server(tmp_path / "data", "--max-size", "1000") as small:
        done = run_cli(state, "send", str(src), "--url", small.url)
    one_line(done, 1, "HTTP 413")


def test_checksum_mismatch_is_one_line_460(
    server: UploadServer, state: Path, tmp_path: Path
) -> None:
    src = random_file(tmp_path / "f", 5000)
    with corrupting_proxy(server.port) as port:
        url = f"http://127.0.0.1:{port}/files/"
        done = run_cli(state, "send", str(src), "--url", url, "--checksum", "sha256")
    one_line(done, 1, "HTTP 460", "checksum")


@pytest.mark.slow
def test_server_killed_and_restarted_during_send_is_retried(state: Path, tmp_path: Path) -> None:
    src = random_file(tmp_path / "big.bin", 200 * MiB)
    port = free_port()
    srv = UploadServer(tmp_path / "data", ("--expire-after", "1h"), port=port).start()
    proc = subprocess.Popen(
        [*CLI, "send", str(src), "--url", srv.url, "--chunk-size", "1MiB", "--quiet"],
        cwd=ROOT,
        env=cli_env(state),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not stored_urls(state):
            time.sleep(0.01)
        url = stored_urls(state)[0]
        while time.monotonic() < deadline and server_offset(url) == 0:
            time.sleep(0.01)
        srv.kill9()
        assert proc.poll() is None, "the send finished before the server was killed"
        time.sleep(1.0)
        srv = UploadServer(tmp_path / "data", ("--expire-after", "1h"), port=port).start()
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip() == url
        assert sha256(download(url, tmp_path / "back.bin")) == sha256(src)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        srv.stop()
