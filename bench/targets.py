"""The servers under test: how to start each one, wait for it, and stop it (by PID).

Every target listens on a free loopback port and keeps its uploads in a fresh temp dir.
A target is ready when it answers ``OPTIONS <create path>`` with a 2xx; one that exits or
never answers is skipped with the reason (the last lines of its output).

To add a target (say tusd, or our server with other flags), add a ``TargetSpec`` to
``all_targets``; the scenarios only need ``create_path`` and the running port.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import procstat

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
NODE_CACHE = BENCH / ".cache" / "node"
NODE_PACKAGES = ("@tus/server@2", "@tus/file-store@2")
HOST = "127.0.0.1"


class TargetUnavailable(Exception):
    """The target cannot run here; the message says why (shown in the report)."""


@dataclass(frozen=True)
class TargetSpec:
    name: str  # short id used on the command line and in tables
    label: str  # human name for the report
    create_path: str  # where POST creates an upload
    argv: Callable[[int, Path], list[str]]  # (port, data dir) -> command line
    prepare: Callable[[], None] = lambda: None  # raises TargetUnavailable
    env: dict[str, str] = field(default_factory=dict)
    # --preload: a fixed, preloaded data dir (kept, never emptied) instead of a fresh one
    data_dir: Path | None = None
    ready_timeout: float = 20.0
    reset: Callable[[], None] = lambda: None  # before every start (an empty store's state)
    probe_path: str = ""  # HEAD once ready: the first request that reads upload state
    settle_log: str = ""  # then wait for this line in the log (background recovery done)
    settle_timeout: float = 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _uvicorn_env() -> dict[str, str]:
    return {"PYTHONPATH": str(REPO)}


def sink_spec() -> TargetSpec:
    def argv(port: int, _data: Path) -> list[str]:
        return [
            sys.executable, "-m", "uvicorn", "bench.sink:app",
            "--host", HOST, "--port", str(port), "--workers", "1",
            "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning", "--app-dir", str(REPO),
        ]  # fmt: skip

    return TargetSpec("sink", "bare ASGI sink", "/files/", argv, env=_uvicorn_env())


def ours_spec(
    command: str, extra_args: Sequence[str], name: str = "ours", label: str = "tuskit (ours)"
) -> TargetSpec:
    """Our server; a second instance with other flags is ``ours_spec(cmd, flags, "ours-s3")``."""

    def prepare() -> None:
        if not Path(command).exists() and shutil.which(command) is None:
            raise TargetUnavailable(f"{command} not found (our server is not installed yet)")

    def argv(port: int, data: Path) -> list[str]:
        return [
            command, "--host", HOST, "--port", str(port),
            "--data-dir", str(data), "--base-path", "/files/", *extra_args,
        ]  # fmt: skip

    return TargetSpec(name, label, "/files/", argv, prepare)


def install_tus_node() -> Path:
    """npm-install @tus/server + @tus/file-store into bench/.cache/node (once)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise TargetUnavailable("node/npm not found: @tus/server skipped")
    modules = NODE_CACHE / "node_modules"
    if (modules / "@tus" / "server").is_dir() and (modules / "@tus" / "file-store").is_dir():
        return modules
    NODE_CACHE.mkdir(parents=True, exist_ok=True)
    package_json = NODE_CACHE / "package.json"
    if not package_json.exists():
        package_json.write_text('{"private": true, "name": "tusbench-node", "type": "module"}\n')
    print(f"installing {' '.join(NODE_PACKAGES)} into {NODE_CACHE} ...", flush=True)
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *NODE_PACKAGES],
        cwd=NODE_CACHE, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise TargetUnavailable(f"npm install failed: {done.stderr.strip()[-500:]}")
    return modules


def tus_node_spec() -> TargetSpec:
    def argv(port: int, data: Path) -> list[str]:
        return [
            "node", str(BENCH / "tus-node-server.mjs"),
            "--modules", str(NODE_CACHE / "node_modules"),
            "--host", HOST, "--port", str(port), "--dir", str(data),
        ]  # fmt: skip

    def prepare() -> None:
        install_tus_node()

    return TargetSpec("tus-node", "@tus/server (node)", "/files", argv, prepare)


def all_targets(ours_command: str, ours_args: Sequence[str]) -> list[TargetSpec]:
    return [ours_spec(ours_command, ours_args), sink_spec(), tus_node_spec()]


