from __future__ import annotations

import pytest

from tuskit.upload.web.urls import RequestOrigin, external_base, id_from_url


def test_location_uses_host_unless_proxy_is_trusted() -> None:
    origin = RequestOrigin("up.local:8080", forwarded="host=cdn.example;proto=https")
    assert external_base(origin, "/files/", behind_proxy=False) == "http://up.local:8080/files/"
    assert external_base(origin, "/files/", behind_proxy=True) == "https://cdn.example/files/"


def test_x_forwarded_headers_and_prefix() -> None:
    origin = RequestOrigin(
        "internal:1",
        x_forwarded_host="a.example, b",
        x_forwarded_proto="https",
        x_forwarded_prefix="/api",
    )
    assert external_base(origin, "/files/", behind_proxy=True) == "https://a.example/api/files/"


def test_hostile_values_never_reach_location() -> None:
    origin = RequestOrigin(
        "ok.example",
        x_forwarded_host="evil.com/\r\nSet-Cookie: x",
        x_forwarded_proto="javascript",
        x_forwarded_prefix="/a b",
    )
    assert external_base(origin, "/files/", behind_proxy=True) == "http://ok.example/files/"
    assert (
        external_base(RequestOrigin("bad host"), "/f/", behind_proxy=False) == "http://localhost/f/"
    )


def test_ids_from_absolute_relative_and_prefixed_urls() -> None:
    assert id_from_url("http://h/files/abc123", "/files/", "h") == "abc123"
    assert id_from_url("/files/abc123", "/files/") == "abc123"
    assert id_from_url("https://H/api/files/abc_1-2/", "/files/", "h") == "abc_1-2"
    assert id_from_url("/files/../../etc", "/files/") is None
    assert id_from_url("", "/files/") is None


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.example/files/abc123",
        "//evil.example/files/abc123",
        "https://h.evil.example/files/abc123",
        "ftp://h/files/abc123",
    ],
)
def test_urls_on_other_hosts_are_not_ours(url: str) -> None:
    """Issue 15: Upload-Concat accepted any host and mapped it to a local id."""
    assert id_from_url(url, "/files/", "h") is None
    assert id_from_url(url, "/files/") is None  # no host known: only relative paths
