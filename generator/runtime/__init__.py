"""What generated code imports at run time, one concept per module:

- `errors`: `ServiceError` and the 400 problem list;
- `values`: strict parsers and `construct` (payloads built without pydantic's loop);
- `server`: per-path dispatch and the ASGI messages of empty, JSON and error responses;
- `body`: `BodyStream` (streamed request bodies) and typed `Trailers`;
- `formats`, `responses`: error body formats, JSON media type and compression;
- `cors`: the lean CORS middleware;
- `client`: what generated httpx clients call.

Generated modules use `from tusgen import runtime as rt`; handwritten code imports names
from here (`from tusgen.runtime import BodyStream, ServiceError, construct`).
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect

from .body import INFORMATIONAL_EXTENSION, NO_TRAILERS, TRAILERS_EXTENSION, BodyStream, Trailers
from .client import (
    Content,
    ResponseStream,
    aclose,
    build_result,
    client_error,
    default_bool,
    default_float,
    default_int,
    default_str,
    json_body,
    member,
    optional_bool,
    optional_float,
    optional_int,
    optional_str,
    quote,
    request_content,
    required_bool,
    required_float,
    required_int,
    required_str,
    response_bool,
    response_float,
    response_int,
    response_str,
)
from .cors import CorsMiddleware
from .errors import (
    BadRequest,
    Problem,
    ServiceError,
    UnexpectedResponse,
    UnsupportedMediaType,
    json_problems,
    jsonable,
    with_problems,
)
from .formats import ENVELOPE, PROBLEM, TUS, ErrorFormat
from .responses import JsonResponses, accepted_coding, compress
from .server import (
    JSON_BODY_LIMIT,
    Dispatch,
    Handler,
    IncompleteService,
    JsonBodyTooLarge,
    check_service,
    empty_body,
    is_head,
    is_json,
    json_response,
    read_body,
    route_paths,
    send_body,
    send_empty,
    send_error,
    send_internal_error,
    send_json,
)
from .values import (
    construct,
    encode_bool,
    encode_float,
    int_problem,
    parse_bool,
    parse_float,
    parse_int,
    query_params,
)

__all__ = [
    "ENVELOPE",
    "INFORMATIONAL_EXTENSION",
    "JSON_BODY_LIMIT",
    "NO_TRAILERS",
    "PROBLEM",
    "TRAILERS_EXTENSION",
    "TUS",
    "BadRequest",
    "BodyStream",
    "ClientDisconnect",
    "Content",
    "CorsMiddleware",
    "Dispatch",
    "ErrorFormat",
    "Handler",
    "IncompleteService",
    "JsonBodyTooLarge",
    "JsonResponses",
    "Problem",
    "ResponseStream",
    "ServiceError",
    "Trailers",
    "UnexpectedResponse",
    "UnsupportedMediaType",
    "accepted_coding",
    "aclose",
    "build_result",
    "check_service",
    "client_error",
    "compress",
    "construct",
    "default_bool",
    "default_float",
    "default_int",
    "default_str",
    "empty_body",
    "encode_bool",
    "encode_float",
    "int_problem",
    "is_head",
    "is_json",
    "json_body",
    "json_problems",
    "json_response",
    "jsonable",
    "member",
    "optional_bool",
    "optional_float",
    "optional_int",
    "optional_str",
    "parse_bool",
    "parse_float",
    "parse_int",
    "query_params",
    "quote",
    "read_body",
    "request_content",
    "required_bool",
    "required_float",
    "required_int",
    "required_str",
    "response_bool",
    "response_float",
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
