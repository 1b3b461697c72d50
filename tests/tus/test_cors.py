"""Browser access: CORS preflight, exposed tus headers, and an origin allow-list."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.servers import UploadServer, running_server
from tests.tus.conftest import TUS, create

ORIGIN = "https://app.example"
EXPOSED = [
    "Location",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Metadata",
    "Upload-Defer-Length",
    "Upload-Concat",
    "Upload-Expires",
    "Upload-Checksum",
    "Tus-Version",
    "Tus-Resumable",
    "Tus-Extension",
    "Tus-Max-Size",
]
PREFLIGHT = {
    "Access-Control-Request-Method": "PATCH",
    "Access-Control-Request-Headers": "tus-resumable,upload-offset,content-type",
}


def lower_csv(value: str | None) -> set[str]:
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


@pytest.mark.parametrize("path", ["", "upload"])
def test_preflight_allows_tus_requests(http: httpx.Client, path: str) -> None:
    target = create(http, 5) if path == "upload" else ""
    r = http.options(target, headers={"Origin": ORIGIN, **PREFLIGHT})
    assert r.status_code in (200, 204), (r.status_code, r.text)
    assert r.headers.get("Access-Control-Allow-Origin") in ("*", ORIGIN)
    methods = lower_csv(r.headers.get("Access-Control-Allow-Methods"))
    for method in ("post", "head", "patch", "delete"):
        assert method in methods or "*" in methods, methods
    allowed = lower_csv(r.headers.get("Access-Control-Allow-Headers"))
    for header in ("tus-resumable", "upload-offset", "content-type"):
        assert header in allowed or "*" in allowed, allowed


def test_preflight_for_creation_headers(http: httpx.Client) -> None:
    wanted = "tus-resumable,upload-length,upload-metadata,upload-defer-length,upload-concat"
    r = http.options(
        "",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": wanted,
        },
    )
    assert r.status_code in (200, 204), (r.status_code, r.text)
    allowed = lower_csv(r.headers.get("Access-Control-Allow-Headers"))
    for header in wanted.split(","):
        assert header in allowed or "*" in allowed, (header, allowed)


def test_simple_requests_expose_tus_headers(http: httpx.Client) -> None:
    r = http.post("", headers={**TUS, "Upload-Length": "5", "Origin": ORIGIN})
    assert r.status_code == 201
    assert r.headers.get("Access-Control-Allow-Origin") in ("*", ORIGIN)
    exposed = lower_csv(r.headers.get("Access-Control-Expose-Headers"))
    for header in EXPOSED:
        assert header.lower() in exposed, (header, exposed)
    head = http.head(r.headers["Location"], headers={**TUS, "Origin": ORIGIN})
    assert head.headers.get("Access-Control-Allow-Origin") in ("*", ORIGIN)
    assert "upload-offset" in lower_csv(head.headers.get("Access-Control-Expose-Headers"))


def test_error_responses_carry_cors_headers(http: httpx.Client) -> None:
    r = http.head(
        f"{http.base_url}0123456789abcdef0123456789abcdef", headers={**TUS, "Origin": ORIGIN}
    )
    assert r.status_code == 404
    assert r.headers.get("Access-Control-Allow-Origin") in ("*", ORIGIN)


def test_no_origin_no_cors_headers(http: httpx.Client) -> None:
    r = http.post("", headers={**TUS, "Upload-Length": "5"})
    assert r.status_code == 201
    assert "Access-Control-Allow-Origin" not in r.headers


# -- an allow-list of origins ----------------------------------------------------------


@pytest.fixture(scope="module")
def restricted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UploadServer]:
    data = tmp_path_factory.mktemp("cors")
    with running_server(data, "--cors-origins", ORIGIN) as srv:
        yield srv


def test_allow_list_accepts_the_listed_origin(restricted: UploadServer) -> None:
    with httpx.Client(base_url=restricted.url, timeout=10.0) as client:
        r = client.options("", headers={"Origin": ORIGIN, **PREFLIGHT})
        assert r.status_code in (200, 204)
        assert r.headers.get("Access-Control-Allow-Origin") == ORIGIN
        r = client.post("", headers={**TUS, "Upload-Length": "5", "Origin": ORIGIN})
        assert r.status_code == 201
        assert r.headers.get("Access-Control-Allow-Origin") == ORIGIN


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "https://app.example.evil.com", "http://app.example", "null"]
)
def test_allow_list_rejects_other_origins(restricted: UploadServer, origin: str) -> None:
    with httpx.Client(base_url=restricted.url, timeout=10.0) as client:
        r = client.options("", headers={"Origin": origin, **PREFLIGHT})
        assert r.headers.get("Access-Control-Allow-Origin") not in ("*", origin), dict(r.headers)
        r = client.post("", headers={**TUS, "Upload-Length": "5", "Origin": origin})
        assert "Access-Control-Allow-Origin" not in r.headers, dict(r.headers)
