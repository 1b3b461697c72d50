"""104 (Upload Resumption Supported): the upload's URL before the content is read, progress
offsets while it streams, 100-continue beside it; resuming an interrupted creation from
the 104; concurrent requests on one upload (the engine's lock release rule)."""

from __future__ import annotations

import contextlib
import os
import time

import httpx

from .conftest import PARTIAL, V6, V9, Client
from .raw import Raw


def wait_offset(client: Client, url: str, expected: int) -> int:
    offset = -1
    for _ in range(100):
        offset = int(client.head(url).header("upload-offset") or -1)
        if offset == expected:
            break
        time.sleep(0.05)
    return offset


def test_progress_104s_report_recorded_offsets_without_location(client: Client) -> None:
    data = os.urandom(64 * 1024 * 12)
    with Raw(client.port) as raw:
        raw.start("POST", "/uploads/", {**V9, "Upload-Complete": "?1"}, len(data))
        status, first = raw.interim()  # sent before any content was read
        assert status == 104 and first["location"].startswith(client.base)
        url = first["location"]
        for i in range(12):
            raw.send(data[i * 65536 : (i + 1) * 65536])
            time.sleep(0.08)
            if i == 6:  # what a 104 reported is recorded: a download (no lock, unlike a
                # HEAD, which would stop this transfer) already covers it
                seen = [int(h["upload-offset"]) for s, h in raw.interims if "upload-offset" in h]
                got = httpx.get(url, headers={"Range": "bytes=0-"})
                recorded = int(got.headers.get("content-range", "/0").rsplit("/", 1)[1])
                assert got.status_code == 206 and recorded >= max(seen, default=0)
        raw.end()
        answer = raw.answer()
        assert answer.status == 201 and answer.header("upload-complete") == "?1"
        progress = [h for s, h in answer.interim if "upload-offset" in h]
        assert len(progress) >= 2, answer.interim
        offsets = [int(h["upload-offset"]) for h in progress]
        assert offsets == sorted(offsets) and offsets[0] > 0 and offsets[-1] <= len(data)
        assert all(
            "location" not in h and h["upload-draft-interop-version"] == "9" for h in progress
        )
        assert httpx.get(url).content == data


def test_the_104_carries_the_requested_interop_version(client: Client) -> None:
    for version in ("6", "8", "5"):
        answer = client(
            "POST",
            "/uploads/",
            {"Upload-Draft-Interop-Version": version, "Upload-Complete": "?1"},
            b"abc",
        )
        assert answer.interim[0][1]["upload-draft-interop-version"] == version


def test_expect_100_continue_gets_its_100_besides_the_104(client: Client) -> None:
    with Raw(client.port) as raw:
        raw.start("POST", "/uploads/", {**V9, "Upload-Complete": "?1", "Expect": "100-continue"}, 3)
        statuses = {raw.interim()[0], raw.interim()[0]}
        assert statuses == {100, 104}
        raw.send(b"abc")
        raw.end()
        assert raw.answer().status == 201


def test_an_interrupted_creation_resumes_from_the_104s_location(client: Client) -> None:
    data = os.urandom(3 * 1024 * 1024)
    half = len(data) // 2
    with Raw(client.port) as raw:
        raw.start("POST", "/uploads/", {**V9, "Upload-Complete": "?1"}, len(data))
        url = raw.interim()[1]["location"]
        raw.send(data[:half])
        time.sleep(0.2)
        raw.close()  # the network goes away mid-body
        offset = wait_offset(client, url, half)
        assert offset == half
        assert client.head(url).header("upload-complete") == "?0"
        done = client.append(url, offset, data[offset:], complete=True)
        assert done.status == 201 and done.header("upload-complete") == "?1"
        assert httpx.get(url).content == data


def test_head_stops_a_stale_transfer_and_its_offset_is_accepted(client: Client) -> None:
    """The draft's concurrency rule: a client asks for the offset only after a transfer
    failed from its side, and the offset it is told MUST be accepted by its next append.
    So HEAD stops the running transfer first (keeping and recording what it received)."""
    url = client.create(b"").header("location") or ""
    with Raw(client.port) as stale:
        stale.start(
            "PATCH",
            client.path(url),
            {**V9, **PARTIAL, "Upload-Offset": "0", "Upload-Complete": "?1"},
            3000,
        )
        stale.send(b"a" * 1000)  # then nothing: from the client's side this request failed
        time.sleep(0.3)
        offset = int(client.head(url).header("upload-offset") or -1)
        assert offset == 1000  # stopped, and what it received was kept and recorded
        try:
            stale_answer = stale.answer()
            assert stale_answer.status == 503  # handed over to the client's next request
            assert stale_answer.header("upload-complete") == "?0"
        except ConnectionError:
            pass  # or the server closed it
        retry = client.append(url, offset, b"b" * 2000, complete=True)
        assert retry.status == 201, retry.body
        assert httpx.get(url).content == b"a" * 1000 + b"b" * 2000


def test_a_retry_at_the_recorded_offset_supersedes_the_running_transfer(
    client: Client,
) -> None:
    """Without asking first, a retry at the recorded offset takes over at once."""
    url = client.create(b"").header("location") or ""
    with Raw(client.port) as stale:
        stale.start(
            "PATCH",
            client.path(url),
            {**V9, **PARTIAL, "Upload-Offset": "0", "Upload-Complete": "?1"},
            2000,
        )
        stale.send(b"a" * 1000)
        time.sleep(0.3)
        retry = client.append(url, 0, b"b" * 2000, complete=True)
        assert retry.status == 201, retry.body
        assert httpx.get(url).content == b"b" * 2000  # the stale bytes were dropped
        with contextlib.suppress(ConnectionError):  # or the server closed it
            assert stale.answer().status == 503


def test_interop_6_profile_end_to_end(client: Client) -> None:
    answer = client(
        "POST", "/uploads/", {**V6, "Upload-Complete": "?0", "Upload-Length": "6"}, b"ab"
    )
    url = answer.header("location") or ""
    assert answer.interim[0][1]["upload-draft-interop-version"] == "6"
    assert "expires=" in answer.interim[0][1]["upload-limit"]
    done = client.append(url, 2, b"cdef", complete=True, **V6)
    assert (done.status, done.header("upload-complete"), done.header("upload-offset")) == (
        201,
        "?1",
        "6",
    )
