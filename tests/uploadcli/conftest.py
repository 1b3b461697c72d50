"""`upload-cli` against real `upload` processes: each CLI run is a subprocess with its own
state directory; servers are started per module (or per test) and ended by PID."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ROOT, UploadServer

CLI = [sys.executable, "-m", "tuskit.uploadcli.main"]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def random_file(path: Path, size: int) -> Path:
    """`size` random bytes, written in blocks."""
    with path.open("wb") as f:
        left = size
        while left:
            n = min(left, 8 << 20)
            f.write(os.urandom(n))
            left -= n
    return path


def cli_env(state: Path) -> dict[str, str]:
    env = {**os.environ, "UPLOAD_CLI_STATE_DIR": str(state), "COLUMNS": "100"}
    env.pop("PYTHONPATH", None)
    return env


def run_cli(
    state: Path, *args: str, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd or ROOT,
        env=cli_env(state),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UploadServer]:
    """One server with the defaults (tus, IETF, streams, sessions)."""
    data = tmp_path_factory.mktemp("cli-server") / "data"
    srv = UploadServer(data, ("--expire-after", "1h")).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"
