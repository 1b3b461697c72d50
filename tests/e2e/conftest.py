"""End-to-end fixtures: real `upload` processes, real clients, byte-for-byte checks.

Every server here is started by the test that uses it (its own data directory, an
ephemeral port on 127.0.0.1) and ended by its PID. tus-js-client is installed by
`npm ci` from tests/e2e/js/package-lock.json into tests/e2e/js/node_modules, only
when that directory is missing or was installed from another lock file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from tests.servers import UploadServer, skip_or_fail

JS_DIR = Path(__file__).resolve().parent / "js"
LOCK_HASH = JS_DIR / "node_modules" / ".lock-hash"


class MakeServer(Protocol):
    def __call__(self, data_dir: Path | None = None, *args: str, port: int = 0) -> UploadServer: ...


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[MakeServer]:
    """Start `upload` processes for one test; every one is stopped (by PID) at its end.

    Extra flags replace the default `--expire-after 1h`; `port` pins the port.
    """
    started: list[UploadServer] = []

    def make(data_dir: Path | None = None, *args: str, port: int = 0) -> UploadServer:
        data = data_dir or tmp_path / "data"
        data.mkdir(parents=True, exist_ok=True)
        server = UploadServer(data, args or ("--expire-after", "1h"), port=port)
        started.append(server)
        try:
            return server.start()
        except (TimeoutError, RuntimeError) as exc:
            pytest.fail(f"upload server did not start: {exc}\n{server.log()[-3000:]}")

    try:
        yield make
    finally:
        for server in started:
            server.stop()


def _lock_digest() -> str:
    return hashlib.sha256((JS_DIR / "package-lock.json").read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def tus_js() -> Path:
    """tests/e2e/js with tus-js-client installed; returns the directory of upload.mjs."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        skip_or_fail("node/npm not installed: tus-js-client cannot run")
    digest = _lock_digest()
    stamp = LOCK_HASH.read_text().strip() if LOCK_HASH.exists() else ""
    package = JS_DIR / "node_modules" / "tus-js-client" / "package.json"
    if stamp != digest or not package.exists():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=JS_DIR, capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "npm_config_update_notifier": "false"},
        )  # fmt: skip
        if done.returncode != 0:
            skip_or_fail(f"npm ci failed in {JS_DIR}: {done.stderr.strip()[-800:]}")
        LOCK_HASH.write_text(digest + "\n")
    return JS_DIR
