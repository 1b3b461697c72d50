"""Generality: the stream-store design (seed 002) and the tiny design (JSON bodies,
trailers) generate, type-check with mypy, and serve a test implementation over HTTP."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT, fixture_command, generate_package, import_generated, load_fixture, serve
from fastapi import FastAPI

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("generated")
    for name in ("streams", "tiny"):
        api = load_fixture(name).build()
        generate_package(api, parent, f"gen_{name}", fixture_command(name))
    return parent


def test_generated_packages_type_check(packages: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", str(packages / "gen_streams"), str(packages / "gen_tiny")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def streams(packages: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    g = import_generated("gen_streams", "streams")
    svc, errors = g["service"], g["errors"]

    class Store:
        """An in-memory stream store written for the test."""

        def __init__(self) -> None:
            self.data: dict[str, bytes] = {}

        async def _store(self, body: AsyncIterator[bytes]) -> Any:
            stream_id = str(uuid.uuid4())
            self.data[stream_id] = b"".join([c async for c in body])
            return svc.CreateResult(body=svc.StreamStatus(id=stream_id, status="created"))

        async def create(self, payload: Any, body: AsyncIterator[bytes]) -> Any:
            return await self._store(body)

        async def put(self, payload: Any, body: AsyncIterator[bytes]) -> Any:
            result = await self._store(body)
            return svc.PutResult(body=result.body)

        async def get(self, payload: Any) -> Any:
            if payload.id not in self.data:
                raise errors.NotFound(f"no stream {payload.id}")
            data = self.data[payload.id]

            async def chunks() -> AsyncIterator[bytes]:
                yield data

            return svc.GetResult(
                content_type="application/octet-stream",
                content_length=len(data),
                last_modified="Fri, 02 Jun 2017 12:24:07 GMT",
                body=chunks(),
            )

        async def delete(self, payload: Any) -> Any:
            if self.data.pop(payload.id, None) is None:
                raise errors.NotFound(f"no stream {payload.id}")
            return svc.DeleteResult(body=svc.StreamStatus(id=payload.id, status="deleted"))

    app = FastAPI()
    app.include_router(g["server"].make_router(Store()))
    with serve(app) as url:
        yield url, g


async def test_stream_store_round_trip(streams: tuple[str, dict[str, Any]]) -> None:
    url, g = streams
    async with httpx.AsyncClient(base_url=url) as h:
        created = await h.post("/v1/streams", content=b"some data")
        assert created.status_code == 201
        assert created.headers["content-type"] == "application/json"
        info = created.json()
        assert info["status"] == "created" and len(info["id"]) == 36
        put = await h.put("/v1/streams/", content=b"file")
        assert put.status_code == 201 and put.json()["status"] == "created"
        got = await h.get(f"/v1/streams/{info['id']}")
        assert got.status_code == 200 and got.content == b"some data"
        assert got.headers["accept-ranges"] == "bytes"
        assert got.headers["last-modified"] == "Fri, 02 Jun 2017 12:24:07 GMT"
        deleted = await h.delete(f"/v1/streams/{info['id']}")
        assert deleted.json() == {"id": info["id"], "status": "deleted"}
        missing = await h.delete(f"/v1/streams/{info['id']}")
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        bad_id = await h.get("/v1/streams/error-in-stream-id")
        assert bad_id.status_code == 404  # the id param answers NotFound when invalid

    client = g["client"].StreamsClient(url + "/v1/streams")
    svc = g["service"]
    try:
        made = await client.create(svc.CreatePayload(), b"via client")
        assert made.body.status == "created"
        fetched = await client.get(svc.GetPayload(id=made.body.id))
        assert fetched.content_length == len(b"via client")
        assert b"".join([c async for c in fetched.body]) == b"via client"
        with pytest.raises(g["errors"].NotFound):
            await client.delete(svc.DeletePayload(id=str(uuid.uuid4())))
    finally:
        await client.aclose()


@pytest.fixture(scope="module")
def tiny(packages: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    g = import_generated("gen_tiny", "items")
    svc = g["service"]

    class Items:
        trailers: dict[str, Any] = {}

        async def show(self, payload: Any) -> Any:
            return svc.ShowResult(x_count=payload.id)

        async def upload(self, payload: Any, body: Any) -> Any:
            n = sum([len(c) async for c in body])
            Items.trailers = dict(body.trailers)
            return svc.UploadResult(x_count=n)

        async def make(self, payload: Any, body: Any) -> Any:
            return svc.MakeResult(body=body.model_copy(update={"size": len(body.name)}))

    app = FastAPI()
    app.include_router(g["server"].make_router(Items(), base_path="/api/items"))
    with serve(app) as url:
        yield url, g


async def test_json_request_bodies(tiny: tuple[str, dict[str, Any]]) -> None:
    url, g = tiny
    async with httpx.AsyncClient(base_url=url) as h:
        ok = await h.post("/api/items", json={"name": "abc", "tags": ["x"]})
        json_type = {"Content-Type": "application/json"}
        bad = await h.post("/api/items", content=b'{"tags": [1]}', headers=json_type)
        broken = await h.post("/api/items/", content=b"{not json", headers=json_type)
        untyped = await h.post("/api/items", content=b'{"name": "abc"}')
        text = await h.post(
            "/api/items", content=b'{"name": "abc"}', headers={"Content-Type": "text/plain"}
        )
    assert ok.status_code == 201 and ok.json() == {"name": "abc", "tags": ["x"], "size": 3}
    assert "x-served-by" not in ok.headers  # skipped for make
    assert bad.status_code == 400
    names = [p["name"] for p in bad.json()["errors"]]
    assert names == ["name", "tags.0"] and bad.json()["errors"][0]["in"] == "body"
    assert broken.status_code == 400 and broken.json()["code"] == "bad_request"
    # a JSON body must say it is JSON
    assert untyped.status_code == text.status_code == 415
    assert text.json()["code"] == "unsupported_media_type"
    client = g["client"].ItemsClient(url + "/api/items")
    made = await client.make(g["service"].MakePayload(), g["service"].Item(name="four"))
    assert made.body.size == 4
    await client.aclose()


async def test_tiny_header_checks_and_constants(tiny: tuple[str, dict[str, Any]]) -> None:
    url, _ = tiny
    async with httpx.AsyncClient(base_url=url) as h:
        ok = await h.get("/api/items/7", headers={"X-Mode": "fast", "X-Flag": "TRUE"})
        bad = await h.get(
            "/api/items/7", headers={"X-Mode": "slow", "X-Flag": "yes", "X-Token": "ABCD"}
        )
        zero = await h.get("/api/items/0", headers={"X-Mode": "fast"})
    assert ok.status_code == 200 and ok.headers["x-count"] == "7"
    assert ok.headers["x-served-by"] == "tiny"
    assert [(p["name"], p["message"]) for p in bad.json()["errors"]] == [
        ("X-Mode", "must be one of: fast, safe"),
        ("X-Flag", "must be true or false"),
        ("X-Token", "must match ^[a-z]{3}$"),
    ]
    assert bad.headers["x-served-by"] == "tiny"  # constant headers on errors too
    assert zero.status_code == 404


async def test_declared_trailers_are_decoded_after_the_body(
    tiny: tuple[str, dict[str, Any]],
) -> None:
    """Trailers come from scope["extensions"]["http.request.trailers"] (set by the server)."""
    _, g = tiny
    svc = g["service"]
    received: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope.setdefault("extensions", {})["http.request.trailers"] = [
                (b"X-Token", received["token"])
            ]
        await inner(scope, receive, send)

    class Items:
        async def upload(self, payload: Any, body: Any) -> Any:
            n = sum([len(c) async for c in body])
            received["trailers"] = body.trailers
            return svc.UploadResult(x_count=n)

        async def show(self, payload: Any) -> Any:
            raise AssertionError("not called here")

        async def make(self, payload: Any, body: Any) -> Any:
            raise AssertionError("not called here")

    inner = FastAPI()
    inner.include_router(g["server"].make_router(Items()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as h:
        received["token"] = b"abc"
        ok = await h.put("/items/3", content=b"12345")
        received["token"] = b"TOOLONG"
        bad = await h.put("/items/3", content=b"12345")
    assert ok.status_code == 204 and ok.headers["x-count"] == "5"
    assert received["trailers"] == {"x_token": "abc"}
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        {"in": "trailer", "name": "X-Token", "message": "must match ^[a-z]{3}$"}
    ]
