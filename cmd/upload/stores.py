"""Build the StoreComposer the settings ask for: the embedded default, or scale-out stores."""

from __future__ import annotations

from tuskit.persist import open_local
from tuskit.persist.composer import StoreComposer

from .config import Settings


async def open_stores(settings: Settings) -> StoreComposer:
    """`--store file` with SQLite state under the data dir is the default: no service."""
    if settings.store == "file" and settings.state in ("", "sqlite"):
        return open_local(settings.data_dir, fsync=settings.fsync)
    raise ValueError(
        f"unsupported store/state combination: --store {settings.store} --state {settings.state}"
    )
