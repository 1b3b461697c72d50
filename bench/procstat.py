"""Server CPU and memory, read from /proc for the served process and its descendants."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

_TICK = float(os.sysconf("SC_CLK_TCK"))


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; everything after its ')' is fixed.
    return raw[raw.rindex(")") + 2 :].split()


def descendants(pid: int) -> list[int]:
    """pid and every live descendant (a server may fork a worker)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime (+ reaped children's) of pid and its live descendants."""
    total = 0.0
    for p in descendants(pid):
        fields = _stat_fields(p)
        if fields is not None:
            # Fields 14-17 of /proc/PID/stat: utime stime cutime cstime; index 0 is field 3.
            total += sum(int(x) for x in fields[11:15]) / _TICK
    return total


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class Memory:
    rss_bytes: int
    peak_rss_bytes: int  # VmHWM: the peak over each process's lifetime


def memory(pid: int) -> Memory:
    pids = descendants(pid)
    return Memory(
        rss_bytes=sum(_status_kib(p, "VmRSS") for p in pids) * 1024,
        peak_rss_bytes=sum(_status_kib(p, "VmHWM") for p in pids) * 1024,
    )


def dirty_bytes() -> int:
    """Dirty + Writeback page-cache bytes, machine-wide (/proc/meminfo)."""
    total = 0
    with open("/proc/meminfo") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Dirty", "Writeback"):
                total += int(rest.split()[0]) * 1024
    return total


def quiet_disk(limit: int = 8 << 20, timeout: float = 10.0) -> None:
    """Start every measurement on a quiet disk: flush what earlier runs (and the removal
    of their data dirs) left behind, so no target pays for another one's writes."""
    os.sync()
    deadline = time.monotonic() + timeout
    while dirty_bytes() > limit and time.monotonic() < deadline:
        time.sleep(0.1)
