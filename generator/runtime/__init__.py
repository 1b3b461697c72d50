"""What generated code imports at run time, one concept per module:

- `errors`: `ServiceError` and the 400 problem list;
- `values`: strict parsers and `construct` (payloads built without pydantic's loop);
- `server`: per-path dispatch and the ASGI messages of empty, JSON and error responses;
- `body`: `BodyStream` (streamed request bodies) and typed `Trailers`;
- `cors`: the lean CORS middleware;
- `client`: what generated httpx clients call.

Generated modules use `from tusgen import runtime as rt`; handwritten code imports names
from here (`from tusgen.runtime import BodyStream, ServiceError, construct`).
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect

from .body import NO_TRAILERS, TRAILERS_EXTENSION, BodyStream, Trailers
from .client import (
    Content,
    ResponseStream,
    aclose,
    build_result,
    client_error,
    default_bool,
    default_int,
    default_str,
    json_body,
    optional_bool,
    optional_int,
    optional_str,
    quote,
    request_content,
    required_bool,
    required_int,
    required_str,
    response_bool,
    response_int,
    response_str,
)
from .cors import CorsMiddleware
from .errors import (
    BadRequest,
    Problem,
    ServiceError,
    UnexpectedResponse,
    json_problems,
    with_problems,
)
from .server import (
    Dispatch,
    Handler,
    empty_body,
    is_head,
    json_response,
    read_body,
    route_paths,
    send_body,
    send_empty,
    send_error,
    send_internal_error,
    send_json,
)
from .values import construct, encode_bool, parse_bool, parse_int

__all__ = [
    "NO_TRAILERS",
    "TRAILERS_EXTENSION",
    "BadRequest",
    "BodyStream",
    "ClientDisconnect",
    "Content",
    "CorsMiddleware",
    "Dispatch",
    "Handler",
    "Problem",
    "ResponseStream",
    "ServiceError",
    "Trailers",
    "UnexpectedResponse",
    "aclose",
    "build_result",
    "client_error",
    "construct",
    "default_bool",
    "default_int",
    "default_str",
    "empty_body",
    "encode_bool",
    "is_head",
    "json_body",
    "json_problems",
    "json_response",
    "optional_bool",
    "optional_int",
    "optional_str",
    "parse_bool",
    "parse_int",
    "quote",
    "read_body",
    "request_content",
    "required_bool",
    "required_int",
    "required_str",
    "response_bool",
    "response_int",
    "response_str",
    "route_paths",
    "send_body",
    "send_empty",
    "send_error",
    "send_internal_error",
    "send_json",
    "with_problems",
]
