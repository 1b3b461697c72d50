"""The design's building blocks: `API`, its services, their methods and errors.

Every call records what was declared and where; nothing is validated or registered
globally here. `tusgen.validate` checks the whole design at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from .attributes import Attribute
from .location import Loc, caller


@dataclass(frozen=True)
class ErrorDecl:
    """`svc.error(...)` or `m.error(...)`: a named error answered with `status`."""

    name: str
    status: Any
    headers: tuple[Any, ...]
    doc: str
    loc: Loc
    fields: tuple[Any, ...] = ()
    code: Any = None
    problem_type: Any = None
    title: Any = None


@dataclass(frozen=True)
class ResultDecl:
    """`m.result(status, *headers, body=...)`: one success status."""

    status: Any
    headers: tuple[Any, ...]
    body: Any
    loc: Loc


@dataclass(frozen=True)
class BodyDecl:
    """`m.body(STREAM | SomeObject, trailers=[...])`: the request body."""

    type: Any
    trailers: tuple[Any, ...]
    media_type: str | None
    loc: Loc


@dataclass(frozen=True)
class PayloadDecl:
    """`m.payload(*attrs)`: headers and path params of the request."""

    attrs: tuple[Any, ...]
    loc: Loc


@dataclass(frozen=True)
class ResponseHeaderDecl:
    """`svc.response_header(attr.const(v), skip=[...])`: written on every response."""

    attr: Any
    skip: tuple[str, ...]
    loc: Loc


@dataclass(frozen=True)
class OverrideDecl:
    """`svc.method_override(header)`: a header naming the method to dispatch to."""

    header: Any
    loc: Loc


@dataclass(frozen=True)
class ErrorFormatDecl:
    """`svc.error_format("tus" | "envelope" | "problem")`: the error body's shape."""

    format: Any
    loc: Loc


@dataclass(frozen=True)
class JsonDecl:
    """`svc.json(media_type, compress=..., threshold=...)`: how JSON bodies are answered."""

    media_type: Any
    compress: tuple[Any, ...]
    threshold: Any
    loc: Loc


@dataclass(frozen=True)
class CorsDecl:
    """`api.cors(...)`: the browser access policy."""

    origins: tuple[str, ...]
    methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    max_age: Any
    credentials: Any
    loc: Loc


