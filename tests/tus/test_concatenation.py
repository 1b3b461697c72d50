"""tus concatenation and concatenation-unfinished: final uploads built from partial ones."""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.tus.conftest import TUS, create, patch

PARTIAL = {"Upload-Concat": "partial"}


def partial(http: httpx.Client, data: bytes, send: int | None = None) -> str:
    """A partial upload of len(data) bytes with the first `send` bytes (all by default)."""
    url = create(http, len(data), **PARTIAL)
    part = data if send is None else data[:send]
    if part:
        r = patch(http, url, 0, part)
        assert r.status_code == 204, r.text
    return url


def final(http: httpx.Client, urls: list[str], **headers: str) -> httpx.Response:
    value = "final;" + " ".join(urls)
    return http.post("", headers={**TUS, "Upload-Concat": value, **headers})


def path_of(url: str) -> str:
    return urlsplit(url).path


def upload_id(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def assert_error(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers.get("Tus-Resumable") == "1.0.0"
    body = r.json()
    assert body.get("code") and body.get("message"), body


@pytest.mark.parametrize("style", ["absolute", "relative"])
def test_final_is_the_concatenation_of_its_partials(http: httpx.Client, style: str) -> None:
    parts = [b"first-", b"second-part-", b"3"]
    urls = [partial(http, p) for p in parts]
    named = urls if style == "absolute" else [path_of(u) for u in urls]
    r = final(http, named)
    assert r.status_code == 201, r.text
    url = r.headers["Location"]
    assert url.startswith("http://127.0.0.1:"), url
    assert upload_id(url) not in [upload_id(u) for u in urls]

    head = http.head(url, headers=TUS)
    assert head.status_code == 200
    total = sum(len(p) for p in parts)
    assert head.headers["Upload-Length"] == str(total)
    assert head.headers["Upload-Offset"] == str(total)
    concat = head.headers["Upload-Concat"]
    assert concat.startswith("final;"), concat
    listed = [upload_id(u) for u in concat.removeprefix("final;").split()]
    assert listed == [upload_id(u) for u in urls]
    assert http.get(url).content == b"".join(parts)


def test_partial_head_says_partial(http: httpx.Client) -> None:
    url = partial(http, b"abc", send=1)
    head = http.head(url, headers=TUS)
    assert head.headers.get("Upload-Concat") == "partial"
    assert head.headers["Upload-Offset"] == "1"


def test_same_partial_twice(http: httpx.Client) -> None:
    url = partial(http, b"ab")
    r = final(http, [url, url])
    assert r.status_code == 201, r.text
    assert http.get(r.headers["Location"]).content == b"abab"


def test_patch_on_a_final_upload_is_403(http: httpx.Client) -> None:
    r = final(http, [partial(http, b"abc")])
    assert r.status_code == 201
    url = r.headers["Location"]
    r = patch(http, url, 3, b"more")
    assert_error(r, 403)
    r = patch(http, url, 0, b"abc")
    assert_error(r, 403)
    assert http.get(url).content == b"abc"


def test_final_with_upload_length_is_400(http: httpx.Client) -> None:
    url = partial(http, b"abc")
    assert_error(final(http, [url], **{"Upload-Length": "3"}), 400)
    assert_error(final(http, [url], **{"Upload-Defer-Length": "1"}), 400)


def test_final_naming_a_non_partial_upload_is_400(http: httpx.Client) -> None:
    plain = create(http, 3)
    assert patch(http, plain, 0, b"abc").status_code == 204
    assert_error(final(http, [partial(http, b"x"), plain]), 400)


def test_final_naming_an_unknown_upload_is_400(http: httpx.Client) -> None:
    unknown = f"{http.base_url}{secrets.token_hex(16)}"
    assert_error(final(http, [partial(http, b"x"), unknown]), 400)


def test_final_naming_a_terminated_partial_is_400(http: httpx.Client) -> None:
    url = partial(http, b"abc")
    assert http.delete(url, headers=TUS).status_code == 204
    assert_error(final(http, [url]), 400)


@pytest.mark.parametrize(
    "value", ["final;", "final;,", "final;http://127.0.0.1/files/../etc", "partial;x", "whole"]
)
def test_malformed_upload_concat_is_400(http: httpx.Client, value: str) -> None:
    r = http.post("", headers={**TUS, "Upload-Concat": value})
    assert_error(r, 400)


def test_partial_stays_readable_after_final(http: httpx.Client) -> None:
    a = partial(http, b"left")
    b = partial(http, b"right")
    assert final(http, [a, b]).status_code == 201
    assert http.get(a).content == b"left"
    assert http.get(b).content == b"right"


# -- concatenation-unfinished ----------------------------------------------------------


def test_final_created_before_its_partials_finish(http: httpx.Client) -> None:
    data_a, data_b = b"0123456789", b"abcdefghijklmnop"
    a = partial(http, data_a)
    b = partial(http, data_b, send=4)
    r = final(http, [a, b])
    assert r.status_code == 201, r.text
    url = r.headers["Location"]

    head = http.head(url, headers=TUS)
    assert head.status_code == 200
    assert "Upload-Offset" not in head.headers, dict(head.headers)
    assert head.headers["Upload-Concat"].startswith("final;")
    # both lengths are known, so the final's length is too (or it is left out)
    assert head.headers.get("Upload-Length", str(len(data_a + data_b))) == str(len(data_a + data_b))

    r = patch(http, b, 4, data_b[4:])
    assert r.status_code == 204, r.text

    deadline = time.monotonic() + 5.0
    while True:
        head = http.head(url, headers=TUS)
        if "Upload-Offset" in head.headers or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert head.headers.get("Upload-Offset") == str(len(data_a + data_b)), dict(head.headers)
    assert head.headers["Upload-Length"] == str(len(data_a + data_b))
    assert http.get(url).content == data_a + data_b


def test_final_of_deferred_length_partial(http: httpx.Client) -> None:
    a = partial(http, b"abc")
    b = create(http, None, **PARTIAL, **{"Upload-Defer-Length": "1"})
    assert patch(http, b, 0, b"de").status_code == 204
    r = final(http, [a, b])
    assert r.status_code == 201, r.text
    url = r.headers["Location"]
    assert "Upload-Offset" not in http.head(url, headers=TUS).headers
    assert patch(http, b, 2, b"f", **{"Upload-Length": "3"}).status_code == 204
    deadline = time.monotonic() + 5.0
    while "Upload-Offset" not in (head := http.head(url, headers=TUS)).headers:
        assert time.monotonic() < deadline, dict(head.headers)
        time.sleep(0.05)
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == "6"
    assert http.get(url).content == b"abcdef"


def test_partials_named_by_another_host_are_refused(http: httpx.Client) -> None:
    """Only this server's own upload URLs (or relative paths) may be joined."""
    url = create(http, 1, **{"Upload-Concat": "partial"})
    upload_id = url.rsplit("/", 1)[1]
    for foreign in (f"http://evil.example/files/{upload_id}", f"//evil.example/files/{upload_id}"):
        r = http.post("", headers={**TUS, "Upload-Concat": f"final;{foreign}"})
        assert r.status_code == 400, (foreign, r.status_code, r.text)
    r = http.post("", headers={**TUS, "Upload-Concat": f"final;/files/{upload_id}"})
    assert r.status_code == 201, r.text
