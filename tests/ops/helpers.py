"""Small tus requests for the operations tests."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import httpx

TUS = {"Tus-Resumable": "1.0.0"}
PATCH = {**TUS, "Content-Type": "application/offset+octet-stream"}


def metadata(**pairs: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def create(
    endpoint: str, length: int, headers: dict[str, str] | None = None, **meta: str
) -> httpx.Response:
    h = {**TUS, "Upload-Length": str(length), **(headers or {})}
    if meta:
        h["Upload-Metadata"] = metadata(**meta)
    return httpx.post(endpoint, headers=h, timeout=30)


def patch(
    url: str, offset: int, body: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    h = {**PATCH, "Upload-Offset": str(offset), **(headers or {})}
    return httpx.patch(url, content=body, headers=h, timeout=30)


def upload(endpoint: str, body: bytes, headers: dict[str, str] | None = None, **meta: str) -> str:
    """Create and fill an upload in one PATCH; returns its URL."""
    created = create(endpoint, len(body), headers, **meta)
    assert created.status_code == 201, (created.status_code, created.text)
    url = str(created.headers["Location"])
    done = patch(url, 0, body, headers)
    assert done.status_code == 204, (done.status_code, done.text)
    return url


def recorded_uploads(data_dir: Path) -> int:
    """Upload records in the embedded state store (to prove nothing was created)."""
    db = sqlite3.connect(data_dir / ".state" / "uploads.sqlite3")
    try:
        return int(db.execute("SELECT count(*) FROM uploads").fetchone()[0])
    finally:
        db.close()
