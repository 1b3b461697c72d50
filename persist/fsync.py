"""When committed upload bytes are forced to stable storage (`--fsync` on the CLI).

`patch` (the default) fsyncs on every commit, so an acknowledged PATCH survives power
loss. `never` leaves it to the kernel: a process crash loses nothing, an OS crash may
lose recent bytes; the next writer finds the file short and the offset is lowered to
what is on disk, and after a reboot a background walk checks every record
(persist/recovery.py). `interval:5s` fsyncs an upload's file on commit at most once per
interval: a middle ground for many small PATCHes.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class FsyncMode(enum.StrEnum):
    PATCH = "patch"
    NEVER = "never"
    INTERVAL = "interval"


_INTERVAL = re.compile(r"^interval:(?P<num>\d+(?:\.\d+)?)(?P<unit>ms|s|m)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0}


@dataclass(frozen=True, slots=True)
class FsyncPolicy:
    """A parsed `--fsync` value; `due` tells a commit whether to fsync now."""

    mode: FsyncMode = FsyncMode.PATCH
    interval: float = 0.0

    def __post_init__(self) -> None:
        if self.mode is FsyncMode.INTERVAL and not self.interval > 0:
            raise ValueError("fsync interval must be positive")
        if self.mode is not FsyncMode.INTERVAL and self.interval:
            raise ValueError(f"fsync mode {self.mode.value!r} takes no interval")

    @classmethod
    def parse(cls, text: str) -> FsyncPolicy:
        """Parse "patch", "never" or "interval:<n>[ms|s|m]" (seconds by default)."""
        value = text.strip().lower()
        if value == FsyncMode.PATCH.value:
            return cls(FsyncMode.PATCH)
        if value == FsyncMode.NEVER.value:
            return cls(FsyncMode.NEVER)
        match = _INTERVAL.match(value)
        if match is None:
            raise ValueError(
                f"invalid fsync policy {text!r}: expected 'patch', 'never' or "
                "'interval:<n>[ms|s|m]' (for example 'interval:5s')"
            )
        seconds = float(match["num"]) * _UNITS[match["unit"] or "s"]
        if seconds <= 0:
            raise ValueError(f"invalid fsync policy {text!r}: the interval must be positive")
        return cls(FsyncMode.INTERVAL, seconds)

    def due(self, last_sync: float | None, now: float) -> bool:
        """Should a commit at `now` fsync, given this file's previous fsync time?"""
        if self.mode is FsyncMode.PATCH:
            return True
        if self.mode is FsyncMode.NEVER:
            return False
        return last_sync is None or now - last_sync >= self.interval

    @property
    def relaxed(self) -> bool:
        """True when a commit may be acknowledged before its bytes are on disk, so an OS
        crash can leave a record promising more than its file holds."""
        return self.mode is not FsyncMode.PATCH

    @property
    def ever(self) -> bool:
        """False only for `never`: creation and concatenation fsync unless told not to."""
        return self.mode is not FsyncMode.NEVER

    def __str__(self) -> str:
        if self.mode is FsyncMode.INTERVAL:
            return f"interval:{self.interval:g}s"
        return self.mode.value


PATCH = FsyncPolicy(FsyncMode.PATCH)
NEVER = FsyncPolicy(FsyncMode.NEVER)
