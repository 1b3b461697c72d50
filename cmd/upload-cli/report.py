"""What the user sees: a progress bar (rich: bytes, rate, ETA; only when stderr is a
terminal) and messages on stderr, the results on stdout; `--quiet` prints only results,
`--json` prints JSON lines for scripts (`{"event": "progress" | "resume" | "retry" |
"done", ...}`)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Literal

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

Mode = Literal["bar", "quiet", "json"]
JSON_EVERY = 0.25
"""Seconds between two JSON progress lines of one transfer."""


class Reporter:
    """One per command run; `with Reporter(mode):` shows and finally clears the bar."""

    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self._progress: Progress | None = None
        self._started = False
        self._json: dict[int, list[Any]] = {}
        """Per JSON task: [name, done, total, last emit time]."""
        console = Console(stderr=True)
        if mode == "bar" and console.is_terminal:  # no bar drawn into a log file
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=console,
            )

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._progress is not None and self._started:
            self._progress.stop()
            self._started = False

    def emit(self, event: str, **fields: Any) -> None:
        """One JSON line on stdout (JSON mode only)."""
        if self.mode == "json":
            print(json.dumps({"event": event, **fields}, sort_keys=True), flush=True)

    def say(self, message: str, event: str | None = None, **fields: Any) -> None:
        """A message for a person (stderr), or its JSON event."""
        if self.mode == "json":
            if event is not None:
                self.emit(event, **fields)
        elif self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False)
        elif self.mode == "bar":
            print(message, file=sys.stderr, flush=True)

    def result(self, text: str, event: str = "done", **fields: Any) -> None:
        """A finished item's result (its URL) on stdout, in every mode."""
        if self.mode == "json":
            self.emit(event, **fields)
        else:
            print(text, flush=True)

    def task(self, name: str, total: int | None, done: int = 0) -> int:
        if self._progress is not None:
            if not self._started:  # on the first transfer: commands without one show no bar
                self._progress.start()
                self._started = True
            return int(self._progress.add_task(name, total=total, completed=done))
        key = len(self._json)
        self._json[key] = [name, done, total, 0.0]
        return key

    def advance(self, task: int, n: int) -> None:
        if self._progress is not None:
            self._progress.advance(TaskID(task), n)
            return
        state = self._json[task]
        state[1] += n
        now = time.monotonic()
        if self.mode == "json" and (now - state[3] >= JSON_EVERY or state[1] == state[2]):
            state[3] = now
            self.emit("progress", file=state[0], offset=state[1], size=state[2])

    def set(self, task: int, done: int) -> None:
        """Jump to `done` (after the server said where it stands)."""
        if self._progress is not None:
            self._progress.update(TaskID(task), completed=done)
        else:
            self._json[task][1] = done

    def error(self, line: str) -> None:
        """The one line of a failure (stderr, every mode)."""
        self._stop()
        print(f"upload-cli: {line}", file=sys.stderr, flush=True)
