"""An upload whose bytes fell short of its record (an OS crash under a relaxed --fsync)
answers 409 with the offset the bytes support, so a client resumes instead of failing."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.tus.conftest import TUS, create, patch


def test_patch_after_lost_bytes_answers_409_with_what_survived(
    http: httpx.Client, data_dir: Path
) -> None:
    url = create(http, 20)
    assert patch(http, url, 0, b"0123456789").status_code == 204
    os.truncate(data_dir / url.rsplit("/", 1)[1], 4)  # what an OS crash may leave

    r = patch(http, url, 10, b"abcdefghij")
    assert r.status_code == 409, r.text  # was 500, on every retry
    assert r.headers["Upload-Offset"] == "4"
    assert http.head(url, headers=TUS).headers["Upload-Offset"] == "4"

    r = patch(http, url, 4, b"456789abcdefghij")
    assert r.status_code == 204 and r.headers["Upload-Offset"] == "20"
    assert http.get(url).content == b"0123456789abcdefghij"
