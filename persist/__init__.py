"""Storage for uploads: where bytes go, where upload state goes, and locks.

`open_local(data_dir)` builds the embedded default: files for bytes, SQLite for state,
flock for locks. Other setups build a `StoreComposer` from their own stores.
"""

from __future__ import annotations

import os
from pathlib import Path

from .composer import StoreComposer
from .filestore import FileByteStore, FileChunkWriter
from .fsync import FsyncMode, FsyncPolicy
from .locks import FileLocker, ProcessLocker
from .memory import MemoryMetadataStore
from .model import UploadInfo, UploadState
from .protocols import (
    ByteStore,
    ChunkWriter,
    Concatenator,
    ContentReader,
    HeldLock,
    Inventory,
    Locker,
    LockTimeout,
    MetadataStore,
    ReleaseRequest,
    StoreError,
    Terminator,
    UploadExists,
    UploadNotFound,
)
from .recovery import BackgroundRecovery, RecoveryReport, recover
from .sqlite import SqliteMetadataStore
from .sqlite_assemblies import SqliteAssemblyStore, sessions_path

STATE_FILE = Path(".state") / "uploads.sqlite3"


def open_local(
    data_dir: str | os.PathLike[str],
    fsync: FsyncPolicy | str = "patch",
    state: str | os.PathLike[str] | None = None,
) -> StoreComposer:
    """Files in `data_dir`, SQLite at `state` (default `<data_dir>/.state/uploads.sqlite3`),
    flock-based locks in `<data_dir>/.locks`, assemblies (session uploads) in SQLite
    beside the state (`uploads.sessions.sqlite3`). `fsync` is a policy or its CLI string."""
    policy = FsyncPolicy.parse(fsync) if isinstance(fsync, str) else fsync
    root = Path(data_dir)
    state_path = root / STATE_FILE if state is None else Path(state)
    return StoreComposer(
        FileByteStore(root, policy),
        SqliteMetadataStore(state_path),
        FileLocker(root),
        SqliteAssemblyStore(sessions_path(state_path)),
    )


__all__ = [
    "BackgroundRecovery",
    "ByteStore",
    "ChunkWriter",
    "Concatenator",
    "ContentReader",
    "FileByteStore",
    "FileChunkWriter",
    "FileLocker",
    "FsyncMode",
    "FsyncPolicy",
    "HeldLock",
    "Inventory",
    "LockTimeout",
    "Locker",
    "MemoryMetadataStore",
    "MetadataStore",
    "ProcessLocker",
    "RecoveryReport",
    "ReleaseRequest",
    "SqliteMetadataStore",
    "StoreComposer",
    "StoreError",
    "Terminator",
    "UploadExists",
    "UploadInfo",
    "UploadNotFound",
    "UploadState",
    "open_local",
    "recover",
]
