"""What generated code imports at run time: errors, the streamed body, small helpers.

Kept small and fast: the generated decoders do their own checks in straight-line code
and only call in here for int parsing, error responses and body streaming.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from typing import Any, BinaryIO, ClassVar, NamedTuple, TypeAlias, TypeVar
from urllib.parse import quote as _quote

import httpx
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

__all__ = [
    "BadRequest",
    "BodyStream",
    "ClientDisconnect",
    "Content",
    "Problem",
    "ResponseStream",
    "ServiceError",
    "UnexpectedResponse",
]

logger = logging.getLogger("tusgen.runtime")

Content: TypeAlias = bytes | AsyncIterable[bytes] | BinaryIO
"""What a generated client accepts as a streamed request body."""

_E = TypeVar("_E", bound="ServiceError")


class Problem(NamedTuple):
    """One invalid request value: where (`header`, `path`, `trailer`, `body`), name, why."""

    where: str
    name: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"in": self.where, "name": self.name, "message": self.message}


class ServiceError(Exception):
    """Base of every generated error: a status, a code and headers the router writes."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[Problem, ...] = ()

    def header_items(self) -> list[tuple[str, str]]:
        """The error's declared headers that have a value, as (name, value) pairs."""
        return []

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.problems:
            body["errors"] = [p.to_json() for p in self.problems]
        return body

    @classmethod
    def from_response(cls: type[_E], message: str, headers: Mapping[str, str]) -> _E:
        """Rebuild the error from a response (used by generated clients)."""
        return cls(message)


class BadRequest(ServiceError):
    """The 400 answer listing every problem, when a design declares no 400 error."""

    status = 400
    code = "bad_request"


class UnexpectedResponse(Exception):
    """A generated client got a status or body its design does not declare."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        super().__init__(f"unexpected response: HTTP {status}: {body[:200]!r}")
        self.status = status
        self.headers = dict(headers)
        self.body = body


def with_problems(exc: _E, problems: Iterable[tuple[str, str, str]]) -> _E:
    """Attach the problem list to a 400 error; its message sums them up."""
    exc.problems = tuple(Problem(*p) for p in problems)
    exc.message = "; ".join(f"{p.name} {p.message}" for p in exc.problems) or exc.message
    exc.args = (exc.message,)
    return exc


# -- server side ----------------------------------------------------------------------


def header_dict(request: Request) -> dict[str, str]:
    """Request headers by lower-case name (ASGI lower-cases them); the last one wins."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}


def parse_int(raw: str) -> int | None:
    """A strict base-10 int64 (`-?[0-9]+`, no spaces, `+` or `_`), else None."""
    digits = raw[1:] if raw[:1] == "-" else raw
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        return None
    value = int(raw)
    return value if -(2**63) <= value < 2**63 else None


def parse_bool(raw: str) -> bool | None:
    """`true` or `false` (any case), else None."""
    lowered = raw.lower()
    return True if lowered == "true" else False if lowered == "false" else None


def encode_bool(value: bool) -> str:
    return "true" if value else "false"


def route_paths(prefix: str, path: str) -> list[str]:
    """Where a method path is mounted; the root answers with and without a trailing slash."""
    if path == "/":
        return [prefix + "/", prefix] if prefix else ["/"]
    return [prefix + path]


Handler = Callable[[Request], Any]


def resolve_method(
    request: Request, override: bytes, table: Mapping[str, Handler]
) -> Handler | None:
    """The handler for the request's method, or for the one its override header names."""
    method: str = request.scope["method"]
    for key, value in request.scope["headers"]:
        if key == override:
            wanted = value.decode("latin-1").strip().upper()
            if wanted in table:
                method = wanted
            break
    return table.get(method)


def method_not_allowed(table: Mapping[str, Handler]) -> Response:
    return Response(status_code=405, headers={"Allow": ", ".join(sorted(table))})


