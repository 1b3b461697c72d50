"""What a start owes the data dir, remembered per data dir: so recovery does only what an
earlier run can have left inconsistent, and nothing after a clean stop.

- **The orphan sweep** (data files without an active record) is owed after a run that
  did not stop cleanly: orphans come from a crash between writing an upload's first bytes
  and its record, or between a tombstone and deleting its bytes. Each running process
  keeps a marker `runs/<boot>-<pid>` and removes it when it stops cleanly; a start that
  finds the marker of a process that is gone (another boot, or no such pid) owes a sweep.
- **The walk over every record** (offsets against file sizes) is owed when bytes may
  have been lost. Under `--fsync patch` a commit is on disk before its offset is
  recorded, so no crash, not even a power cut, leaves a record promising bytes its file
  lacks. Under `never` or `interval` a process crash loses nothing either (the page cache
  outlives the process); only the machine going down can. So the walk is owed when the
  boot changed since a run that used a relaxed policy.

`<state dir>/durability.json` holds `{"boot_id", "relaxed", "walk_owed", "sweep_owed"}`:
the boot the data dir was last used in, whether a run in that boot used a relaxed
policy, and what is still owed (work cut short by a stop stays owed). A data dir without
it (new, or from before marks existed) owes a sweep, and a walk under a relaxed policy.
Everything is read and written under a flock of `durability.lock` (workers and servers
may share the data dir) and written durably: a relaxed run's mark must be on disk
before the run writes bytes. Where the system gives no boot id, every start after a
relaxed run walks.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
MARK = "durability.json"
RUNS = "runs"


def current_boot() -> str | None:
    """This boot's id (Linux); None where the system does not say."""
    try:
        return BOOT_ID.read_text().strip() or None
    except OSError:
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


@dataclass(frozen=True, slots=True)
class Owed:
    walk: bool  # compare every record with its bytes
    sweep: bool  # remove data files without an active record


class DurabilityMark:
    """The mark of one state dir for one process; `boot_id` and `pid` are injectable
    (tests); `alive` decides whether another run's process still exists."""

    def __init__(
        self,
        state_dir: Path,
        *,
        boot_id: str | None = None,
        pid: int | None = None,
        alive: Any = _alive,
    ) -> None:
        self.state_dir = state_dir
        self.boot_id = current_boot() if boot_id is None else boot_id
        self.pid = os.getpid() if pid is None else pid
        self._alive = alive

    @property
    def _marker(self) -> Path:
        return self.state_dir / RUNS / f"{self.boot_id or 'unknown'}-{self.pid}"

    def begin_run(self, relaxed: bool) -> Owed:
        """Record a run starting now (with a relaxed fsync policy or not) and say what it
        owes the data dir."""
        with self._locked():
            mark = self._read()
            crashed = self._forget_dead_runs()
            if mark is None:
                owed = Owed(walk=relaxed, sweep=True)
                same_boot = False
            else:
                same_boot = self.boot_id is not None and mark.get("boot_id") == self.boot_id
                lost = not same_boot and bool(mark.get("relaxed"))
                owed = Owed(
                    walk=bool(mark.get("walk_owed")) or lost,
                    sweep=bool(mark.get("sweep_owed")) or crashed or lost,
                )
            earlier = bool(mark and same_boot and mark.get("relaxed"))
            self._write(
                {
                    "boot_id": self.boot_id,
                    "relaxed": relaxed or earlier,
                    "walk_owed": owed.walk,
                    "sweep_owed": owed.sweep,
                }
            )
            self._marker.parent.mkdir(exist_ok=True)
            self._marker.touch()
            return owed

    def end_run(self) -> None:
        """This process stops cleanly: it leaves nothing for the next start to sweep."""
        with self._locked():
            self._marker.unlink(missing_ok=True)

    def walk_done(self) -> None:
        """A walk over every record completed: none is owed until the next reboot."""
        self._settle("walk_owed")

    def sweep_done(self) -> None:
        """An orphan sweep completed: none is owed until a run stops uncleanly."""
        self._settle("sweep_owed")

    def _settle(self, key: str) -> None:
        with self._locked():
            mark = self._read() or {"boot_id": self.boot_id, "relaxed": False}
            mark[key] = False
            self._write(mark)

    def _forget_dead_runs(self) -> bool:
        """Remove the markers of runs whose process is gone; True if there were any."""
        runs = self.state_dir / RUNS
        crashed = False
        with contextlib.suppress(FileNotFoundError), os.scandir(runs) as entries:
            for entry in entries:
                boot, _, pid = entry.name.rpartition("-")
                # A marker with this process's own name was left by an earlier process
                # with the same pid (containers restart with the same pids).
                ours = entry.name == self._marker.name
                this_boot = boot == (self.boot_id or "unknown")
                if not ours and this_boot and pid.isdigit() and self._alive(int(pid)):
                    continue
                crashed = True
                os.unlink(entry.path)
        return crashed

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
