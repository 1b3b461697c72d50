"""Where interrupted uploads are remembered: one small JSON file per kind, keyed by a file
fingerprint, like tuspy's and tus-js-client's URL storage.

The directory is `--state-dir`, else `$UPLOAD_CLI_STATE_DIR`, else
`$XDG_STATE_HOME/upload-cli`, else `~/.local/state/upload-cli`. Writes replace the file
atomically (write, fsync, rename), so a Ctrl-C never leaves half a file, and each change
(read, modify, write) holds a lock on a file beside it, so two `upload-cli` processes
sending different files never drop each other's records.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def state_dir(explicit: str | None = None) -> Path:
    if explicit:
        return Path(explicit)
    if env := os.environ.get("UPLOAD_CLI_STATE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "upload-cli"


def fingerprint(path: Path, endpoint: str, *extra: object) -> str:
    """Same file (absolute path, size, mtime), same endpoint, same options: same upload."""
    st = path.stat()
    parts = [str(path.resolve()), str(st.st_size), str(st.st_mtime_ns), endpoint, *map(str, extra)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


class Store:
    """A JSON object on disk: fingerprint -> record (a dict of plain values)."""

    def __init__(self, directory: Path, name: str) -> None:
        self.path = directory / f"{name}.json"

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> dict[str, Any] | None:
        record = self._load().get(key)
        return record if isinstance(record, dict) else None

    def all(self) -> dict[str, Any]:
        return self._load()

    def put(self, key: str, record: dict[str, Any]) -> None:
        with self._changing():
            data = self._load()
            data[key] = record
            self._save(data)

    def forget(self, key: str) -> None:
        with self._changing():
            data = self._load()
            if data.pop(key, None) is not None:
                self._save(data)

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        """One change at a time across processes (flock on `.NAME.lock`)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(f".{self.path.name}.lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _save(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with tmp.open("w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.path)