def json_response(
    status: int, headers: Mapping[str, str], body: Any, media_type: str = "application/json"
) -> Response:
    content = body.model_dump_json(by_alias=True) if hasattr(body, "model_dump_json") else "null"
    return Response(content, status_code=status, headers=headers, media_type=media_type)


def error_response(exc: ServiceError, const: Iterable[tuple[str, str]]) -> Response:
    """The declared error: its status, headers, constant headers and JSON body."""
    headers = dict(const)
    headers.update(exc.header_items())
    content = json.dumps(exc.to_json(), separators=(",", ":")).encode()
    return Response(content, status_code=exc.status, headers=headers, media_type="application/json")


def internal_error(const: Iterable[tuple[str, str]]) -> Response:
    """500 for an exception the service did not declare (logged by the caller)."""
    return Response(
        b'{"code":"internal","message":"internal server error"}',
        status_code=500,
        headers=dict(const),
        media_type="application/json",
    )


async def empty_body() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover


TrailerDecoder = Callable[[dict[str, str]], dict[str, Any]]


class BodyStream(AsyncIterator[bytes]):
    """The request body as an async iterator of chunks, never buffered whole.

    When the body ends, the trailers the ASGI server recorded in
    `scope["extensions"]["http.request.trailers"]` are decoded like headers; declared
    ones land in `trailers` (by field name, e.g. `upload_checksum`). An invalid declared
    trailer raises the design's 400 error from the iteration.
    """

    __slots__ = ("_chunks", "_decode", "_done", "_request", "received", "trailers")

    def __init__(self, request: Request, decode_trailers: TrailerDecoder | None = None) -> None:
        self._request = request
        self._chunks = request.stream()
        self._decode = decode_trailers
        self._done = False
        self.received = 0
        """Bytes handed out so far."""
        self.trailers: dict[str, Any] = {}

    def __aiter__(self) -> BodyStream:
        return self

    async def __anext__(self) -> bytes:
        while not self._done:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._done = True
                self._finish()
                break
            if chunk:
                self.received += len(chunk)
                return chunk
        raise StopAsyncIteration

    @property
    def done(self) -> bool:
        """True once the whole body (and its trailers) arrived."""
        return self._done

    def _finish(self) -> None:
        if self._decode is None:
            return
        raw = self._request.scope.get("extensions", {}).get("http.request.trailers") or ()
        trailers = {bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in raw}
        self.trailers = self._decode(trailers)


# -- client side ----------------------------------------------------------------------


def quote(value: object) -> str:
    """A path segment, percent-encoded (slashes too)."""
    return _quote(str(value), safe="")


async def _file_chunks(f: BinaryIO, size: int = 1 << 16) -> AsyncIterator[bytes]:
    while chunk := f.read(size):
        yield chunk


def request_content(body: Content | None) -> bytes | AsyncIterable[bytes]:
    """Bytes as they are; files and async iterables streamed chunk by chunk."""
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    if isinstance(body, AsyncIterable):
        return body
    return _file_chunks(body)


def response_str(headers: Mapping[str, str], key: str, required: bool) -> str | None:
    value = headers.get(key)
    if value is None and required:
        raise UnexpectedResponse(0, headers, f"missing header {key}".encode())
    return value


def response_int(headers: Mapping[str, str], key: str, required: bool) -> int | None:
    raw = response_str(headers, key, required)
    if raw is None:
        return None
    value = parse_int(raw.strip())
    if value is None:
        raise UnexpectedResponse(0, headers, f"header {key} is not an integer".encode())
    return value


def response_bool(headers: Mapping[str, str], key: str, required: bool) -> bool | None:
    raw = response_str(headers, key, required)
    if raw is None:
        return None
    value = parse_bool(raw.strip())
    if value is None:
        raise UnexpectedResponse(0, headers, f"header {key} is not a bool".encode())
    return value


