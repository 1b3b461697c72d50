"""Offset retrieval, upload append and cancellation (draft sections of the same names)."""

from __future__ import annotations

import json
import time

import httpx

from .conftest import PARTIAL, V6, V9, Client


def new(client: Client, body: bytes = b"", **headers: str) -> str:
    return client.create(body, **headers).header("location") or ""


def test_head_reports_offset_completeness_length_limits_and_no_store(client: Client) -> None:
    url = new(client, b"abc", **{"Upload-Length": "6"})
    state = client.head(url)
    assert state.status == 204
    assert state.header("upload-offset") == "3"
    assert state.header("upload-complete") == "?0"
    assert state.header("upload-length") == "6"
    assert "max-age=" in (state.header("upload-limit") or "")
    assert state.header("cache-control") == "no-store"


def test_head_without_a_known_length_omits_it(client: Client) -> None:
    assert client.head(new(client)).header("upload-length") is None


def test_appends_move_the_offset_and_the_last_one_completes(client: Client) -> None:
    url = new(client)
    one = client.append(url, 0, b"hello ")
    assert one.status == 204
    assert (one.header("upload-complete"), one.header("upload-offset")) == ("?0", "6")
    two = client.append(url, 6, b"world", complete=True)
    assert two.status == 201
    assert two.header("upload-complete") == "?1"
    assert two.header("location") == url
    assert two.header("upload-length") == "11"
    assert httpx.get(url).content == b"hello world"
    state = client.head(url)
    assert (state.header("upload-complete"), state.header("upload-offset")) == ("?1", "11")


def test_a_wrong_offset_is_409_with_the_problem_and_the_right_offset(client: Client) -> None:
    url = new(client, b"abc")
    answer = client.append(url, 7, b"x")
    assert answer.status == 409
    assert answer.header("upload-offset") == "3"
    assert answer.header("upload-complete") == "?0"
    problem = json.loads(answer.body)
    assert problem["type"] == (
        "https://iana.org/assignments/http-problem-types#mismatching-upload-offset"
    )
    assert (problem["expected-offset"], problem["provided-offset"]) == (3, 7)
    assert client.head(url).header("upload-offset") == "3"  # nothing appended


def test_append_needs_the_partial_upload_media_type(client: Client) -> None:
    url = new(client)
    answer = client(
        "PATCH",
        url,
        {**V9, "Upload-Offset": "0", "Upload-Complete": "?0", "Content-Type": "text/plain"},
        b"abc",
    )
    assert answer.status == 415
    assert client.head(url).header("upload-offset") == "0"


def test_append_needs_offset_and_complete(client: Client) -> None:
    url = new(client)
    missing_offset = client("PATCH", url, {**V9, **PARTIAL, "Upload-Complete": "?0"}, b"a")
    assert missing_offset.status == 400
    bad_offset = client.append(url, 0, b"a", **{"Upload-Offset": "-1"})
    assert bad_offset.status == 400
    missing_complete = client("PATCH", url, {**V9, **PARTIAL, "Upload-Offset": "0"}, b"a")
    assert missing_complete.status == 400


def test_length_indicators_must_agree_across_requests(client: Client) -> None:
    url = new(client, b"abc", **{"Upload-Length": "10"})
    answer = client.append(url, 3, b"defg", complete=True)  # 7 bytes, not 10
    assert answer.status == 400
    assert b"#inconsistent-upload-length" in answer.body
    another = client.append(url, 3, b"d", **{"Upload-Length": "12"})
    assert another.status == 400
    assert b"#inconsistent-upload-length" in another.body


def test_a_completing_append_shorter_than_the_length_keeps_its_bytes(client: Client) -> None:
    url = new(client, b"abc", **{"Upload-Length": "10"})
    answer = client(
        "PATCH",
        url,
        {**V9, **PARTIAL, "Upload-Offset": "3", "Upload-Complete": "?1"},
        b"de",
        chunked=True,
    )
    assert answer.status == 400
    state = client.head(url)
    assert (state.header("upload-offset"), state.header("upload-complete")) == ("5", "?0")


def test_content_past_the_length_invalidates_the_upload(client: Client) -> None:
    url = new(client, b"abc", **{"Upload-Length": "5"})
    answer = client(
        "PATCH",
        url,
        {**V9, **PARTIAL, "Upload-Offset": "3", "Upload-Complete": "?0"},
        b"defgh",
        chunked=True,
    )
    assert answer.status == 400
    assert b"#inconsistent-upload-length" in answer.body
    assert client.head(url).status == 410


def test_a_completed_upload_takes_no_more_content(client: Client) -> None:
    url = client.create(b"done", complete=True).header("location") or ""
    answer = client.append(url, 4, b"more")
    assert answer.status == 400
    assert b"#completed-upload" in answer.body
    # an empty completing append (the client lost the final answer) gets it again
    again = client.append(url, 4, b"", complete=True)
    assert (again.status, again.header("upload-complete")) == (201, "?1")


def test_the_offset_never_decreases_and_interrupted_content_is_kept(client: Client) -> None:
    from .raw import Raw

    url = new(client)
    with Raw(client.port) as raw:
        raw.start(
            "PATCH",
            client.path(url),
            {**V9, **PARTIAL, "Upload-Offset": "0", "Upload-Complete": "?1"},
            1000,
        )
        raw.send(b"z" * 400)
        raw.close()  # the client loses its connection mid-body
        state = client.head(url)
        for _ in range(50):
            if state.header("upload-offset") == "400":
                break
            time.sleep(0.05)
            state = client.head(url)
        assert state.header("upload-offset") == "400"
        assert state.header("upload-complete") == "?0"  # not complete: the content did not end


def test_delete_cancels_and_later_requests_are_gone(client: Client) -> None:
    url = new(client, b"abc")
    assert client("DELETE", url, dict(V9)).status == 204
    assert client.head(url).status == 410
    assert client.append(url, 3, b"d").status == 410
    assert client("DELETE", url, dict(V9)).status == 410
    assert client.head(client.base + "0" * 32).status == 404


def test_interop_6_refuses_upload_fields_on_head_and_delete(client: Client) -> None:
    url = new(client, b"abc")
    assert client("HEAD", url, {**V6, "Upload-Offset": "3"}).status == 400
    assert client("HEAD", url, {**V6, "Upload-Complete": "?0"}).status == 400
    assert client("DELETE", url, {**V6, "Upload-Complete": "?1"}).status == 400
    assert client("HEAD", url, dict(V6)).status == 204
    # interop 9 has no such rule
    assert client("HEAD", url, {**V9, "Upload-Offset": "3"}).status == 204


def test_interop_6_acknowledges_appends_with_201_and_expires(client: Client) -> None:
    url = client("POST", "/uploads/", {**V6, "Upload-Complete": "?0"}, b"ab").header("location")
    assert url
    answer = client.append(url, 2, b"cd", **V6)
    assert answer.status == 201
    assert answer.header("upload-offset") == "4"
    assert answer.header("upload-complete") == "?0"
    assert "expires=" in (client.head(url, **V6).header("upload-limit") or "")
    assert "max-age=" in (client.head(url).header("upload-limit") or "")


def test_options_lists_the_limits(client: Client) -> None:
    answer = client("OPTIONS", "/uploads/", dict(V9))
    assert answer.status == 204
    assert answer.header("upload-limit") == "max-size=67108864, max-age=3600"
    assert client("OPTIONS", "/uploads/", dict(V6)).header("upload-limit") == (
        "max-size=67108864, expires=3600"
    )