def _options(port: int, path: str) -> list[str] | None:
    """The Tus-Extension list when OPTIONS answers 2xx, else None."""
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as s:
            s.sendall(
                f"OPTIONS {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                "Tus-Resumable: 1.0.0\r\nConnection: close\r\n\r\n".encode()
            )
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                data = s.recv(65536)
                if not data:
                    break
                head += data
    except OSError:
        return None
    if not (head.startswith(b"HTTP/1.1 2") or head.startswith(b"HTTP/1.0 2")):
        return None
    for line in head.decode("latin-1").split("\r\n"):
        if line.lower().startswith("tus-extension:"):
            return [e.strip() for e in line.split(":", 1)[1].split(",")]
    return []


def _head(port: int, path: str) -> int | None:
    """The status of ``HEAD path`` (any answer counts), or None without one."""
    try:
        with socket.create_connection((HOST, port), timeout=5.0) as s:
            s.sendall(
                f"HEAD {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                "Tus-Resumable: 1.0.0\r\nConnection: close\r\n\r\n".encode()
            )
            head = s.recv(65536)
    except OSError:
        return None
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


class RunningTarget:
    """One started server process; ``stop()`` ends it by PID and empties its large files.

    Start-up is timed from the process start: ``ready_s`` to the first OPTIONS answer,
    ``first_head_s`` to the first answered HEAD (with ``probe_path``), ``settled_s`` until
    the log shows ``settle_log`` (background recovery finished)."""

    def __init__(self, spec: TargetSpec, scratch: Path) -> None:
        self.spec = spec
        self.port = free_port()
        scratch.mkdir(parents=True, exist_ok=True)
        spec.reset()
        if spec.data_dir is not None:
            self.data_dir = spec.data_dir
            self.log_path = scratch / f"{spec.name}-{self.port}.log"
        else:
            self.data_dir = Path(tempfile.mkdtemp(prefix=f"{spec.name}-", dir=scratch))
            self.log_path = self.data_dir.with_suffix(".log")
        self._log = self.log_path.open("wb")
        env = {**os.environ, **spec.env}
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            spec.argv(self.port, self.data_dir),
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=REPO, start_new_session=True,
        )  # fmt: skip
        self.pid = self.proc.pid
        deadline = time.monotonic() + spec.ready_timeout
        while (extensions := _options(self.port, spec.create_path)) is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                why = "exited" if self.proc.poll() is not None else "did not answer OPTIONS"
                tail = self.log_tail()
                self.stop()
                raise TargetUnavailable(f"{spec.label} {why} on port {self.port}: {tail}")
            time.sleep(0.01 if spec.probe_path else 0.05)
        self.ready_s = time.monotonic() - self.started
        self.extensions = extensions
        self.first_head_s: float | None = None
        if spec.probe_path and _head(self.port, spec.probe_path) is not None:
            self.first_head_s = time.monotonic() - self.started
        self.settled_s: float | None = None
        if spec.settle_log:
            self.settled_s = self._wait_for_log(spec.settle_log, spec.settle_timeout)

    def _wait_for_log(self, line: str, timeout: float) -> float | None:
        """Seconds since the start until `line` shows in the log; None after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            self._log.flush()
            if line in self.log_path.read_text(errors="replace"):
                return time.monotonic() - self.started
            time.sleep(0.05)
        return None

    def log_tail(self, lines: int = 5) -> str:
        self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:]) or "(no output)"

    def cpu_seconds(self) -> float:
        return procstat.cpu_seconds(self.pid)

    def memory(self) -> procstat.Memory:
        return procstat.memory(self.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        if self.spec.data_dir is None:
            _free_space_keep_inodes(self.data_dir)
        self.log_path.unlink(missing_ok=True)


def _free_space_keep_inodes(data_dir: Path) -> None:
    """Empty large files now (disk space), but delete nothing until the run ends.

    ext4 skips inodes deleted in the last minutes when it allocates new ones, checking
    each on the way: removing a run's thousands of files just before the next run made
    that run's file creations measurably slower (and slower again each round), whichever
    target it was. The runner removes the whole scratch dir at the end.
    """
    for path in data_dir.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_size > (1 << 20):
                os.truncate(path, 0)
        except OSError:
            pass