class ResponseStream(AsyncIterator[bytes]):
    """A streamed response body; iterate it to the end, or `await aclose()` it."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._chunks = response.aiter_bytes()

    def __aiter__(self) -> ResponseStream:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._chunks.__anext__()
        except BaseException:
            await self.response.aclose()
            raise

    async def aclose(self) -> None:
        await self.response.aclose()


async def aclose(body: AsyncIterator[bytes] | None) -> None:
    """Close a result's streamed body early (a no-op for anything else)."""
    close = getattr(body, "aclose", None)
    if close is not None:
        await close()


async def client_error(
    response: httpx.Response, errors: Mapping[int, tuple[type[ServiceError], ...]]
) -> Exception:
    """The declared error a response stands for, else `UnexpectedResponse`."""
    body = await response.aread()
    candidates = errors.get(response.status_code, ())
    message, code = "", None
    data: Any = None
    try:
        data = json.loads(body) if body else {}
        if isinstance(data, dict):
            message = str(data.get("message", ""))
            code = data.get("code")
    except ValueError:
        pass
    chosen = next((c for c in candidates if c.code == code), None)
    if chosen is None and candidates and not body:  # HEAD: no body, the status decides
        chosen = candidates[0]
    if chosen is None:
        return UnexpectedResponse(response.status_code, response.headers, body)
    try:
        exc = chosen.from_response(message, response.headers)
    except UnexpectedResponse:
        return UnexpectedResponse(response.status_code, response.headers, body)
    if isinstance(data, dict) and isinstance(data.get("errors"), list):
        exc.problems = tuple(
            Problem(str(p.get("in", "")), str(p.get("name", "")), str(p.get("message", "")))
            for p in data["errors"]
            if isinstance(p, dict)
        )
    return exc


def required_str(headers: Mapping[str, str], key: str) -> str:
    value = response_str(headers, key, True)
    assert value is not None
    return value


def optional_str(headers: Mapping[str, str], key: str) -> str | None:
    return response_str(headers, key, False)


def default_str(headers: Mapping[str, str], key: str, default: str) -> str:
    value = response_str(headers, key, False)
    return default if value is None else value


def required_int(headers: Mapping[str, str], key: str) -> int:
    value = response_int(headers, key, True)
    assert value is not None
    return value


def optional_int(headers: Mapping[str, str], key: str) -> int | None:
    return response_int(headers, key, False)


def default_int(headers: Mapping[str, str], key: str, default: int) -> int:
    value = response_int(headers, key, False)
    return default if value is None else value


def required_bool(headers: Mapping[str, str], key: str) -> bool:
    value = response_bool(headers, key, True)
    assert value is not None
    return value


def optional_bool(headers: Mapping[str, str], key: str) -> bool | None:
    return response_bool(headers, key, False)


def default_bool(headers: Mapping[str, str], key: str, default: bool) -> bool:
    value = response_bool(headers, key, False)
    return default if value is None else value


_M = TypeVar("_M", bound=BaseModel)


def build_result(model: type[_M], response: httpx.Response, values: dict[str, Any]) -> _M:
    """A client-side result validated from response headers, else `UnexpectedResponse`."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise UnexpectedResponse(
            response.status_code, response.headers, str(exc).encode()
        ) from None


def json_body(model: type[_M], content: bytes, response: httpx.Response) -> _M:
    """A JSON response body validated into `model`, else `UnexpectedResponse`."""
    try:
        return model.model_validate_json(content)
    except ValidationError:
        raise UnexpectedResponse(response.status_code, response.headers, content) from None


def json_problems(exc: ValidationError) -> list[tuple[str, str, str]]:
    """Pydantic's validation errors of a JSON body as (in, name, message) problems."""
    problems = []
    for err in exc.errors(include_url=False):
        name = ".".join(str(part) for part in err.get("loc", ())) or "body"
        problems.append(("body", name, str(err.get("msg", "invalid"))))
    return problems
