"""Upload creation (draft section "Upload Creation"), interop 9 unless said otherwise."""

from __future__ import annotations

import hashlib
import os

import httpx

from .conftest import V6, V9, Client


def test_complete_creation_announces_the_upload_with_a_104_then_answers_201(
    client: Client,
) -> None:
    data = os.urandom(100_000)
    answer = client.create(data, complete=True, **{"Content-Type": "image/png"})
    first = answer.interim[0]
    assert first[0] == 104
    location = first[1]["location"]
    assert location.startswith(client.base)
    assert first[1]["upload-draft-interop-version"] == "9"
    assert "max-size=67108864" in first[1]["upload-limit"]
    assert "max-age=" in first[1]["upload-limit"]
    assert answer.header("location") == location
    assert answer.header("upload-complete") == "?1"
    assert answer.header("upload-offset") == answer.header("upload-length") == "100000"
    got = httpx.get(location)
    assert got.content == data
    assert got.headers["content-type"] == "image/png"
    assert got.headers["upload-complete"] == "?1"


def test_incomplete_creation_is_201_with_location_limits_and_offset(client: Client) -> None:
    answer = client.create(b"abc", **{"Upload-Length": "10"})
    assert answer.header("upload-complete") == "?0"
    assert answer.header("upload-offset") == "3"
    assert answer.header("upload-length") == "10"
    assert "max-age=" in (answer.header("upload-limit") or "")
    assert answer.interim[0][1]["location"] == answer.header("location")  # identical
    state = client.head(answer.header("location") or "")
    assert (state.status, state.header("upload-offset")) == (204, "3")


def test_empty_creation_gives_the_url_before_any_content(client: Client) -> None:
    answer = client.create(b"")
    assert answer.header("upload-offset") == "0"
    assert answer.header("upload-complete") == "?0"
    assert answer.header("upload-length") is None


def test_empty_complete_creation_is_an_empty_file(client: Client) -> None:
    answer = client.create(b"", complete=True)
    assert answer.header("upload-complete") == "?1"
    assert answer.header("upload-length") == "0"
    assert httpx.get(answer.header("location") or "").content == b""


def test_chunked_complete_creation_learns_the_length_at_the_end(client: Client) -> None:
    answer = client("POST", "/uploads/", {**V9, "Upload-Complete": "?1"}, b"x" * 5000, chunked=True)
    assert answer.status == 201
    assert answer.header("upload-length") == answer.header("upload-offset") == "5000"


def test_lengths_that_disagree_are_inconsistent(client: Client) -> None:
    answer = client(
        "POST", "/uploads/", {**V9, "Upload-Complete": "?1", "Upload-Length": "4"}, b"abc"
    )
    assert answer.status == 400
    assert answer.header("content-type") == "application/problem+json"
    assert b"#inconsistent-upload-length" in answer.body
    assert answer.header("upload-complete") == "?0"
    assert not answer.interim  # refused before any upload resource existed


def test_a_length_over_max_size_is_413_with_the_limits(client: Client) -> None:
    answer = client(
        "POST", "/uploads/", {**V9, "Upload-Complete": "?0", "Upload-Length": str(65 << 20)}, b""
    )
    assert answer.status == 413
    assert "max-size=67108864" in (answer.header("upload-limit") or "")


def test_upload_complete_is_required_and_invalid_values_are_ignored(client: Client) -> None:
    for value in (None, "1", "?2", "true"):
        headers = dict(V9)
        if value is not None:
            headers["Upload-Complete"] = value
        answer = client("POST", "/uploads/", headers, b"abc")
        assert answer.status == 400, value
        assert b"Upload-Complete" in answer.body


def test_an_invalid_upload_length_is_ignored(client: Client) -> None:
    answer = client.create(b"abc", complete=True, **{"Upload-Length": "ten"})
    assert answer.header("upload-length") == "3"


def test_file_name_and_type_come_from_the_representation_metadata(client: Client) -> None:
    answer = client.create(
        b"hello",
        complete=True,
        **{
            "Content-Type": "text/plain; charset=utf-8",
            "Content-Disposition": "inline; filename=\"a b.txt\"; filename*=UTF-8''%C3%A4%20b.txt",
        },
    )
    got = httpx.get(answer.header("location") or "")
    assert got.headers["content-type"].startswith("text/plain")
    assert "filename*=UTF-8''%C3%A4%20b.txt" in got.headers["content-disposition"]


def test_put_names_the_file_and_gets_its_own_url(client: Client) -> None:
    answer = client("PUT", "/uploads/report.pdf", {**V9, "Upload-Complete": "?1"}, b"%PDF-1.7 tiny")
    assert answer.status == 201
    location = answer.header("location") or ""
    assert not location.endswith("report.pdf")
    got = httpx.get(location)
    assert got.content == b"%PDF-1.7 tiny"
    assert 'filename="report.pdf"' in got.headers["content-disposition"]


def test_tus_metadata_from_tus_js_client_is_kept(client: Client) -> None:
    answer = client(
        "POST",
        "/uploads/",
        {**V6, "Upload-Complete": "?1", "Upload-Metadata": "filename bm90ZXMudHh0"},
        b"notes",
    )
    got = httpx.get(answer.header("location") or "")
    assert 'filename="notes.txt"' in got.headers["content-disposition"]


def test_interop_6_creation_must_not_carry_an_offset(client: Client) -> None:
    answer = client(
        "POST", "/uploads/", {**V6, "Upload-Complete": "?1", "Upload-Offset": "0"}, b"abc"
    )
    assert answer.status == 400


def test_without_an_interop_version_it_is_a_conventional_upload(client: Client) -> None:
    data = b"plain old upload"
    answer = client("POST", "/uploads/", {"Upload-Complete": "?0"}, data)
    assert answer.status == 201
    assert not answer.interim  # never a 104 without the interop version
    assert answer.header("upload-complete") == "?1"  # Upload-Complete was ignored
    assert httpx.get(answer.header("location") or "").content == data
    assert hashlib.sha256(data).digest()
