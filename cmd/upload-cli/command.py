"""What a sub-command is: its help, its flags, and what it runs with the shared context."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from .report import Reporter
from .retry import Backoff


@dataclass(frozen=True)
class Context:
    """Built once per run from the common flags (`--quiet`, `--json`, `--state-dir`, ...)."""

    reporter: Reporter
    http: httpx.AsyncClient
    state_dir: Path
    backoff: Backoff


@dataclass(frozen=True)
class Command:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Context], Awaitable[int]]
    description: str = ""
    common: bool = True
    """Takes the common flags itself (the generated commands take them per method)."""
