"""The next services' shapes over real HTTP: the queue store (envelope errors, compressed
JSON, query params, several statuses) and the resumable-upload draft (problem details,
104 interim responses)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT, fixture_command, generate_package, import_generated, load_fixture, serve
from starlette.applications import Starlette

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("services")
    for name in ("queues", "resumable"):
        generate_package(load_fixture(name).build(), parent, f"gen_{name}", fixture_command(name))
    return parent


def test_generated_packages_type_check(packages: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            str(packages / "gen_queues"),
            str(packages / "gen_resumable"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def queues(packages: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    g = import_generated("gen_queues", "queues")
    svc, errors = g["service"], g["errors"]

    class Queues:
        def __init__(self) -> None:
            self.queues: dict[str, int] = {}
            self.seen: dict[str, Any] = {}

        async def put_queue(self, payload: Any, body: Any) -> Any:
            info = svc.QueueInfo(name=payload.queue, max_messages=body.max_messages)
            if payload.queue in self.queues:
                return svc.PutQueueResult(status=200, body=info)
            self.queues[payload.queue] = body.max_messages
            return svc.PutQueueResult(status=201, location=f"/v1/queues/{payload.queue}", body=info)

        async def delete_queue(self, payload: Any) -> Any:
            if self.queues.pop(payload.queue, None) is None:
                raise errors.NotFound(f"no queue {payload.queue}")
            return svc.DeleteQueueResult()

        async def push(self, payload: Any, body: Any) -> Any:
            size = sum([len(c) async for c in body])
            message = svc.Message(id="m1", size=size, content_type=payload.content_type)
            return svc.PushResult(location="/v1/queues/q/messages/m1", body=message)

        async def list(self, payload: Any) -> Any:
            self.seen = payload.model_dump()
            n = payload.limit
            messages = [svc.Message(id=f"message-{i}", size=i) for i in range(n)]
            return svc.ListResult(x_count=n, body=svc.Page(messages=messages, next=None))

        async def count(self, payload: Any) -> Any:
            return svc.CountResult(x_count=3)

        async def pop(self, payload: Any) -> Any:
            async def chunks() -> AsyncIterator[bytes]:
                yield b"x" * 5000

            return svc.PopResult(content_type="text/plain", body=chunks())

        async def ack(self, payload: Any, body: Any) -> Any:
            if body.ids:
                raise errors.MissingChunks("chunks missing", missing_chunks=[1, 4])
            return svc.AckResult()

    server = g["server"]
    impl = Queues()
    app = Starlette(routes=server.make_routes(impl))
    with serve(app) as url:
        yield url, {**g, "impl": impl}


async def test_query_params_defaults_percent_decoding_and_problems(
    queues: tuple[str, dict[str, Any]],
) -> None:
    url, g = queues
    async with httpx.AsyncClient(base_url=url) as h:
        ok = await h.get("/v1/queues/q1/messages?cursor=a%20b%2Fc&other=ignored&wait=2.5")
        assert ok.status_code == 200 and ok.headers["x-count"] == "100"  # default limit
        assert g["impl"].seen == {"queue": "q1", "limit": 100, "cursor": "a b/c", "wait": 2.5}
        bad = await h.get("/v1/queues/q1/messages?limit=0&wait=soon")
        bad_name = await h.get("/v1/queues/no%20spaces/messages?limit=x")
    assert bad.status_code == 400
    assert bad.json() == {
        "status": "error",
        "error": {
            "code": "bad_request",
            "message": "limit must be an integer between 1 and 1000; wait must be a number "
            "between 0 and 30",
            "errors": [
                {
                    "in": "query",
                    "name": "limit",
                    "message": "must be an integer between 1 and 1000",
                },
                {"in": "query", "name": "wait", "message": "must be a number between 0 and 30"},
            ],
        },
    }
    assert [p["name"] for p in bad_name.json()["error"]["errors"]] == ["queue", "limit"]


async def test_compression_follows_accept_encoding(queues: tuple[str, dict[str, Any]]) -> None:
    url, _ = queues
    path = "/v1/queues/q1/messages?limit=50"
    async with httpx.AsyncClient(base_url=url) as h:
        gz = await h.get(path, headers={"Accept-Encoding": "gzip"})
        raw_gz = await h.send(
            h.build_request("GET", path, headers={"Accept-Encoding": "gzip"}), stream=True
        )
        body_gz = b"".join([c async for c in raw_gz.aiter_raw()])
        defl = await h.send(
            h.build_request("GET", path, headers={"Accept-Encoding": "gzip;q=0.5, deflate"}),
            stream=True,
        )
        body_defl = b"".join([c async for c in defl.aiter_raw()])
        refused = await h.get(path, headers={"Accept-Encoding": "gzip;q=0, deflate;q=0"})
        small = await h.get("/v1/queues/q1/messages?limit=1", headers={"Accept-Encoding": "gzip"})
        forced = await h.get(
            "/v1/queues/q1/messages?limit=1", headers={"Accept-Encoding": "gzip, identity;q=0"}
        )
        popped = await h.get("/v1/queues/q1/head", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["content-encoding"] == "gzip" and gz.headers["vary"] == "Accept-Encoding"
    assert gz.headers["content-type"] == "application/json; charset=utf-8"
    plain = json.loads(gzip.decompress(body_gz))
    assert len(plain["messages"]) == 50 and plain["next"] is None
    assert int(raw_gz.headers["content-length"]) == len(body_gz) < len(json.dumps(plain))
    assert defl.headers["content-encoding"] == "deflate"
    assert json.loads(zlib.decompress(body_defl)) == plain
    assert "content-encoding" not in refused.headers and refused.json() == plain
    assert refused.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in small.headers  # under the 860-byte threshold
    assert forced.headers["content-encoding"] == "gzip"  # identity refused
    assert "content-encoding" not in popped.headers and popped.content == b"x" * 5000


async def test_statuses_bodies_and_envelope_errors(queues: tuple[str, dict[str, Any]]) -> None:
    url, g = queues
    spec = {"maxMessages": 5}
    async with httpx.AsyncClient(base_url=url) as h:
        first = await h.put("/v1/queues/jobs", json=spec)
        again = await h.put("/v1/queues/jobs", json=spec)
        wrong_type = await h.put(
            "/v1/queues/jobs", content=json.dumps(spec), headers={"Content-Type": "text/plain"}
        )
        invalid = await h.put("/v1/queues/jobs", json={"maxMessages": 0, "label": 3})
        head = await h.head("/v1/queues/jobs/messages")
        pushed = await h.post(
            "/v1/queues/jobs/messages", content=b"abc", headers={"Content-Type": "text/plain"}
        )
        acked = await h.post("/v1/queues/jobs/ack", json={"ids": []})
        missing = await h.post("/v1/queues/jobs/ack", json={"ids": ["a"]})
        deleted = await h.delete("/v1/queues/jobs")
        gone = await h.delete("/v1/queues/jobs")
        not_allowed = await h.patch("/v1/queues/jobs")
    assert first.status_code == 201 and first.headers["location"] == "/v1/queues/jobs"
    assert first.json() == {"name": "jobs", "maxMessages": 5}
    assert again.status_code == 200 and "location" not in again.headers
    assert wrong_type.status_code == 415
    assert wrong_type.json()["error"]["code"] == "unsupported_media_type"
    assert invalid.status_code == 400
    assert [p["name"] for p in invalid.json()["error"]["errors"]] == ["maxMessages", "label"]
    assert head.status_code == 200 and head.headers["x-count"] == "3" and head.content == b""
    assert pushed.status_code == 201 and pushed.json() == {
        "id": "m1",
        "size": 3,
        "contentType": "text/plain",
    }
    assert acked.status_code == 200 and acked.content == b""
    assert missing.status_code == 409 and missing.json() == {
        "status": "error",
        "error": {"code": "missing_chunks", "message": "chunks missing"},
        "missingChunks": [1, 4],
    }
    assert deleted.status_code == 204
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "queue_not_found"
    assert not_allowed.status_code == 405 and not_allowed.headers["allow"] == "DELETE, PUT"
    assert not_allowed.json()["error"]["code"] == "method_not_allowed"

    client = g["client"].QueuesClient(url + "/v1/queues")
    svc, errors = g["service"], g["errors"]
    try:
        page = await client.list(svc.ListPayload(queue="q", limit=2, cursor="x y"))
        assert [m.id for m in page.body.messages] == ["message-0", "message-1"]
        assert g["impl"].seen["cursor"] == "x y"
        made = await client.put_queue(
            svc.PutQueuePayload(queue="c1"), svc.QueueSpec(max_messages=2)
        )
        assert made.status == 201 and made.location == "/v1/queues/c1"
        with pytest.raises(errors.MissingChunks) as info:
            await client.ack(svc.AckPayload(queue="c1"), svc.Ack(ids=["z"]))
        assert info.value.missing_chunks == [1, 4]
        with pytest.raises(errors.BadRequest) as bad:
            await client.list(svc.ListPayload(queue="q", limit=5000))
        assert [p.name for p in bad.value.problems] == ["limit"]
    finally:
        await client.aclose()


async def test_routing_errors_in_the_service_format(queues: tuple[str, dict[str, Any]]) -> None:
    _, g = queues
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/nowhere", "headers": []}
    await g["server"].send_routing_error(scope, send, 404)
    assert sent[0]["status"] == 404
    assert json.loads(sent[1]["body"])["error"]["code"] == "not_found"
    sent.clear()
    await g["server"].send_routing_error({**scope, "method": "POST"}, send, 405, ["GET"])
    assert (b"allow", b"GET") in sent[0]["headers"]


@pytest.fixture(scope="module")
def resumable(packages: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    g = import_generated("gen_resumable", "uploads")
    svc, errors = g["service"], g["errors"]

    class Uploads:
        informed: list[bool] = []

        async def create(self, payload: Any, body: Any) -> Any:
            Uploads.informed.append(
                await body.inform(104, [("Location", "/uploads/u1"), ("Upload-Offset", "0")])
            )
            size = sum([len(c) async for c in body])
            return svc.CreateResult(location="/uploads/u1", upload_offset=size)

        async def append(self, payload: Any, body: Any) -> Any:
            if payload.upload_offset != 5:
                raise errors.MismatchingOffset(
                    "offset mismatch", expected_offset=5, provided_offset=payload.upload_offset
                )
            return svc.AppendResult(upload_offset=5 + sum([len(c) async for c in body]))

    impl = Uploads()
    app = Starlette(routes=g["server"].make_routes(impl))
    with serve(app) as url:
        yield url, {**g, "impl": impl, "app": app}


async def test_problem_details(resumable: tuple[str, dict[str, Any]]) -> None:
    url, g = resumable
    async with httpx.AsyncClient(base_url=url) as h:
        created = await h.post("/uploads", content=b"hello")
        mismatch = await h.patch("/uploads/u1", content=b"x", headers={"Upload-Offset": "2"})
        bad = await h.patch("/uploads/u1", content=b"x", headers={"Upload-Offset": "-1"})
        missing = await h.patch("/uploads/NOT-VALID", content=b"x", headers={"Upload-Offset": "1"})
    assert created.status_code == 201 and created.headers["upload-offset"] == "5"
    assert g["impl"].informed == [False]  # uvicorn offers no informational extension
    assert mismatch.status_code == 409
    assert mismatch.headers["content-type"] == "application/problem+json"
    assert mismatch.json() == {
        "type": "https://iana.org/assignments/http-problem-types#mismatching-upload-offset",
        "title": "offset from request does not match offset of resource",
        "status": 409,
        "detail": "offset mismatch",
        "code": "mismatching_upload_offset",
        "expected-offset": 5,
        "provided-offset": 2,
    }
    assert bad.status_code == 400 and bad.json()["type"] == "about:blank"
    assert (
        bad.json()["title"] == "Bad Request" and bad.json()["errors"][0]["name"] == "Upload-Offset"
    )
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    client = g["client"].UploadsClient(url + "/uploads")
    try:
        with pytest.raises(g["errors"].MismatchingOffset) as info:
            await client.append(g["service"].AppendPayload(id="u1", upload_offset=1), b"x")
        assert (info.value.expected_offset, info.value.provided_offset) == (5, 1)
    finally:
        await client.aclose()


async def test_interim_104_through_an_asgi_server_that_offers_it(
    resumable: tuple[str, dict[str, Any]],
) -> None:
    """A fake ASGI server that advertises `http.response.informational` records the 104."""
    _, g = resumable
    sent: list[dict[str, Any]] = []
    messages = iter([{"type": "http.request", "body": b"abc", "more_body": False}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/uploads",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "extensions": {"http.response.informational": {}},
    }
    await g["app"](scope, receive, send)
    assert sent[0] == {
        "type": "http.response.informational",
        "status": 104,
        "headers": [(b"location", b"/uploads/u1"), (b"upload-offset", b"0")],
    }
    assert sent[1]["type"] == "http.response.start" and sent[1]["status"] == 201
    assert g["impl"].informed[-1] is True
