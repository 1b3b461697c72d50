"""The generated tus router under uvicorn, driven by the generated client and raw httpx."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import psutil
import pytest
from conftest import serve
from fastapi import FastAPI

from tusgen.runtime import BodyStream, UnexpectedResponse
from tuskit.gen.http.cors import cors_middleware
from tuskit.gen.http.tus.client import TusClient
from tuskit.gen.http.tus.server import make_router
from tuskit.gen.tus import errors as e
from tuskit.gen.tus import service as s

pytestmark = pytest.mark.anyio
V = {"Tus-Resumable": "1.0.0"}


class Recorder:
    """A small tus service written for the test: records payloads, counts body bytes."""

    def __init__(self) -> None:
        self.payloads: list[object] = []
        self.received = 0
        self.max_chunk = 0
        self.trailers: dict[str, object] = {}

    async def _drain(self, body: BodyStream) -> int:
        n = 0
        async for chunk in body:
            n += len(chunk)
            self.max_chunk = max(self.max_chunk, len(chunk))
        self.received += n
        self.trailers = dict(body.trailers)
        return n

    async def options(self, payload: s.OptionsPayload) -> s.OptionsResult:
        return s.OptionsResult(tus_version="1.0.0", tus_extension="creation", tus_max_size=10)

    async def options_upload(self, payload: s.OptionsUploadPayload) -> s.OptionsUploadResult:
        return s.OptionsUploadResult(tus_version="1.0.0")

    async def create(self, payload: s.CreatePayload, body: BodyStream) -> s.CreateResult:
        self.payloads.append(payload)
        n = await self._drain(body)
        return s.CreateResult(location="/files/abc", upload_offset=n)

    async def head(self, payload: s.HeadPayload) -> s.HeadResult:
        self.payloads.append(payload)
        if payload.id == "gone":
            raise e.Gone("terminated")
        return s.HeadResult(upload_offset=5, upload_length=10, upload_metadata="k dg==")

    async def patch(self, payload: s.PatchPayload, body: BodyStream) -> s.PatchResult:
        self.payloads.append(payload)
        if payload.upload_offset != 0:
            raise e.OffsetMismatch("offset is 0", upload_offset=0)
        n = await self._drain(body)
        if payload.upload_checksum == "sha1 bad=":
            raise e.ChecksumMismatch("checksum mismatch", upload_offset=0)
        return s.PatchResult(upload_offset=n)

    async def delete(self, payload: s.DeletePayload) -> s.DeleteResult:
        if payload.id == "busy":
            raise e.Unavailable("shutting down", retry_after=1)
        raise RuntimeError("unexpected")

    async def get(self, payload: s.GetPayload) -> s.GetResult:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"hel"
            yield b"lo"

        if payload.range:
            return s.GetResult(status=206, content_range="bytes 0-4/10", body=chunks())
        return s.GetResult(content_type="text/plain", etag='"x"', body=chunks())


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def base_url(recorder: Recorder) -> Iterator[str]:
    app = FastAPI(middleware=[cors_middleware()])
    app.include_router(make_router(recorder, base_path="/files/"))
    with serve(app) as url:
        yield url


async def test_headers_are_decoded_and_typed(base_url: str, recorder: Recorder) -> None:
    async with TusClient(base_url + "/files") as client:
        result = await client.head(s.HeadPayload(id="abc", tus_resumable="1.0.0"))
    assert result == s.HeadResult(upload_offset=5, upload_length=10, upload_metadata="k dg==")
    assert recorder.payloads[-1] == s.HeadPayload(id="abc", tus_resumable="1.0.0")


async def test_bad_headers_answer_one_400_listing_every_problem(base_url: str) -> None:
    async with httpx.AsyncClient() as h:
        r = await h.post(
            base_url + "/files",
            headers={
                **V,
                "Upload-Length": "-1",
                "Upload-Concat": "nope",
                "Upload-Defer-Length": "2",
            },
        )
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/json"
    assert r.headers["tus-resumable"] == "1.0.0"
    body = r.json()
    assert body["code"] == "bad_request"
    assert body["errors"] == [
        {"in": "header", "name": "Upload-Length", "message": "must be an integer >= 0"},
        {"in": "header", "name": "Upload-Defer-Length", "message": "must be one of: 1"},
        {"in": "header", "name": "Upload-Concat", "message": "must match ^(partial|final;.*)$"},
    ]


async def test_on_invalid_answers_the_declared_errors(base_url: str) -> None:
    async with httpx.AsyncClient() as h:
        missing = await h.head(base_url + "/files/abc")
        wrong = await h.patch(base_url + "/files/abc", headers={"Tus-Resumable": "0.2.2"})
        media = await h.patch(
            base_url + "/files/abc", headers={**V, "Upload-Offset": "0", "Content-Type": "x/y"}
        )
        bad_id = await h.delete(base_url + "/files/not%20valid", headers=V)
    assert missing.status_code == 412 and missing.headers["tus-version"] == "1.0.0"
    assert missing.content == b""  # HEAD never carries a body
    assert wrong.status_code == 412
    assert wrong.json() == {
        "code": "unsupported_version",
        "message": "Tus-Resumable must be one of: 1.0.0",
    }
    assert media.status_code == 415 and media.json()["code"] == "unsupported_media_type"
    assert bad_id.status_code == 404 and bad_id.json()["code"] == "not_found"


async def test_statuses_and_headers_are_encoded_as_declared(base_url: str) -> None:
    async with httpx.AsyncClient() as h:
        opt = await h.options(base_url + "/files")
        head = await h.head(base_url + "/files/abc", headers=V)
        conflict = await h.patch(
            base_url + "/files/abc",
            headers={**V, "Upload-Offset": "3", "Content-Type": "application/offset+octet-stream"},
        )
        checksum = await h.patch(
            base_url + "/files/abc",
            content=b"abc",
            headers={
                **V,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
                "Upload-Checksum": "sha1 bad=",
            },
        )
        busy = await h.delete(base_url + "/files/busy", headers=V)
        boom = await h.delete(base_url + "/files/abc", headers=V)
    assert opt.status_code == 204 and "tus-resumable" not in opt.headers  # skipped
    assert opt.headers["tus-version"] == "1.0.0" and opt.headers["tus-max-size"] == "10"
    assert head.headers["cache-control"] == "no-store" and head.headers["upload-offset"] == "5"
    assert "upload-expires" not in head.headers
    assert conflict.status_code == 409 and conflict.headers["upload-offset"] == "0"
    assert checksum.status_code == 460 and checksum.json()["code"] == "checksum_mismatch"
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
    assert boom.status_code == 500
    assert boom.json() == {"code": "internal", "message": "internal server error"}


async def test_client_raises_declared_errors(base_url: str) -> None:
    async with TusClient(base_url + "/files") as client:
        with pytest.raises(e.OffsetMismatch) as info:
            await client.patch(
                s.PatchPayload(
                    id="abc",
                    tus_resumable="1.0.0",
                    upload_offset=7,
                    content_type="application/offset+octet-stream",
                ),
                b"x",
            )
        assert info.value.upload_offset == 0 and info.value.status == 409
        with pytest.raises(e.Gone):
            await client.head(s.HeadPayload(id="gone", tus_resumable="1.0.0"))
        with pytest.raises(e.Unavailable) as busy:
            await client.delete(s.DeletePayload(id="busy", tus_resumable="1.0.0"))
        assert busy.value.retry_after == 1
        with pytest.raises(e.Internal):  # the design declares Internal (500)
            await client.delete(s.DeletePayload(id="abc", tus_resumable="1.0.0"))


async def test_client_reports_undeclared_statuses(base_url: str) -> None:
    async with TusClient(base_url + "/nowhere") as client:
        with pytest.raises(UnexpectedResponse) as info:
            await client.get(s.GetPayload(id="abc"))
    assert info.value.status == 404 and b"code" not in info.value.body


async def test_get_streams_back_with_several_statuses(base_url: str) -> None:
    async with TusClient(base_url + "/files") as client:
        full = await client.get(s.GetPayload(id="abc"))
        assert full.status == 200 and full.content_type == "text/plain" and full.etag == '"x"'
        assert full.body is not None and b"".join([c async for c in full.body]) == b"hello"
        part = await client.get(s.GetPayload(id="abc", range="bytes=0-4"))
        assert part.status == 206 and part.content_range == "bytes 0-4/10"
        assert part.body is not None and b"".join([c async for c in part.body]) == b"hello"


async def test_root_with_and_without_slash_and_method_override(
    base_url: str, recorder: Recorder
) -> None:
    async with httpx.AsyncClient() as h:
        a = await h.post(base_url + "/files", headers=V, content=b"ab")
        b = await h.post(base_url + "/files/", headers=V, content=b"abc")
        o = await h.post(
            base_url + "/files/abc",
            content=b"1234",
            headers={
                **V,
                "X-HTTP-Method-Override": "PATCH",
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
        )
        nope = await h.put(base_url + "/files/abc", headers=V)
    assert (a.status_code, a.headers["upload-offset"]) == (201, "2")
    assert (b.status_code, b.headers["upload-offset"]) == (201, "3")
    assert (o.status_code, o.headers["upload-offset"]) == (204, "4")
    assert isinstance(recorder.payloads[-1], s.PatchPayload)
    assert nope.status_code == 405


async def test_cors_preflight_is_answered_and_plain_options_reaches_the_service(
    base_url: str,
) -> None:
    async with httpx.AsyncClient() as h:
        pre = await h.options(
            base_url + "/files/abc",
            headers={
                "Origin": "https://x.example",
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "Upload-Offset",
            },
        )
        plain = await h.options(base_url + "/files/abc", headers={"Origin": "https://x.example"})
    assert pre.status_code == 200 and "PATCH" in pre.headers["access-control-allow-methods"]
    assert pre.headers["access-control-max-age"] == "86400"
    assert plain.status_code == 204 and plain.headers["tus-version"] == "1.0.0"
    assert "Upload-Offset" in plain.headers["access-control-expose-headers"]


async def test_200_mib_body_streams_with_bounded_memory(base_url: str, recorder: Recorder) -> None:
    size, chunk = 200 * 1024 * 1024, b"\0" * (256 * 1024)
    process = psutil.Process(os.getpid())
    before = process.memory_info().rss
    peak = before

    async def body() -> AsyncIterator[bytes]:
        nonlocal peak
        for _ in range(size // len(chunk)):
            peak = max(peak, process.memory_info().rss) if _ % 64 == 0 else peak
            yield chunk

    recorder.received, recorder.max_chunk = 0, 0
    async with TusClient(base_url + "/files") as client:
        result = await client.patch(
            s.PatchPayload(
                id="big",
                tus_resumable="1.0.0",
                upload_offset=0,
                content_type="application/offset+octet-stream",
            ),
            body(),
        )
    assert result.upload_offset == size == recorder.received
    assert recorder.max_chunk <= 1024 * 1024
    assert peak - before < 50 * 1024 * 1024, (peak - before) / 2**20
