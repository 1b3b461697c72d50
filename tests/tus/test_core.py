"""tus 1.0.0 core protocol over real HTTP: OPTIONS, HEAD, PATCH, versions, errors."""

from __future__ import annotations

import http.client as http_client
import secrets
import socket

import httpx
import pytest

from tests.servers import UploadServer
from tests.tus.conftest import TUS, create, patch

OFFSET_STREAM = "application/offset+octet-stream"
EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "expiration",
    "checksum",
    "checksum-trailer",
    "termination",
    "concatenation",
    "concatenation-unfinished",
)


def csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def assert_json_error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers.get("Tus-Resumable") == "1.0.0", dict(response.headers)
    assert response.headers.get("Content-Type", "").startswith("application/json"), dict(
        response.headers
    )
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("code"), str) and body["code"], body
    assert isinstance(body.get("message"), str) and body["message"], body
    return body


# -- OPTIONS ---------------------------------------------------------------------------


def test_options_advertises_version_extensions_limits(http: httpx.Client) -> None:
    r = http.options("")
    assert r.status_code == 204
    assert r.content == b""
    assert "1.0.0" in csv(r.headers.get("Tus-Version"))
    extensions = csv(r.headers.get("Tus-Extension"))
    for name in EXTENSIONS:
        assert name in extensions, (name, extensions)
    assert r.headers.get("Tus-Max-Size") == str(64 * 1024 * 1024)
    algorithms = [a.lower() for a in csv(r.headers.get("Tus-Checksum-Algorithm"))]
    for name in ("md5", "sha1", "sha256", "sha512", "crc32c"):
        assert name in algorithms, (name, algorithms)


def test_options_needs_no_tus_resumable_even_with_a_bad_one(http: httpx.Client) -> None:
    assert "Tus-Resumable" not in http.headers
    assert http.options("").status_code == 204
    assert http.options("", headers={"Tus-Resumable": "0.2.2"}).status_code == 204


def test_options_on_an_upload_url(http: httpx.Client) -> None:
    url = create(http, 10)
    r = http.options(url)
    assert r.status_code == 204
    assert "1.0.0" in csv(r.headers.get("Tus-Version"))


# -- HEAD ------------------------------------------------------------------------------


def test_head_reports_offset_length_metadata_no_store(http: httpx.Client) -> None:
    metadata = "filename aGVsbG8udHh0,flag"
    url = create(http, 11, **{"Upload-Metadata": metadata})
    r = http.head(url, headers=TUS)
    assert r.status_code == 200
    assert r.headers["Upload-Offset"] == "0"
    assert r.headers["Upload-Length"] == "11"
    assert r.headers["Tus-Resumable"] == "1.0.0"
    assert "no-store" in r.headers.get("Cache-Control", "")
    pairs = {}
    for item in r.headers["Upload-Metadata"].split(","):
        key, _, value = item.partition(" ")
        pairs[key] = value
    assert pairs == {"filename": "aGVsbG8udHh0", "flag": ""}
    assert r.content == b""


def test_head_offset_follows_patches(http: httpx.Client) -> None:
    url = create(http, 6)
    assert patch(http, url, 0, b"abc").status_code == 204
    assert http.head(url, headers=TUS).headers["Upload-Offset"] == "3"


# -- PATCH -----------------------------------------------------------------------------


def test_patch_appends_and_answers_new_offset(http: httpx.Client) -> None:
    url = create(http, 10)
    r = patch(http, url, 0, b"hello")
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == "5"
    assert r.headers["Tus-Resumable"] == "1.0.0"
    assert r.content == b""
    r = patch(http, url, 5, b"world")
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == "10"
    assert http.get(url).content == b"helloworld"