class _Block:
    """A declaration usable as `with ... as x:` for Goa-like nesting (or without `with`)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class Method(_Block):
    """One endpoint: `with svc.method("patch", http="PATCH /{id}") as m:`."""

    def __init__(self, service: Service, name: str, http: str, doc: str, loc: Loc) -> None:
        self.service = service
        self.name = name
        self.http = http
        self.doc = doc
        self.loc = loc
        self.payloads: list[PayloadDecl] = []
        self.bodies: list[BodyDecl] = []
        self.results: list[ResultDecl] = []
        self.errors: list[ErrorDecl] = []

    def payload(self, *attrs: Attribute) -> None:
        """Request headers and path params (every `{param}` of the path must be here)."""
        self.payloads.append(PayloadDecl(tuple(attrs), caller()))

    def body(
        self, type: Any, *, trailers: Sequence[Attribute] = (), media_type: str | None = None
    ) -> None:
        """The request body: `STREAM` (async iterator of bytes) or an `Object` (JSON)."""
        self.bodies.append(BodyDecl(type, tuple(trailers), media_type, caller()))

    def result(self, status: int, *headers: Attribute, body: Any = None) -> None:
        """A success status with its headers and optional body (`STREAM` or an `Object`)."""
        self.results.append(ResultDecl(status, tuple(headers), body, caller()))

    def error(
        self,
        name: str,
        status: int,
        *,
        headers: Sequence[Attribute] = (),
        fields: Sequence[Attribute] = (),
        code: str | None = None,
        problem_type: str | None = None,
        title: str | None = None,
        doc: str = "",
    ) -> None:
        """An error only this method answers (see `Service.error`)."""
        self.errors.append(
            ErrorDecl(
                name,
                status,
                tuple(headers),
                doc,
                caller(),
                tuple(fields),
                code,
                problem_type,
                title,
            )
        )


class Service(_Block):
    """A group of methods under one base path: `with api.service("tus", path="/files")`."""

    def __init__(self, api: API, name: str, path: str, doc: str, loc: Loc) -> None:
        self.api = api
        self.name = name
        self.path = path
        self.doc = doc
        self.loc = loc
        self.methods: list[Method] = []
        self.errors: list[ErrorDecl] = []
        self.response_headers: list[ResponseHeaderDecl] = []
        self.overrides: list[OverrideDecl] = []
        self.error_formats: list[ErrorFormatDecl] = []
        self.json_decls: list[JsonDecl] = []

    def method(self, name: str, *, http: str, doc: str = "") -> Method:
        """Declare a method; `http` is `"VERB /path/{param}"` relative to the service path."""
        m = Method(self, name, http, doc, caller())
        self.methods.append(m)
        return m

    def error(
        self,
        name: str,
        status: int,
        *,
        headers: Sequence[Attribute] = (),
        fields: Sequence[Attribute] = (),
        code: str | None = None,
        problem_type: str | None = None,
        title: str | None = None,
        doc: str = "",
    ) -> None:
        """A service-wide error: any method may answer it. `code` defaults to the name in
        snake_case; `fields` are typed JSON body members (`Field`s) beside the headers;
        `problem_type` and `title` are used by the `problem` error format."""
        self.errors.append(
            ErrorDecl(
                name,
                status,
                tuple(headers),
                doc,
                caller(),
                tuple(fields),
                code,
                problem_type,
                title,
            )
        )

    def error_format(self, format: str) -> None:
        """The error body shape: `tus` (default, `{"code","message"}`), `envelope`
        (`{"status":"error","error":{...}}`) or `problem` (RFC 9457 problem details)."""
        self.error_formats.append(ErrorFormatDecl(format, caller()))

    def json(
        self,
        media_type: str = "application/json",
        *,
        compress: Sequence[str] = (),
        threshold: int = 860,
    ) -> None:
        """JSON answers: their exact `Content-Type`, and compression (`gzip`, `deflate`, in
        order of preference) by `Accept-Encoding` for bodies of `threshold` bytes or more."""
        self.json_decls.append(JsonDecl(media_type, tuple(compress), threshold, caller()))

    def response_header(self, attr: Attribute, *, skip: Iterable[str] = ()) -> None:
        """A `.const(...)` header written on every response of every method but `skip`."""
        self.response_headers.append(ResponseHeaderDecl(attr, tuple(skip), caller()))

    def method_override(self, header: str) -> None:
        """Dispatch a request whose `header` names another method of the same path to it."""
        self.overrides.append(OverrideDecl(header, caller()))


class API(_Block):
    """The root of a design. Build one per design; nothing is registered globally."""

    def __init__(self, name: str, *, title: str = "", version: str = "", doc: str = "") -> None:
        self.name = name
        self.title = title
        self.version = version
        self.doc = doc
        self.loc = caller()
        self.services: list[Service] = []
        self.cors_decls: list[CorsDecl] = []

    def service(self, name: str, *, path: str = "/", doc: str = "") -> Service:
        """Declare a service; use as `with api.service(...) as svc:`."""
        svc = Service(self, name, path, doc, caller())
        self.services.append(svc)
        return svc

    def cors(
        self,
        origins: Sequence[str] = ("*",),
        methods: Sequence[str] = ("GET",),
        allow_headers: Sequence[str] = (),
        expose_headers: Sequence[str] = (),
        max_age: int = 600,
        credentials: bool = False,
    ) -> None:
        """The CORS policy; origins can be overridden when the app starts."""
        self.cors_decls.append(
            CorsDecl(
                tuple(origins),
                tuple(methods),
                tuple(allow_headers),
                tuple(expose_headers),
                max_age,
                credentials,
                caller(),
            )
        )


__all__ = ["API", "Method", "Service"]
