"""Interop versions (9 and 6 served, 5/7/8 served as the nearest, the rest refused), RFC 9530
digests, downloads and CORS on the draft's endpoint."""

from __future__ import annotations

import base64
import hashlib
import json

import httpx
import pytest

from .conftest import PARTIAL, V6, V9, Client


def sf_digest(name: str, data: bytes) -> str:
    digest = hashlib.new(name.replace("-", ""), data).digest()
    return f"{name}=:{base64.b64encode(digest).decode()}:"


@pytest.mark.parametrize("version", ["3", "4", "10", "42"])
def test_unsupported_versions_are_refused_with_the_served_ones(
    client: Client, version: str
) -> None:
    answer = client(
        "POST",
        "/uploads/",
        {"Upload-Draft-Interop-Version": version, "Upload-Complete": "?1"},
        b"abc",
    )
    assert answer.status == 400
    assert not answer.interim
    problem = json.loads(answer.body)
    assert problem["code"] == "unsupported_interop_version"
    assert problem["supported-versions"] == [9, 8, 7, 6, 5]


def test_interop_5_appends_without_the_partial_upload_media_type(client: Client) -> None:
    v5 = {"Upload-Draft-Interop-Version": "5"}
    url = client("POST", "/uploads/", {**v5, "Upload-Complete": "?0"}, b"ab").header("location")
    assert url
    answer = client("PATCH", url, {**v5, "Upload-Offset": "2", "Upload-Complete": "?1"}, b"cd")
    assert answer.status == 201
    # 6 and 9 require it
    url6 = client("POST", "/uploads/", {**V6, "Upload-Complete": "?0"}, b"ab").header("location")
    assert url6
    refused = client("PATCH", url6, {**V6, "Upload-Offset": "2", "Upload-Complete": "?1"}, b"cd")
    assert refused.status == 415


def test_an_invalid_interop_version_is_no_version_at_all(client: Client) -> None:
    answer = client(
        "POST", "/uploads/", {"Upload-Draft-Interop-Version": "nine", "Upload-Complete": "?0"}, b"x"
    )
    assert answer.status == 201 and not answer.interim  # a conventional upload
    assert answer.header("upload-complete") == "?1"


def test_appending_needs_an_interop_version(client: Client) -> None:
    url = client.create(b"").header("location") or ""
    answer = client("PATCH", url, {**PARTIAL, "Upload-Offset": "0", "Upload-Complete": "?1"}, b"a")
    assert answer.status == 400
    assert b"Upload-Draft-Interop-Version" in answer.body


def test_content_digest_mismatch_appends_nothing(client: Client) -> None:
    url = client.create(b"abc").header("location") or ""
    bad = client.append(url, 3, b"def", **{"Content-Digest": sf_digest("sha-256", b"xyz")})
    assert bad.status == 400
    assert json.loads(bad.body)["code"] == "content_digest_mismatch"
    assert bad.header("upload-offset") == "3"
    good = client.append(url, 3, b"def", **{"Content-Digest": sf_digest("sha-512", b"def")})
    assert good.status == 204 and good.header("upload-offset") == "6"


def test_unknown_digest_algorithms_and_malformed_digests_are_ignored(client: Client) -> None:
    url = client.create(b"").header("location") or ""
    answer = client.append(url, 0, b"abc", **{"Content-Digest": "md5=:AAAA:, crc=1"})
    assert answer.status == 204
    answer = client.append(url, 3, b"d", **{"Content-Digest": "sha-256=not a digest"})
    assert answer.status == 204


def test_repr_digest_is_checked_when_the_upload_completes(client: Client) -> None:
    data = b"the whole representation"
    good = client.create(data[:4], **{"Repr-Digest": sf_digest("sha-256", data)})
    url = good.header("location") or ""
    done = client.append(url, 4, data[4:], complete=True)
    assert done.status == 201
    bad = client.create(b"abc", **{"Repr-Digest": sf_digest("sha-256", b"something else")})
    bad_url = bad.header("location") or ""
    failed = client.append(bad_url, 3, b"def", complete=True)
    assert failed.status == 400
    assert failed.header("upload-complete") == "?1"  # resuming cannot help
    assert json.loads(failed.body)["code"] == "repr_digest_mismatch"
    assert failed.header("repr-digest") == sf_digest("sha-256", b"abcdef")
    assert client.head(bad_url).status == 410  # the failed upload is removed


def test_want_repr_digest_is_answered_on_completion(client: Client) -> None:
    data = b"digest me"
    at_creation = client.create(
        data[:2], **{"Want-Repr-Digest": "sha-512=3, sha-256=10, md5=10"}
    ).header("location")
    assert at_creation
    done = client.append(at_creation, 2, data[2:], complete=True)
    assert done.header("repr-digest") == ", ".join(
        [sf_digest("sha-256", data), sf_digest("sha-512", data)]
    )
    one_shot = client.create(data, complete=True, **{"Want-Repr-Digest": "sha-256=1"})
    assert one_shot.header("repr-digest") == sf_digest("sha-256", data)


def test_get_downloads_with_the_upload_state(client: Client) -> None:
    answer = client.create(b"0123456789", **{"Upload-Length": "20"})
    url = answer.header("location") or ""
    partial = httpx.get(url, headers={"Range": "bytes=2-4"})
    assert partial.status_code == 206 and partial.content == b"234"
    assert partial.headers["upload-offset"] == "10"
    assert partial.headers["upload-complete"] == "?0"
    assert partial.headers["cache-control"] == "no-store"


def test_cors_exposes_the_draft_headers(client: Client) -> None:
    preflight = httpx.options(
        client.base,
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "upload-complete, upload-draft-interop-version",
        },
    )
    assert preflight.status_code == 200
    created = httpx.post(
        client.base,
        headers={**V9, "Upload-Complete": "?0", "Origin": "https://app.example"},
        content=b"",
    )
    exposed = created.headers["access-control-expose-headers"].lower()
    for name in ("location", "upload-offset", "upload-complete", "upload-limit", "repr-digest"):
        assert name in exposed