@pytest.mark.parametrize("content_type", ["application/octet-stream", "text/plain", None])
def test_patch_with_wrong_or_missing_content_type_is_415(
    http: httpx.Client, content_type: str | None
) -> None:
    url = create(http, 5)
    headers = {**TUS, "Upload-Offset": "0"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    r = http.patch(url, content=b"hello", headers=headers)
    assert_json_error(r, 415)
    assert http.head(url, headers=TUS).headers["Upload-Offset"] == "0"


@pytest.mark.parametrize("sent", [1, 5, 100])
def test_patch_with_wrong_offset_is_409_with_current_offset(http: httpx.Client, sent: int) -> None:
    url = create(http, 10)
    assert patch(http, url, 0, b"ab").status_code == 204
    r = patch(http, url, sent, b"cd")
    assert_json_error(r, 409)
    assert r.headers.get("Upload-Offset") == "2"
    assert http.head(url, headers=TUS).headers["Upload-Offset"] == "2"


def test_patch_past_the_length_is_413_and_keeps_the_offset(http: httpx.Client) -> None:
    url = create(http, 4)
    r = patch(http, url, 0, b"too long")
    assert_json_error(r, 413)
    assert http.head(url, headers=TUS).headers["Upload-Offset"] == "0"


# -- Tus-Resumable ---------------------------------------------------------------------


def _request(
    http: httpx.Client, method: str, url: str, version: str | None
) -> tuple[httpx.Response, bool]:
    """One request of `method` with the given Tus-Resumable; returns (response, has_body)."""
    headers: dict[str, str] = {}
    if version is not None:
        headers["Tus-Resumable"] = version
    if method == "POST":
        return http.post("", headers={**headers, "Upload-Length": "5"}), True
    if method == "PATCH":
        headers |= {"Upload-Offset": "0", "Content-Type": OFFSET_STREAM}
        return http.patch(url, content=b"abc", headers=headers), True
    return http.request(method, url, headers=headers), method != "HEAD"


@pytest.mark.parametrize("version", [None, "0.2.2", "2.0.0", "1.0"])
@pytest.mark.parametrize("method", ["POST", "HEAD", "PATCH", "DELETE"])
def test_missing_or_unsupported_tus_resumable_is_412(
    http: httpx.Client, method: str, version: str | None
) -> None:
    url = create(http, 5)
    r, has_body = _request(http, method, url, version)
    assert r.status_code == 412, (r.status_code, r.text)
    assert "1.0.0" in csv(r.headers.get("Tus-Version"))
    assert r.headers.get("Tus-Resumable") == "1.0.0"
    if has_body:
        assert_json_error(r, 412)
    else:
        assert r.content == b""
    # Nothing happened: the upload is untouched and still there.
    head = http.head(url, headers=TUS)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "0"


def test_tus_resumable_on_every_response_but_options(http: httpx.Client) -> None:
    url = create(http, 5)
    unknown = f"{http.base_url}{secrets.token_hex(16)}"
    responses = [
        http.post("", headers={**TUS, "Upload-Length": "5"}),
        http.post("", headers={**TUS}),  # 400
        http.head(url, headers=TUS),
        patch(http, url, 0, b"ab"),
        patch(http, url, 9, b"ab"),  # 409
        http.patch(url, content=b"ab", headers={**TUS, "Upload-Offset": "2"}),  # 415
        http.get(url),
        http.head(unknown, headers=TUS),  # 404
        http.delete(unknown, headers=TUS),  # 404
        http.delete(url, headers=TUS),
        http.head(url, headers=TUS),  # 410
    ]
    statuses = [r.status_code for r in responses]
    assert statuses == [201, 400, 200, 204, 409, 415, 200, 404, 404, 204, 410]
    for r in responses:
        assert r.headers.get("Tus-Resumable") == "1.0.0", (r.request.method, r.status_code)


# -- X-HTTP-Method-Override ------------------------------------------------------------


def test_method_override_post_as_patch_appends(http: httpx.Client) -> None:
    url = create(http, 6)
    headers = {
        **TUS,
        "X-HTTP-Method-Override": "PATCH",
        "Upload-Offset": "0",
        "Content-Type": OFFSET_STREAM,
    }
    r = http.post(url, content=b"abcdef", headers=headers)
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == "6"
    assert http.get(url).content == b"abcdef"


def test_method_override_post_as_delete_terminates(http: httpx.Client) -> None:
    url = create(http, 6)
    r = http.post(url, headers={**TUS, "X-HTTP-Method-Override": "DELETE"})
    assert r.status_code == 204, r.text
    assert http.head(url, headers=TUS).status_code == 410


def test_method_override_post_as_head(http: httpx.Client) -> None:
    url = create(http, 6)
    assert patch(http, url, 0, b"ab").status_code == 204
    r = http.post(url, headers={**TUS, "X-HTTP-Method-Override": "HEAD"})
    assert r.status_code == 200, r.text
    assert r.headers["Upload-Offset"] == "2"
    assert r.headers["Upload-Length"] == "6"


# -- unknown and malformed ids ---------------------------------------------------------


@pytest.mark.parametrize("method", ["PATCH", "DELETE", "GET"])
def test_unknown_id_is_404_with_json(http: httpx.Client, method: str) -> None:
    url = f"{http.base_url}{secrets.token_hex(16)}"
    headers = {**TUS, "Upload-Offset": "0", "Content-Type": OFFSET_STREAM}
    r = http.request(method, url, headers=headers, content=b"x" if method == "PATCH" else None)
    assert_json_error(r, 404)


def test_unknown_id_head_is_404_without_body(http: httpx.Client) -> None:
    r = http.head(f"{http.base_url}{secrets.token_hex(16)}", headers=TUS)
    assert r.status_code == 404
    assert r.headers.get("Tus-Resumable") == "1.0.0"
    assert r.content == b""


BAD_IDS = ["..%2F..%2Fetc", "a" * 200, "abc.def", "a%20b", "%00", "%2E%2E", "..%2F.state"]


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("method", ["HEAD", "PATCH", "DELETE", "GET"])
def test_ids_with_bad_characters_are_404_not_500(
    server: UploadServer, method: str, bad: str
) -> None:
    headers = {**TUS, "Upload-Offset": "0", "Content-Type": OFFSET_STREAM}
    with httpx.Client(timeout=10.0) as client:
        r = client.request(
            method, server.url + bad, headers=headers, content=b"x" if method == "PATCH" else None
        )
    assert r.status_code == 404, (r.status_code, r.text)
    if method == "HEAD":
        assert r.content == b""
    else:
        assert_json_error(r, 404)


# -- error bodies ----------------------------------------------------------------------


@pytest.mark.parametrize("offset", ["-1", "abc", "1.5", ""])
def test_malformed_upload_offset_is_400_naming_the_header(http: httpx.Client, offset: str) -> None:
    url = create(http, 5)
    r = http.patch(
        url,
        content=b"abc",
        headers={**TUS, "Upload-Offset": offset, "Content-Type": OFFSET_STREAM},
    )
    assert_json_error(r, 400)
    assert "upload-offset" in r.text.lower()
    assert http.head(url, headers=TUS).headers["Upload-Offset"] == "0"


def test_400_lists_every_problem(http: httpx.Client) -> None:
    url = create(http, 5)
    r = http.patch(
        url,
        content=b"abc",
        headers={
            **TUS,
            "Upload-Offset": "-1",
            "Upload-Length": "abc",
            "Content-Type": OFFSET_STREAM,
        },
    )
    body = assert_json_error(r, 400)
    text = r.text.lower()
    assert "upload-offset" in text and "upload-length" in text, body
    problems = body.get("errors") or body.get("problems")
    assert isinstance(problems, list) and len(problems) >= 2, body


def test_400_on_creation_lists_every_problem(http: httpx.Client) -> None:
    r = http.post("", headers={**TUS, "Upload-Length": "abc", "Upload-Defer-Length": "2"})
    body = assert_json_error(r, 400)
    text = r.text.lower()
    assert "upload-length" in text and "upload-defer-length" in text, body


def test_a_path_no_route_claims_is_404_in_the_tus_format(http: httpx.Client) -> None:
    """Routing errors of the outer app speak the mounted service's format and carry its
    constant headers (tus: `Tus-Resumable` on every response but OPTIONS)."""
    r = http.get("some/deeper/path", headers=TUS)
    assert_json_error(r, 404)
    assert r.headers.get("Tus-Resumable") == "1.0.0"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("-0", "leading zeros"),
        ("00", "leading zeros"),
        ("+5", "must be an integer >= 0"),
        ("1_0", "must be an integer >= 0"),
        ("99999999999999999999", "too large"),
        ("-3", ">= 0"),
    ],
)
def test_integers_are_strict_and_the_message_says_why(
    http: httpx.Client, value: str, says: str
) -> None:
    """Issue 15: `-0` and `00` were accepted, a too-large number was reported as "must be
    an integer >= 0"."""
    url = create(http, 5)
    r = http.patch(
        url, content=b"", headers={**TUS, "Upload-Offset": value, "Content-Type": OFFSET_STREAM}
    )
    body = assert_json_error(r, 400)
    assert says in str(body["message"]), body


def test_optional_whitespace_around_a_number_is_ignored_on_both_sides(
    http: httpx.Client, server: UploadServer
) -> None:
    """`Upload-Length: " 10"` was accepted and `"10 "` was not: both are 10 (RFC 9110).
    Sent raw: httpx refuses to send such values."""
    for value in ("10 ", " 10", "\t10", "10\t"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                f"POST /files/ HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                f"Tus-Resumable: 1.0.0\r\nUpload-Length:{value}\r\n"
                "Content-Length: 0\r\n\r\n".encode()
            )
            response = http_client.HTTPResponse(sock)
            response.begin()
            assert response.status == 201, (value, response.status, response.read())
            location = response.getheader("Location")
        assert location is not None
        assert http.head(location, headers=TUS).headers["Upload-Length"] == "10"
