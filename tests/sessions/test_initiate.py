"""POST /attachment/initiate: the session, its chunking, and every refusal in order."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from .conftest import CHUNK, error_code, initiate, sha256_digest


def rfc3339(value: str) -> float:
    """Epoch seconds of `2025-01-31T12:00:00Z` (asserting that form)."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def test_initiate_answers_201_location_and_the_chunking(http: httpx.Client) -> None:
    r = http.post("/initiate", json={"fileName": "report.pdf", "fileSize": 3 * CHUNK + 1})
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {
        "sessionId", "chunkSize", "totalChunks", "expiresAt", "fileName", "fileSize",
        "contentType",
    }  # fmt: skip
    assert r.headers["Location"].endswith(f"/attachment/session/{body['sessionId']}")
    assert r.headers["Location"].startswith("http://127.0.0.1:")
    assert body["chunkSize"] == CHUNK
    assert body["totalChunks"] == 4
    assert body["fileName"] == "report.pdf" and body["fileSize"] == 3 * CHUNK + 1
    assert body["contentType"] == "application/octet-stream"
    assert r.headers["content-type"] == "application/json"
    left = rfc3339(body["expiresAt"]) - time.time()
    assert 24 * 3600 - 120 < left <= 24 * 3600 + 5, left
    got = http.get(f"/session/{body['sessionId']}").json()
    assert got["missingChunks"] == [0, 1, 2, 3] and got["receivedChunks"] == []


@pytest.mark.parametrize(
    ("size", "chunks"), [(0, 1), (1, 1), (CHUNK, 1), (CHUNK + 1, 2), (10 * CHUNK, 10)]
)
def test_chunk_size_is_reported_as_is_and_total_chunks_rounds_up(
    http: httpx.Client, size: int, chunks: int
) -> None:
    body = initiate(http, size, contentType="image/png")
    assert (body["chunkSize"], body["totalChunks"]) == (CHUNK, chunks)
    assert body["contentType"] == "image/png"


def test_not_json_is_415_before_anything_else(http: httpx.Client) -> None:
    r = http.post(
        "/initiate", content=b'{"fileName": "../x"}', headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 415 and error_code(r) == "unsupported_media_type"
    r = http.post("/initiate", content=b"{}")
    assert r.status_code == 415


def test_bad_json_is_400(http: httpx.Client) -> None:
    r = http.post("/initiate", content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and error_code(r) == "bad_request"


def test_missing_and_wrong_typed_fields_are_listed_together(http: httpx.Client) -> None:
    r = http.post("/initiate", json={"fileSize": "big", "contentType": 5})
    assert r.status_code == 400 and error_code(r) == "bad_request"
    names = {p["name"] for p in r.json()["error"]["errors"]}
    assert names == {"fileName", "fileSize", "contentType"}, r.json()


def test_every_problem_of_valid_json_is_listed_at_once(http: httpx.Client) -> None:
    r = http.post("/initiate", json={"fileName": "a/b", "fileSize": -1, "checksum": "md5=:AAAA:"})
    assert r.status_code == 400 and error_code(r) == "bad_request"
    problems = {p["name"]: p["message"] for p in r.json()["error"]["errors"]}
    assert set(problems) == {"fileName", "fileSize", "checksum"}, problems
    assert all(p["in"] == "body" for p in r.json()["error"]["errors"])


@pytest.mark.parametrize(
    "name",
    ["", ".", "..", "a/b", "/etc/passwd", "a\\b", "a\x00b", "tab\there", "del\x7f", "c1\x85",
     "é" * 128, "x" * 256],
)  # fmt: skip
def test_bad_file_names_are_400(http: httpx.Client, name: str) -> None:
    r = http.post("/initiate", json={"fileName": name, "fileSize": 1})
    assert r.status_code == 400, (name, r.text)
    assert [p["name"] for p in r.json()["error"]["errors"]] == ["fileName"]


@pytest.mark.parametrize("name", ["x" * 255, "é" * 127 + "x", "...", ".hidden", "a b(1).tar.gz"])
def test_good_file_names_are_kept(http: httpx.Client, name: str) -> None:
    assert initiate(http, 1, name=name)["fileName"] == name


@pytest.mark.parametrize(
    "checksum",
    [
        "sha256 abc",
        "sha-256=:not base64!:",
        "sha-256=:AAAA:",
        "sha-256",
        "md5=:1B2M2Y8AsgTpgAmY7PhCfg==:",
    ],
)
def test_malformed_or_unsupported_checksums_are_400(http: httpx.Client, checksum: str) -> None:
    r = http.post("/initiate", json={"fileName": "a", "fileSize": 1, "checksum": checksum})
    assert r.status_code == 400, (checksum, r.text)
    assert [p["name"] for p in r.json()["error"]["errors"]] == ["checksum"]


def test_a_supported_checksum_among_others_is_accepted(http: httpx.Client) -> None:
    digest = sha256_digest(b"x")
    initiate(http, 1, checksum=f"md5=:1B2M2Y8AsgTpgAmY7PhCfg==:, {digest}")


def test_over_max_size_is_413(http: httpx.Client) -> None:
    r = http.post("/initiate", json={"fileName": "big", "fileSize": 64 * 1024 * 1024 + 1})
    assert r.status_code == 413 and error_code(r) == "too_large"
    initiate(http, 64 * 1024 * 1024)


def test_problems_come_before_the_size_limit(http: httpx.Client) -> None:
    r = http.post("/initiate", json={"fileName": "", "fileSize": 10**15})
    assert r.status_code == 400


def test_a_huge_json_body_is_refused_without_buffering_it(http: httpx.Client) -> None:
    body = b'{"fileName": "' + b"a" * (2 * 1024 * 1024) + b'", "fileSize": 1}'
    r = http.post("/initiate", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["status"] == "error"


def test_unknown_paths_and_methods_answer_in_the_envelope(http: httpx.Client) -> None:
    r = http.get("/initiate")
    assert r.status_code == 405 and r.json()["status"] == "error"
    assert "POST" in r.headers["Allow"]
    r = http.get("/session/abc/nothing")
    assert r.status_code == 404 and r.json()["status"] == "error"
