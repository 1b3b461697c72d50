"""Whether stored bytes may have been lost since records were written: remembered per data
dir, so a start walks every record only when it has to.

Under `--fsync patch` a commit is on disk before its offset is recorded, so no crash,
not even a power cut, leaves a record promising bytes its file lacks. Under `never` or
`interval` a process crash loses nothing either (the page cache outlives the process);
only the machine going down can. So the walk over every record is owed when the boot
changed since a run that used a relaxed policy, and until a walk completes.

`<state dir>/durability.json` holds `{"boot_id", "relaxed", "walk_owed"}`: the boot the
data dir was last used in, whether any run in that boot used a relaxed policy, and
whether a walk is still owed (one cut short by a stop is owed again). Read and written
under a flock of `durability.lock`, since workers and servers may share the data dir.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
MARK = "durability.json"


def current_boot() -> str | None:
    """This boot's id (Linux); None where the system does not say."""
    try:
        return BOOT_ID.read_text().strip() or None
    except OSError:
        return None


class DurabilityMark:
    """The mark of one state dir; `boot_id` is injectable for tests."""

    def __init__(self, state_dir: Path, *, boot_id: str | None = None) -> None:
        self.state_dir = state_dir
        self.boot_id = current_boot() if boot_id is None else boot_id

    def begin_run(self, relaxed: bool) -> bool:
        """Record a run starting now (with a relaxed fsync policy or not); True when the
        records must be walked. With no mark (a data dir from before marks existed) a
        walk is owed under a relaxed policy: the last run was probably the same."""
        with self._locked():
            mark = self._read()
            if mark is None:
                owed = relaxed
                same_boot = False
            else:
                same_boot = self.boot_id is not None and mark.get("boot_id") == self.boot_id
                owed = bool(mark.get("walk_owed")) or (not same_boot and bool(mark.get("relaxed")))
            earlier = bool(mark and same_boot and mark.get("relaxed"))
            self._write({"boot_id": self.boot_id, "relaxed": relaxed or earlier, "walk_owed": owed})
            return owed

    def walk_done(self) -> None:
        """A walk over every record completed: nothing is owed until the next reboot."""
        with self._locked():
            mark = self._read() or {"boot_id": self.boot_id, "relaxed": False}
            mark["walk_owed"] = False
            self._write(mark)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_dir / "durability.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held for a read and a rename: microseconds
            yield
        finally:
            os.close(fd)

    def _read(self) -> dict[str, Any] | None:
        try:
            found = json.loads((self.state_dir / MARK).read_text())
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def _write(self, mark: dict[str, Any]) -> None:
        """Durably: a relaxed run's mark must be on disk before it writes any bytes, or a
        crash could forget that a walk is owed."""
        path = self.state_dir / MARK
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, (json.dumps(mark) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        dir_fd = os.open(self.state_dir, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
