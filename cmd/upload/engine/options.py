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
    stall_timeout: float = 2.0
    """A running append that has brought no bytes for this long is stalled: a competing
    append may take the upload over. A healthy one is never interrupted by others."""
    idle_timeout: float = 60.0
    """A body that brings no bytes for this long is ended, keeping what arrived; 0 never."""
    max_metadata_size: int = 16 * 1024
    """Most bytes of metadata (keys and values, UTF-8) one upload may carry."""
    max_concat_parts: int = 100
    """Most partial uploads one final upload may join: naming one partial many times
    would otherwise turn a small request into many times its bytes written."""
    checkpoint_every: int = 64 * 1024 * 1024
    """During a long body, record the durable prefix every this many bytes (where the
    byte store can), so a crash loses at most one window; 0 records only at the end."""
    settle_timeout: float = 1.0
    """How long a status request waits for a stalled append of this process to let go and
    record what it received (a healthy one is not waited for: the status is then the
    recorded offset)."""
    remote_settle_timeout: float = 0.25
    """The same for an append run by another process or instance, whose health this
    process cannot see: it is asked to let go if stalled, and waited for this long."""
