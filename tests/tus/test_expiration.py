"""tus expiration: Upload-Expires on unfinished uploads; expired uploads answer 410 and go."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from tests.servers import UploadServer, running_server
from tests.tus.conftest import TUS, create, patch

OFFSET_STREAM = "application/offset+octet-stream"
IMF_FIXDATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$"
)


def expires_in(value: str | None) -> float:
    """Seconds from now until an RFC 9110 date; asserts the format."""
    assert value is not None, "Upload-Expires missing"
    assert IMF_FIXDATE.match(value), value
    when = parsedate_to_datetime(value)
    return (when - datetime.now(UTC)).total_seconds()


def files_naming(data_dir: Path, upload_id: str) -> list[Path]:
    """Files and folders whose name contains the id, outside .state and .locks."""
    found = []
    for p in data_dir.rglob("*"):
        rel = p.relative_to(data_dir)
        if rel.parts[0] in (".state", ".locks"):
            continue
        if upload_id in p.name:
            found.append(rel)
    return found


# -- Upload-Expires on the normal server (--expire-after 1h) ---------------------------


def test_post_of_an_unfinished_upload_has_upload_expires(http: httpx.Client) -> None:
    r = http.post("", headers={**TUS, "Upload-Length": "10"})
    assert r.status_code == 201
    left = expires_in(r.headers.get("Upload-Expires"))
    assert 3600 - 120 < left <= 3600 + 5, left
    head = http.head(r.headers["Location"], headers=TUS)
    assert 3600 - 120 < expires_in(head.headers.get("Upload-Expires")) <= 3600 + 5


def test_patch_of_an_unfinished_upload_has_upload_expires(http: httpx.Client) -> None:
    url = create(http, 10)
    r = patch(http, url, 0, b"abc")
    assert r.status_code == 204
    assert 0 < expires_in(r.headers.get("Upload-Expires")) <= 3600 + 5


def test_complete_upload_has_no_upload_expires(http: httpx.Client) -> None:
    url = create(http, 6)
    r = patch(http, url, 0, b"abcdef")
    assert r.status_code == 204
    assert "Upload-Expires" not in r.headers
    assert "Upload-Expires" not in http.head(url, headers=TUS).headers


def test_creation_with_the_whole_body_has_no_upload_expires(http: httpx.Client) -> None:
    r = http.post(
        "",
        content=b"abcdef",
        headers={**TUS, "Upload-Length": "6", "Content-Type": OFFSET_STREAM},
    )
    assert r.status_code == 201
    assert r.headers["Upload-Offset"] == "6"
    assert "Upload-Expires" not in r.headers


def test_deferred_length_upload_has_upload_expires(http: httpx.Client) -> None:
    r = http.post("", headers={**TUS, "Upload-Defer-Length": "1"})
    assert r.status_code == 201
    assert expires_in(r.headers.get("Upload-Expires")) > 0


# -- a server whose uploads expire after one second ------------------------------------


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UploadServer]:
    data = tmp_path_factory.mktemp("short")
    with running_server(data, "--expire-after", "1s", "--sweep-interval", "0.2s") as srv:
        yield srv


def poll(check: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return bool(check())  # type: ignore[operator]


def test_expired_upload_is_gone_and_its_file_removed(short: UploadServer) -> None:
    with httpx.Client(base_url=short.url, timeout=10.0) as client:
        unfinished = create(client, 10)
        assert patch(client, unfinished, 0, b"abc").status_code == 204
        finished = create(client, 3)
        assert patch(client, finished, 0, b"xyz").status_code == 204
        upload_id = unfinished.rsplit("/", 1)[-1]
        assert files_naming(short.data_dir, upload_id), "data file expected while active"

        head = client.head(unfinished, headers=TUS)
        assert head.status_code == 200  # not yet

        assert poll(lambda: client.head(unfinished, headers=TUS).status_code == 410, 4.0), (
            client.head(unfinished, headers=TUS).status_code
        )
        assert poll(lambda: not files_naming(short.data_dir, upload_id), 3.0), files_naming(
            short.data_dir, upload_id
        )
        r = patch(client, unfinished, 3, b"def")
        assert r.status_code == 410, r.text
        assert r.headers.get("Tus-Resumable") == "1.0.0"
        assert client.head(unfinished, headers=TUS).status_code == 410

        # a complete upload never expires
        head = client.head(finished, headers=TUS)
        assert head.status_code == 200
        assert head.headers["Upload-Offset"] == "3"
        assert client.get(finished).content == b"xyz"


def test_patch_pushes_the_expiry_back(short: UploadServer) -> None:
    with httpx.Client(base_url=short.url, timeout=10.0) as client:
        url = create(client, 100)
        for offset in range(0, 4):
            time.sleep(0.6)
            r = patch(client, url, offset, b"a")
            assert r.status_code == 204, (offset, r.status_code, r.text)
        assert client.head(url, headers=TUS).status_code == 200


def test_never_existing_upload_is_404_not_410(short: UploadServer) -> None:
    with httpx.Client(base_url=short.url, timeout=10.0) as client:
        url = short.url + secrets.token_hex(16)
        assert client.head(url, headers=TUS).status_code == 404
        assert patch(client, url, 0, b"a").status_code == 404
