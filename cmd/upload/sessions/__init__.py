"""The session adapter: chunked uploads in sessions (seed 003) on the upload engine's
assembly from parts (`engine/assembly.py`). `mount()` is what `app.mounts()` lists."""

from __future__ import annotations

from .mount import mount

__all__ = ["mount"]
