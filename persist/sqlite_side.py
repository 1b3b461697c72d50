"""A component's own SQLite file beside the upload state (queues, read leases): opened in
WAL mode like the upload store, its schema created in one `BEGIN IMMEDIATE` and numbered
by `PRAGMA user_version`, so the upload store's migrations never see it."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path


def side_path(state_path: str | os.PathLike[str], component: str) -> Path:
    """`<dir>/uploads.<component>.sqlite3` beside the state file `<dir>/uploads.sqlite3`."""
    path = Path(state_path)
    return path.with_name(f"{path.stem}.{component}.sqlite3")


def open_side(
    path: str | os.PathLike[str], schema: str, version: int, *, busy_timeout_ms: int = 5000
) -> sqlite3.Connection:
    """An autocommit connection (used on the event loop) with `schema` in place; refuses a
    file whose schema is newer than `version`."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        with immediate(db):
            found = db.execute("PRAGMA user_version").fetchone()[0]
            if found > version:
                raise RuntimeError(f"{path} has schema {found}, newer than this code ({version})")
            for statement in schema.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {int(version)}")
    except BaseException:
        db.close()
        raise
    return db


@contextlib.contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK when the block raises: one writer at a time
    across processes, so what the block reads is what it writes over."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
