"""Bad values and unreachable hooks, key files or brokers stop `upload` before it
serves: exit status 2, one line naming the flag, no traceback, no credentials."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT, free_port
from tuskit.upload.main import main

USAGE = {"ftp://x", "pre-create,post-nothing", "xml", "/"}  # bad values: exit 2 (argparse)

pytestmark = [pytest.mark.timeout(120)]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tuskit.upload.main", "--port", str(free_port()),
         "--data-dir", str(tmp_path / "data"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--hooks-http", "http://127.0.0.1:{port}/hooks"), "--hooks-http: cannot reach"),
        (("--hooks-http", "ftp://x"), "--hooks-http: must start with http:// or https://"),
        (("--hooks-python", "no_such_module_xyz:Hooks"), "--hooks-python: cannot import"),
        (
            ("--hooks-python", "tests.ops.pyhooks:Nope"),
            "--hooks-python: 'tests.ops.pyhooks' has no",
        ),
        (
            ("--hooks-enabled-events", "pre-create,post-nothing"),
            "unknown hook event 'post-nothing'",
        ),
        (("--auth-jwt-jwks", "/nonexistent/jwks.json"), "--auth-jwt-jwks: cannot use JWKS file"),
        (("--events-nats", "nats://127.0.0.1:{port}"), "--events-nats: cannot reach NATS"),
        (
            ("--events-amqp", "amqp://guest:pw-not-shown@127.0.0.1:{port}/"),
            "--events-amqp: cannot reach",
        ),
        (("--log-format", "xml"), "--log-format: Input should be 'text' or 'json'"),
        (("--metrics-path", "/"), "--metrics-path: the metrics need a path of their own"),
    ],
)
def test_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], expected: str
) -> None:
    """In-process (`main` exits before starting uvicorn), so each case costs no start-up."""
    closed = free_port()  # nothing listens here
    argv = ["--port", str(free_port()), "--data-dir", str(tmp_path / "data")]
    with pytest.raises(SystemExit) as exited:
        main([*argv, *(a.format(port=closed) for a in args)])
    assert exited.value.code == (2 if args[-1] in USAGE else 1)  # 1: cannot start
    stderr = capsys.readouterr().err
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("upload: error: ") and expected in lines[0], lines[0]
    assert "pw-not-shown" not in stderr


def test_a_real_process_exits_1_without_a_traceback(tmp_path: Path) -> None:
    done = run(tmp_path, "--hooks-http", f"http://127.0.0.1:{free_port()}/hooks")
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("upload: error: --hooks-http: cannot reach")
