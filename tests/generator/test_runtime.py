"""The run-time helpers generated transports call: construct, BodyStream, CORS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel
from starlette.types import Receive

from tusgen import runtime as rt
from tuskit.gen.tus import service as tus

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_construct_equals_model_construct_for_every_payload() -> None:
    payloads = [getattr(tus, n) for n in dir(tus) if n.endswith("Payload")]
    assert payloads
    for cls in payloads:
        values = {name: None for name in cls.model_fields}
        fast, slow = rt.construct(cls, dict(values)), cls.model_construct(**values)
        assert fast == slow and fast.model_fields_set == slow.model_fields_set
        assert fast.__pydantic_extra__ is None and fast.__pydantic_private__ is None


def test_construct_falls_back_for_private_attributes() -> None:
    class WithPrivate(BaseModel):
        a: int
        _seen: int = 3

    assert rt.construct(WithPrivate, {"a": 1})._seen == 3


def feed(*messages: dict[str, Any]) -> Receive:
    it = iter(messages)

    async def receive() -> dict[str, Any]:
        return next(it)

    return receive


async def test_body_stream_reads_chunks_then_decodes_trailers() -> None:
    scope: dict[str, Any] = {
        "type": "http",
        "headers": [],
        "extensions": {"http.request.trailers": [(b"X-Sum", b"1")]},
    }
    receive = feed(
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"c", "more_body": False},
    )
    body = rt.BodyStream(scope, receive, lambda h: SumTrailers(total=h["x-sum"]), SumTrailers())
    assert body.trailers.total is None  # nothing until the body ended
    assert [c async for c in body] == [b"ab", b"c"]
    assert body.done and body.received == 3 and body.trailers.total == "1"


@dataclass(frozen=True, eq=False)
class SumTrailers(rt.Trailers):
    total: str | None = None
    other: str | None = None


def test_trailers_are_typed_and_a_mapping_of_what_arrived() -> None:
    t = SumTrailers(total="1")
    assert t == {"total": "1"} and dict(t) == {"total": "1"} and len(t) == 1
    assert t.get("total") == "1" and t.get("other") is None and "other" not in t
    assert rt.NO_TRAILERS.get("anything") is None and dict(rt.NO_TRAILERS) == {}


async def test_body_stream_raises_client_disconnect() -> None:
    receive = feed(
        {"type": "http.request", "body": b"a", "more_body": True}, {"type": "http.disconnect"}
    )
    body = rt.BodyStream({"type": "http", "headers": []}, receive)
    assert await body.__anext__() == b"a"
    with pytest.raises(rt.ClientDisconnect):
        await body.__anext__()


async def run(app: Any, method: str, headers: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "headers": headers}
    await app(scope, feed({"type": "http.request", "body": b""}), send)
    return sent


async def inner(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": [(b"vary", b"Accept")]})
    await send({"type": "http.response.body", "body": b""})


def cors(origins: list[str]) -> rt.CorsMiddleware:
    return rt.CorsMiddleware(
        inner,
        allow_origins=origins,
        allow_methods=["GET", "PATCH"],
        allow_headers=["Upload-Offset"],
        expose_headers=["Upload-Offset"],
        max_age=5,
    )


async def test_cors_without_origin_passes_through_untouched() -> None:
    sent = await run(cors(["*"]), "GET", [])
    assert sent[0]["headers"] == [(b"vary", b"Accept")]


async def test_cors_allowed_and_disallowed_origins() -> None:
    star = dict((await run(cors(["*"]), "GET", [(b"origin", b"https://a")]))[0]["headers"])
    assert star[b"access-control-allow-origin"] == b"*"
    assert star[b"access-control-expose-headers"] == b"Upload-Offset"
    listed = cors(["https://a"])
    ok = dict((await run(listed, "GET", [(b"origin", b"https://a")]))[0]["headers"])
    assert ok[b"access-control-allow-origin"] == b"https://a" and ok[b"vary"] == b"Accept, Origin"
    bad = dict((await run(listed, "GET", [(b"origin", b"https://b")]))[0]["headers"])
    assert not any(k.startswith(b"access-control-") for k in bad)


async def test_cors_preflight() -> None:
    ask = [(b"origin", b"https://a"), (b"access-control-request-method", b"PATCH")]
    ok = await run(
        cors(["https://a"]),
        "OPTIONS",
        [*ask, (b"access-control-request-headers", b"upload-offset")],
    )
    headers = dict(ok[0]["headers"])
    assert ok[0]["status"] == 200 and headers[b"access-control-max-age"] == b"5"
    assert headers[b"access-control-allow-origin"] == b"https://a"
    bad = await run(cors(["https://b"]), "OPTIONS", ask)
    assert bad[0]["status"] == 400
    assert b"access-control-allow-origin" not in dict(bad[0]["headers"])
