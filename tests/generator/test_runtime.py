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


@pytest.mark.parametrize(
    ("accept", "size", "chosen"),
    [
        (None, 5000, None),
        (b"gzip", 5000, "gzip"),
        (b"gzip", 100, None),  # under the threshold
        (b"deflate, gzip", 5000, "gzip"),  # ties: the server's order
        (b"gzip;q=0.4, deflate;q=0.8", 5000, "deflate"),
        (b"gzip;q=0, deflate;q=0", 5000, None),
        (b"*", 5000, "gzip"),
        (b"*;q=0, identity", 5000, None),
        (b"gzip;q=0.5, identity;q=0.9", 5000, None),  # identity ranked higher
        (b"gzip, identity;q=0", 100, "gzip"),  # identity refused: compress anyway
        (b"br", 5000, None),
    ],
)
def test_accepted_coding_honours_q_values(accept: bytes | None, size: int, chosen: str) -> None:
    assert rt.accepted_coding(accept, ("gzip", "deflate"), size, 860) == chosen


def test_parse_float_is_strict_and_finite() -> None:
    assert rt.parse_float("2.5") == 2.5 and rt.parse_float("-1e3") == -1000.0
    assert rt.parse_float("3") == 3.0
    for bad in ("", " 1", "nan", "inf", "1_0", "0x10", "1.2.3"):
        assert rt.parse_float(bad) is None, bad


def test_query_params_percent_decode_and_first_wins() -> None:
    scope = {"query_string": b"a=1&b=x%20y%2Fz&a=2&c&d=%C3%A9+e"}
    assert rt.query_params(scope) == {"a": "1", "b": "x y/z", "c": "", "d": "é e"}
    assert rt.query_params({"query_string": b""}) == {}


async def test_inform_sends_only_when_the_server_offers_it() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    plain = rt.BodyStream({"type": "http", "headers": []}, feed(), send=send)
    assert await plain.inform(104, [("Location", "/u/1")]) is False and sent == []
    scope = {"type": "http", "headers": [], "extensions": {rt.INFORMATIONAL_EXTENSION: {}}}
    offered = rt.BodyStream(scope, feed(), send=send)
    assert await offered.inform(104, [("Upload-Offset", "0")]) is True
    assert sent == [
        {
            "type": "http.response.informational",
            "status": 104,
            "headers": [(b"upload-offset", b"0")],
        }
    ]
    with pytest.raises(ValueError):
        await offered.inform(200)


class Mismatch(rt.ServiceError):
    status = 409
    code = "mismatch"
    problem_type = "https://example.test/mismatch"

    def body_members(self) -> dict[str, Any]:
        return {"expected-offset": 5}


def test_error_formats() -> None:
    exc = Mismatch("no")
    assert rt.TUS.body(exc) == {"code": "mismatch", "message": "no", "expected-offset": 5}
    assert rt.ENVELOPE.body(exc) == {
        "status": "error",
        "error": {"code": "mismatch", "message": "no"},
        "expected-offset": 5,
    }
    assert rt.PROBLEM.body(exc) == {
        "type": "https://example.test/mismatch",
        "title": "mismatch",
        "status": 409,
        "detail": "no",
        "code": "mismatch",
        "expected-offset": 5,
    }
    assert rt.PROBLEM.read(rt.PROBLEM.body(exc)) == ("no", "mismatch", exc.problem_type)
    assert rt.ENVELOPE.read(rt.ENVELOPE.body(exc)) == ("no", "mismatch", None)


def test_int_problem_says_what_is_wrong() -> None:
    from tusgen.runtime import int_problem, parse_int

    assert parse_int(" 10\t") == 10  # optional whitespace on either side is not the value
    assert [parse_int(v) for v in ("-0", "00", "+1", "1_0", "9223372036854775808")] == [None] * 5
    assert int_problem("abc", 0) == "must be an integer >= 0"
    assert "leading zeros" in int_problem("007", 0)
    assert "too large" in int_problem("99999999999999999999", 0)
    assert int_problem("2000", 1, 1000) == "must be an integer between 1 and 1000"


def test_generated_routes_refuse_a_service_missing_methods() -> None:
    """Issue 15, item 4: a design method the service does not implement fails at start-up
    with one line naming it, not as a 500 on first use."""
    import pytest

    from tusgen.runtime import IncompleteService
    from tuskit.gen.http.tus.server import make_routes

    class Half:
        async def options(self, payload: object) -> None: ...

        async def head(self, payload: object) -> None: ...

    with pytest.raises(IncompleteService) as refused:
        make_routes(Half())  # type: ignore[arg-type]
    message = str(refused.value)
    assert "\n" not in message
    for name in ("options_upload", "create", "patch", "delete", "get"):
        assert name in message
    assert "head," not in message and "options," not in message


async def test_read_body_refuses_a_json_body_past_its_limit_as_it_arrives() -> None:
    """A JSON body is read whole, so it is bounded: 413 once it passes the limit, before
    the rest is read (the 1 MiB default keeps any client from growing server memory)."""
    sent: list[int] = []

    async def receive() -> dict[str, Any]:
        sent.append(1)
        return {"type": "http.request", "body": b"x" * 600, "more_body": True}

    with pytest.raises(rt.JsonBodyTooLarge) as refused:
        await rt.read_body(receive, limit=1000)
    assert refused.value.status == 413 and len(sent) == 2

    async def small() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    assert await rt.read_body(small) == b"{}"
    assert rt.JSON_BODY_LIMIT == 1024 * 1024
