"""HTTP hooks against a real receiver: every event once with tusd's payload, rejections
and changes from pre-create, per-user pre-access, and a failing hook that answers 503
fast and leaves nothing behind."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import httpx
import pytest

from tuskit.upload.settings import HOOK_EVENTS

from .conftest import MakeServer
from .helpers import TUS, create, patch, recorded_uploads, upload
from .receiver import Receiver

pytestmark = [pytest.mark.timeout(120)]

ALL_EVENTS = ",".join(HOOK_EVENTS)


def test_each_event_once_with_tusd_payload(make_server: MakeServer, receiver: Receiver) -> None:
    server = make_server(
        "--hooks-http", receiver.url, "--hooks-enabled-events", ALL_EVENTS,
        "--progress-hooks-interval", "0", "--hooks-http-forward-headers", "Authorization",
    )  # fmt: skip
    auth = {"Authorization": "Bearer secret-token-e2e"}
    created = create(server.url, 10, auth, filename="a.txt")
    assert created.status_code == 201
    url = created.headers["Location"]
    upload_id = url.rsplit("/", 1)[-1]
    assert patch(url, 0, b"hello", auth).status_code == 204
    assert patch(url, 5, b"world", auth).status_code == 204
    assert httpx.head(url, headers={**TUS, **auth}).status_code == 200
    assert httpx.delete(url, headers={**TUS, **auth}).status_code == 204
    receiver.wait_for("post-terminate")
    receiver.wait_for("post-finish")
    receiver.wait_for("post-receive", 2)
    time.sleep(0.3)  # nothing else may follow: give a duplicate the chance to show up
    counts: dict[str, int] = {}
    for hook in receiver.types():
        counts[hook] = counts.get(hook, 0) + 1
    assert counts == {
        "pre-create": 1, "post-create": 1, "pre-access": 4, "post-receive": 2, "pre-finish": 1,
        "post-finish": 1, "pre-terminate": 1, "post-terminate": 1,
    }  # fmt: skip

    ids = [h.body["EventID"] for h in receiver.hits]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    for hit in receiver.hits:
        assert hit.headers["Idempotency-Key"] == hit.body["EventID"]
        assert hit.headers["Hook-Name"] == hit.body["Type"]

    finish = receiver.of_type("post-finish")[0]
    assert finish["Event"]["Upload"] == {
        "ID": upload_id, "Size": 10, "SizeIsDeferred": False, "Offset": 10,
        "MetaData": {"filename": "a.txt"}, "IsPartial": False, "IsFinal": False,
        "PartialUploads": None, "Storage": None,
    }  # fmt: skip
    request = finish["Event"]["HTTPRequest"]
    assert request["Method"] == "PATCH" and request["URI"] == f"/files/{upload_id}"
    assert request["RemoteAddr"].startswith("127.0.0.1:")
    assert request["Header"]["Tus-Resumable"] == ["1.0.0"]
    assert "Authorization" not in request["Header"], "stored events keep no credentials"
    assert finish["Event"]["Protocol"] == "tus"

    pre_create = next(h for h in receiver.hits if h.body["Type"] == "pre-create")
    assert pre_create.body["Event"]["HTTPRequest"]["Header"]["Authorization"] == [
        auth["Authorization"]
    ]
    assert pre_create.headers["Authorization"] == auth["Authorization"]  # forwarded
    modes = [b["Event"]["Access"]["Mode"] for b in receiver.of_type("pre-access")]
    assert modes == ["write", "write", "read", "write"]
    access = receiver.of_type("pre-access")[2]["Event"]
    assert access["HTTPRequest"]["Method"] == "HEAD"
    assert access["Access"]["Uploads"][0]["ID"] == upload_id
    post_hits = [h for h in receiver.hits if h.body["Type"].startswith("post-")]
    assert all("Authorization" not in h.headers for h in post_hits)


def _reject_create(body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    if body["Type"] == "pre-create":
        return 200, {
            "RejectUpload": True,
            "HTTPResponse": {"StatusCode": 403, "Body": '{"error":"quota exceeded"}'},
        }
    return 200, {}


def test_pre_create_rejection_reaches_the_client(
    make_server: MakeServer, receiver: Receiver, tmp_path: Any
) -> None:
    receiver.answer = _reject_create
    server = make_server("--hooks-http", receiver.url)
    response = create(server.url, 5)
    assert response.status_code == 403
    assert response.json() == {"error": "quota exceeded"}
    assert recorded_uploads(server.data_dir) == 0


def _change_info(body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    if body["Type"] == "pre-create":
        meta = body["Event"]["Upload"]["MetaData"]
        return 200, {
            "ChangeFileInfo": {
                "ID": "custom-" + meta["want"],
                "MetaData": {"filename": "renamed.txt", "tenant": "t1"},
            }
        }
    return 200, {}


def test_change_file_info_id_and_metadata(make_server: MakeServer, receiver: Receiver) -> None:
    receiver.answer = _change_info
    server = make_server("--hooks-http", receiver.url)
    url = upload(server.url, b"abc", filename="orig.txt", want="x1")
    assert url == server.url + "custom-x1"
    head = httpx.head(url, headers=TUS)
    pairs = dict(p.split(" ") for p in head.headers["Upload-Metadata"].split(","))
    decoded = {k: base64.b64decode(v).decode() for k, v in pairs.items()}
    assert decoded == {"filename": "renamed.txt", "tenant": "t1"}
    assert httpx.get(url).content == b"abc"
    created = receiver.wait_for("post-create")[0]["Event"]["Upload"]
    assert created["ID"] == "custom-x1" and created["MetaData"]["tenant"] == "t1"


def _per_user(body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    """A receiver that records the creator and lets only them in (tokens are user names)."""
    event = body["Event"]
    user = event["HTTPRequest"]["Header"].get("Authorization", [""])[0].removeprefix("Bearer ")
    if body["Type"] == "pre-create":
        return 200, {"ChangeFileInfo": {"MetaData": {**event["Upload"]["MetaData"], "owner": user}}}
    if body["Type"] == "pre-access" and event["Upload"]["MetaData"].get("owner") != user:
        return 200, {
            "RejectAccess": True,
            "HTTPResponse": {"StatusCode": 403, "Body": '{"error":"not yours"}'},
        }
    return 200, {}


def test_pre_access_denies_other_users(make_server: MakeServer, receiver: Receiver) -> None:
    receiver.answer = _per_user
    server = make_server(
        "--hooks-http", receiver.url, "--hooks-enabled-events", "pre-create,pre-access"
    )
    alice = {"Authorization": "Bearer alice"}
    bob = {"Authorization": "Bearer bob"}
    created = create(server.url, 6, alice)
    url = created.headers["Location"]
    denied = [
        httpx.head(url, headers={**TUS, **bob}),
        patch(url, 0, b"abc", bob),
        httpx.get(url, headers=bob),
        httpx.delete(url, headers={**TUS, **bob}),
    ]
    for response in denied:
        assert response.status_code == 403, (response.request.method, response.status_code)
        if response.request.method != "HEAD":
            assert response.json() == {"error": "not yours"}
    assert patch(url, 0, b"abcdef", alice).status_code == 204
    assert httpx.head(url, headers={**TUS, **alice}).headers["Upload-Offset"] == "6"
    assert httpx.get(url, headers=alice).content == b"abcdef"
    assert httpx.delete(url, headers={**TUS, **alice}).status_code == 204


def test_failing_blocking_hook_answers_503_fast_and_creates_nothing(
    make_server: MakeServer, receiver: Receiver
) -> None:
    def slow(body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        time.sleep(3)
        return 200, {}

    receiver.answer = slow
    server = make_server(
        "--hooks-http", receiver.url, "--hooks-http-timeout", "0.3s", "--hooks-http-retries", "1",
        "--hooks-http-backoff", "0.1s",
    )  # fmt: skip
    started = time.monotonic()
    response = create(server.url, 5)
    assert time.monotonic() - started < 2.5
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["code"] == "hook_failed"
    assert recorded_uploads(server.data_dir) == 0
    assert "pre-create hook failed" in server.log()

    receiver.answer = lambda body: (500, None)
    assert create(server.url, 5).status_code == 503
    receiver.answer = lambda body: (200, {"RejectUpload": "yes"})  # malformed
    assert create(server.url, 5).status_code == 503
    assert recorded_uploads(server.data_dir) == 0


def _reject_finish(body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    if body["Type"] == "pre-finish":
        return 200, {
            "RejectUpload": True,
            "HTTPResponse": {"StatusCode": 422, "Body": '{"error":"virus found"}'},
        }
    return 200, {}


@pytest.mark.parametrize("keep", [True, False])
def test_pre_finish_rejection_keeps_or_removes(
    make_server: MakeServer, receiver: Receiver, keep: bool
) -> None:
    receiver.answer = _reject_finish
    server = make_server(
        "--hooks-http", receiver.url,
        "--hooks-enabled-events", "pre-finish,post-finish,post-terminate",
        "--hooks-pre-finish-rejected", "keep" if keep else "remove",
    )  # fmt: skip
    url = create(server.url, 4).headers["Location"]
    finished = patch(url, 0, b"evil")
    assert finished.status_code == 422 and finished.json() == {"error": "virus found"}
    head = httpx.head(url, headers=TUS)
    if keep:
        assert head.status_code == 200 and head.headers["Upload-Offset"] == "4"
        assert httpx.get(url).content == b"evil"  # kept for inspection
    else:
        assert head.status_code == 410
        receiver.wait_for("post-terminate")
    time.sleep(0.3)
    assert receiver.of_type("post-finish") == []


def test_oversized_hook_answer_is_a_failure(make_server: MakeServer, receiver: Receiver) -> None:
    receiver.answer = lambda body: (200, {"HTTPResponse": {"Body": "x" * 5000}})
    server = make_server("--hooks-http", receiver.url, "--hooks-http-max-response", "4KiB")
    response = create(server.url, 1)
    assert response.status_code == 503
    assert "more than 4096 bytes" in server.log()
