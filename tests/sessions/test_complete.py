"""complete, abort, GET session, and the attachment it becomes (GET/HEAD/DELETE)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.servers import UploadServer

from .conftest import (
    CHUNK,
    assembly_files,
    chunks_of,
    error_code,
    initiate,
    put,
    sha256_digest,
    upload_all,
)


def test_missing_chunks_are_409_with_the_list(http: httpx.Client) -> None:
    data = os.urandom(4 * CHUNK)
    sid = initiate(http, len(data))["sessionId"]
    parts = chunks_of(data)
    put(http, sid, 1, parts[1])
    put(http, sid, 3, parts[3])
    r = http.post(f"/session/{sid}/complete")
    assert r.status_code == 409
    body = r.json()
    assert body["status"] == "error" and body["error"]["code"] == "missing_chunks"
    assert body["missingChunks"] == [0, 2]
    state = http.get(f"/session/{sid}").json()
    assert state["status"] == "active" and state["missingChunks"] == [0, 2]


def test_complete_then_again_answers_the_same_attachment(
    http: httpx.Client, server: UploadServer
) -> None:
    data = os.urandom(2 * CHUNK + 3)
    sid = initiate(http, len(data), name="photo.png", contentType="image/png")["sessionId"]
    upload_all(http, sid, data)
    r = http.post(f"/session/{sid}/complete")
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"attachmentId", "fileName", "fileSize", "contentType", "location"}
    assert body["fileName"] == "photo.png" and body["fileSize"] == len(data)
    assert body["contentType"] == "image/png"
    assert r.headers["Location"] == body["location"]
    assert body["location"].endswith(f"/attachment/{body['attachmentId']}")
    again = http.post(f"/session/{sid}/complete")
    assert again.status_code == 200 and again.json() == body
    state = http.get(f"/session/{sid}").json()
    assert state["status"] == "completed" and state["attachmentId"] == body["attachmentId"]
    assert state["receivedChunks"] == [0, 1, 2] and state["missingChunks"] == []
    assert state["expiresAt"] is None
    got = http.get(body["location"])
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith('inline; filename="photo.png"')
    assert body["attachmentId"] not in assembly_files(server.data_dir)  # parts file gone
    assert (server.data_dir / body["attachmentId"]).stat().st_size == len(data)


def test_a_whole_file_checksum_is_verified(http: httpx.Client) -> None:
    data = os.urandom(2 * CHUNK + 9)
    sid = initiate(http, len(data), checksum=sha256_digest(data))["sessionId"]
    upload_all(http, sid, data)
    r = http.post(f"/session/{sid}/complete")
    assert r.status_code == 201, r.text
    assert http.get(r.headers["Location"]).content == data


def test_a_checksum_mismatch_keeps_the_session_active_to_resend(
    http: httpx.Client, server: UploadServer
) -> None:
    data = os.urandom(2 * CHUNK + 9)
    sid = initiate(http, len(data), checksum=sha256_digest(data))["sessionId"]
    upload_all(http, sid, data[:-1] + bytes([data[-1] ^ 1]))
    r = http.post(f"/session/{sid}/complete")
    assert r.status_code == 400 and error_code(r) == "checksum_mismatch"
    state = http.get(f"/session/{sid}").json()
    assert state["status"] == "active" and state["missingChunks"] == [0, 1, 2]
    assert state["attachmentId"] is None
    upload_all(http, sid, data)
    r = http.post(f"/session/{sid}/complete")
    assert r.status_code == 201, r.text
    assert http.get(r.headers["Location"]).content == data


def test_abort_removes_the_chunks_at_once_and_repeats(
    http: httpx.Client, server: UploadServer
) -> None:
    data = os.urandom(2 * CHUNK)
    sid = initiate(http, len(data))["sessionId"]
    put(http, sid, 0, data[:CHUNK])
    before = assembly_files(server.data_dir)
    assert before
    r = http.post(f"/session/{sid}/abort")
    assert r.status_code == 200 and r.json() == {"sessionId": sid, "status": "aborted"}
    assert http.post(f"/session/{sid}/abort").json() == {"sessionId": sid, "status": "aborted"}
    assert len(assembly_files(server.data_dir)) == len(before) - 1
    for r in (
        http.get(f"/session/{sid}"),
        put(http, sid, 1, data[CHUNK:]),
        http.post(f"/session/{sid}/complete"),
    ):
        assert r.status_code == 410 and error_code(r) == "session_aborted", r.text
    r = http.post("/session/0123456789abcdef0123/abort")
    assert r.status_code == 404 and error_code(r) == "session_not_found"


def test_abort_after_completion_is_409(http: httpx.Client) -> None:
    sid = initiate(http, 3)["sessionId"]
    put(http, sid, 0, b"abc")
    http.post(f"/session/{sid}/complete")
    r = http.post(f"/session/{sid}/abort")
    assert r.status_code == 409 and error_code(r) == "session_completed"


@pytest.fixture
def attachment(http: httpx.Client) -> tuple[str, bytes]:
    data = os.urandom(3 * CHUNK)
    sid = initiate(http, len(data), name="notes \u00e9t\u00e9.html", contentType="text/html")[
        "sessionId"
    ]
    upload_all(http, sid, data)
    return http.post(f"/session/{sid}/complete").json()["attachmentId"], data


def test_downloads_follow_the_tus_get_rules(
    http: httpx.Client, attachment: tuple[str, bytes]
) -> None:
    aid, data = attachment
    r = http.get(f"/{aid}")
    assert r.status_code == 200 and r.content == data
    # text/html is not served inline: a download, with an RFC 6266 name
    assert r.headers["content-type"] == "application/octet-stream"
    disposition = r.headers["content-disposition"]
    assert (
        disposition.startswith("attachment;") and "filename*=UTF-8''notes%20%C3%A9t" in disposition
    )
    assert r.headers["x-content-type-options"] == "nosniff"
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    part = http.get(f"/{aid}", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    assert http.get(f"/{aid}", headers={"If-None-Match": etag}).status_code == 304
    assert http.get(f"/{aid}", headers={"If-Modified-Since": modified}).status_code == 304
    r = http.get(f"/{aid}", headers={"If-Match": '"other"'})
    assert r.status_code == 412 and error_code(r) == "precondition_failed"
    r = http.get(f"/{aid}", headers={"Range": f"bytes={len(data)}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(data)}"
    head = http.head(f"/{aid}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(data)) and head.headers["etag"] == etag
    head = http.head(f"/{aid}", headers={"Range": "bytes=0-0"})
    assert head.status_code == 206 and head.headers["content-length"] == "1"


def test_delete_answers_204_then_404(
    http: httpx.Client, server: UploadServer, attachment: tuple[str, bytes]
) -> None:
    aid, _ = attachment
    assert http.delete(f"/{aid}").status_code == 204
    for r in (http.get(f"/{aid}"), http.head(f"/{aid}"), http.delete(f"/{aid}")):
        assert r.status_code == 404
    assert error_code(http.get(f"/{aid}")) == "attachment_not_found"
    assert not (server.data_dir / aid).exists()
    r = http.get("/0123456789abcdef")
    assert r.status_code == 404 and error_code(r) == "attachment_not_found"
    assert http.get("/bad.id").status_code == 404


def test_errors_carry_no_server_paths(http: httpx.Client, server: UploadServer) -> None:
    sid = initiate(http, 10)["sessionId"]
    answers = [
        put(http, sid, 5, b"x"),
        put(http, sid, 0, b"x"),
        http.post(f"/session/{sid}/complete"),
        http.get("/nope"),
    ]
    for r in answers:
        assert str(server.data_dir) not in r.text and "Traceback" not in r.text


def test_a_tus_upload_is_no_attachment_until_complete(
    http: httpx.Client, server: UploadServer, tmp_path: Path
) -> None:
    r = httpx.post(server.url, headers={"Tus-Resumable": "1.0.0", "Upload-Length": "10"})
    upload_id = r.headers["Location"].rsplit("/", 1)[1]
    assert http.get(f"/{upload_id}").status_code == 404
    assert http.delete(f"/{upload_id}").status_code == 404


def test_browsers_may_put_chunks_with_digests(http: httpx.Client) -> None:
    """CORS: a preflight for a chunk PUT with Content-Digest is allowed; Location is exposed."""
    r = http.options(
        "/session/abc/upload/0",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-digest, content-md5, content-type",
        },
    )
    assert r.status_code == 200, r.text
    assert "PUT" in r.headers["access-control-allow-methods"]
    r = http.post(
        "/initiate",
        json={"fileName": "a", "fileSize": 1},
        headers={"Origin": "https://app.example"},
    )
    assert r.headers["access-control-allow-origin"] == "*"
    assert "location" in r.headers["access-control-expose-headers"].lower()


def test_completing_again_after_the_attachment_was_deleted_is_409(http: httpx.Client) -> None:
    sid = initiate(http, 2)["sessionId"]
    put(http, sid, 0, b"ok")
    location = http.post(f"/session/{sid}/complete").headers["Location"]
    assert http.delete(location).status_code == 204
    r = http.post(f"/session/{sid}/complete")
    assert r.status_code == 409 and error_code(r) == "session_completed"
