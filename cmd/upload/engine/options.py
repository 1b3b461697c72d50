"""The engine's few knobs, decided by whoever wires it (the CLI, an embedding app, a test)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EngineOptions:
    max_size: int | None = None
    """Largest upload in bytes; None for no limit."""
    expire_after: float = 24 * 3600.0
    """Seconds an unfinished upload lives after its last append; 0 never expires."""
    lock_timeout: float = 5.0
    """How long a request waits for a busy upload before it is refused (Locked)."""
    settle_timeout: float = 1.0
    """How long a status request waits for a running append to let go."""
