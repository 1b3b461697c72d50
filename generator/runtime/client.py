"""Client side of a generated transport (httpx): request bodies, response headers and
bodies, and the declared error a response stands for."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, TypeAlias, TypeVar
from urllib.parse import quote as _quote

from pydantic import BaseModel, TypeAdapter, ValidationError

from .errors import Problem, ServiceError, UnexpectedResponse
from .formats import TUS, ErrorFormat
from .values import parse_bool, parse_float, parse_int

if TYPE_CHECKING:
    import httpx  # the client side only; a server never loads it

Content: TypeAlias = bytes | AsyncIterable[bytes] | BinaryIO
"""What a generated client accepts as a streamed request body."""

_M = TypeVar("_M", bound=BaseModel)


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
    response: httpx.Response,
    errors: Mapping[int, tuple[type[ServiceError], ...]],
    error_format: ErrorFormat = TUS,
) -> Exception:
    """The declared error a response stands for, else `UnexpectedResponse`.

    The class is chosen by the body's `code` (or the problem `type`), else by the status
    when there is no body (HEAD); its header fields and body members are read back.
    """
    body = await response.aread()
    candidates = errors.get(response.status_code, ())
    data: Any = None
    with contextlib.suppress(ValueError):
        data = json.loads(body) if body else {}
    message, code, problem_type = error_format.read(data)
    chosen = next((c for c in candidates if c.code == code), None)
    if chosen is None and problem_type not in (None, "about:blank"):
        chosen = next((c for c in candidates if c.problem_type == problem_type), None)
    if chosen is None and candidates and not body:  # HEAD: no body, the status decides
        chosen = candidates[0]
    if chosen is None:
        return UnexpectedResponse(response.status_code, response.headers, body)
    try:
        exc = chosen.from_response(
            message, response.headers, data if isinstance(data, dict) else {}
        )
    except UnexpectedResponse:
        return UnexpectedResponse(response.status_code, response.headers, body)
    exc.problems = tuple(
        Problem(str(p.get("in", "")), str(p.get("name", "")), str(p.get("message", "")))
        for p in error_format.problems(data)
        if isinstance(p, dict)
    )
    return exc


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def member(members: Mapping[str, Any] | None, key: str, type_: Any, required: bool) -> Any:
    """A typed JSON body member of an error response, validated (client side)."""
    value = (members or {}).get(key)
    if value is None:
        if required:
            raise UnexpectedResponse(0, {}, f"missing body member {key}".encode())
        return None
    adapter = _ADAPTERS.get(type_)
    if adapter is None:
        adapter = _ADAPTERS[type_] = TypeAdapter(type_)
    try:
        return adapter.validate_python(value)
    except ValidationError:
        raise UnexpectedResponse(0, {}, f"invalid body member {key}".encode()) from None


def response_float(headers: Mapping[str, str], key: str, required: bool) -> float | None:
    raw = response_str(headers, key, required)
    if raw is None:
        return None
    value = parse_float(raw.strip())
    if value is None:
        raise UnexpectedResponse(0, headers, f"header {key} is not a number".encode())
    return value


def required_float(headers: Mapping[str, str], key: str) -> float:
    value = response_float(headers, key, True)
    assert value is not None
    return value


def optional_float(headers: Mapping[str, str], key: str) -> float | None:
    return response_float(headers, key, False)


def default_float(headers: Mapping[str, str], key: str, default: float) -> float:
    value = response_float(headers, key, False)
    return default if value is None else value


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
