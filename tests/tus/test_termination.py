"""tus termination: DELETE ends an upload, its bytes are removed, later requests get 410."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from tests.tus.conftest import TUS, create, patch


def upload_id(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def test_delete_is_204_then_everything_is_410(http: httpx.Client) -> None:
    url = create(http, 10)
    assert patch(http, url, 0, b"abc").status_code == 204
    r = http.delete(url, headers=TUS)
    assert r.status_code == 204, r.text
    assert r.headers.get("Tus-Resumable") == "1.0.0"
    assert r.content == b""

    head = http.head(url, headers=TUS)
    assert head.status_code == 410
    assert head.headers.get("Tus-Resumable") == "1.0.0"
    for r in (patch(http, url, 3, b"def"), http.delete(url, headers=TUS), http.get(url)):
        assert r.status_code == 410, (r.request.method, r.status_code, r.text)
        assert r.headers.get("Tus-Resumable") == "1.0.0"
        body = r.json()
        assert body.get("code") and body.get("message"), body


def test_delete_unknown_is_404(http: httpx.Client) -> None:
    r = http.delete(f"{http.base_url}{secrets.token_hex(16)}", headers=TUS)
    assert r.status_code == 404
    assert r.json().get("code")


def test_delete_removes_the_data_file(http: httpx.Client, data_dir: Path) -> None:
    url = create(http, 1000)
    assert patch(http, url, 0, b"x" * 500).status_code == 204
    path = data_dir / upload_id(url)
    assert path.is_file() and path.stat().st_size == 500
    assert http.delete(url, headers=TUS).status_code == 204
    assert not path.exists()
    leftovers = [
        p
        for p in data_dir.rglob(f"*{upload_id(url)}*")
        if p.relative_to(data_dir).parts[0] not in (".state", ".locks")
    ]
    assert leftovers == []


def test_delete_a_complete_upload(http: httpx.Client, data_dir: Path) -> None:
    url = create(http, 3)
    assert patch(http, url, 0, b"abc").status_code == 204
    assert http.delete(url, headers=TUS).status_code == 204
    assert http.get(url).status_code == 410
    assert not (data_dir / upload_id(url)).exists()


def test_delete_does_not_touch_other_uploads(http: httpx.Client) -> None:
    keep = create(http, 3)
    assert patch(http, keep, 0, b"abc").status_code == 204
    gone = create(http, 3)
    assert http.delete(gone, headers=TUS).status_code == 204
    assert http.get(keep).content == b"abc"
