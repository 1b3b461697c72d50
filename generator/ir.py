"""The frozen intermediate representation: a validated design, nothing derived for output.

`build(api)` assumes `tusgen.validate.validate(api)` found no problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from . import names
from .dsl import API, STREAM, UNSET, Attribute, ListOf, Object, Primitive
from .dsl import Service as ServiceDecl
from .dsl.api import ErrorDecl

Location = Literal["header", "path", "query", "trailer", "field"]


@dataclass(frozen=True)
class TypeRef:
    """`kind` is string, int64, bool, object or list; `object`/`item` refine the last two."""

    kind: str
    object: str | None = None
    item: TypeRef | None = None


@dataclass(frozen=True)
class Attr:
    name: str
    field: str
    location: Location
    type: TypeRef
    required: bool
    doc: str = ""
    enum: tuple[Any, ...] | None = None
    pattern: str | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    example: Any = None
    has_example: bool = False
    on_invalid: str | None = None
    const: Any = None
    has_const: bool = False
    default: Any = None
    has_default: bool = False
    nullable: bool = False
    """A JSON field whose value may be `null` (`T | None`), required or not."""


@dataclass(frozen=True)
class ObjectType:
    name: str
    doc: str
    fields: tuple[Attr, ...]


@dataclass(frozen=True)
class Error:
    name: str
    status: int
    headers: tuple[Attr, ...]
    doc: str
    code: str = ""
    """Stable machine-readable code: declared, else the name in snake_case."""
    fields: tuple[Attr, ...] = ()
    """Typed JSON body members beside `code` and `message`."""
    problem_type: str = "about:blank"
    title: str = ""


@dataclass(frozen=True)
class Result:
    status: int
    headers: tuple[Attr, ...]
    """Non-const headers declared for this status."""
    const_headers: tuple[Attr, ...]
    """Headers always written with a fixed value (service-wide ones included)."""
    body: Literal["none", "stream", "json"]
    body_object: str | None


@dataclass(frozen=True)
class Method:
    name: str
    verb: str
    path: str
    doc: str
    payload: tuple[Attr, ...]
    body: Literal["none", "stream", "json"]
    body_object: str | None
    body_media_type: str | None
    trailers: tuple[Attr, ...]
    results: tuple[Result, ...]
    errors: tuple[str, ...]
    """Names of every error the method may answer: service-wide, then its own."""
    const_headers: tuple[Attr, ...]
    """Service-wide constant headers written on this method's responses."""


@dataclass(frozen=True)
class Service:
    name: str
    path: str
    doc: str
    errors: tuple[Error, ...]
    methods: tuple[Method, ...]
    objects: tuple[ObjectType, ...]
    method_override: str | None
    error_format: Literal["tus", "envelope", "problem"] = "tus"
    json_media_type: str = "application/json"
    compress: tuple[str, ...] = ()
    """Content codings offered for JSON bodies, in order of preference."""
    threshold: int = 860
    const_headers: tuple[Attr, ...] = ()
    """Constant headers declared for every response of the service (whatever a method
    skips): also on the outer app's routing errors in this service's paths."""


@dataclass(frozen=True)
class Cors:
    origins: tuple[str, ...]
    methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    expose_headers: tuple[str, ...]
    max_age: int
    credentials: bool


@dataclass(frozen=True)
class Api:
    name: str
    title: str
    version: str
    doc: str
    services: tuple[Service, ...]
    cors: Cors | None


def type_ref(t: Any) -> TypeRef:
    if isinstance(t, Primitive):
        return TypeRef(t.name)
    if isinstance(t, Object):
        return TypeRef("object", object=t.name)
    if isinstance(t, ListOf):
        return TypeRef("list", item=type_ref(t.of))
    raise TypeError(f"not a type: {t!r}")  # validate() reports this first


def attr(a: Attribute, location: Location | None = None) -> Attr:
    kinds: dict[str, Location] = {
        "header": "header",
        "param": "path",
        "query": "query",
        "field": "field",
    }
    loc: Location = location or kinds[a.kind]
    optional_kinds = ("header", "query")
    required = a.is_required if a.is_required is not None else a.kind not in optional_kinds
    return Attr(
        name=a.name,
        field=a.python_name,
        location=loc,
        type=type_ref(a.type),
        required=bool(required),
        doc=a.doc,
        enum=a.enum_values,
        pattern=a.pattern,
        minimum=a.minimum,
        maximum=a.maximum,
        example=None if a.example is UNSET else a.example,
        has_example=a.example is not UNSET,
        on_invalid=a.invalid_error,
        const=None if a.const_value is UNSET else a.const_value,
        has_const=a.const_value is not UNSET,
        default=None if a.default_value is UNSET else a.default_value,
        has_default=a.default_value is not UNSET,
        nullable=a.nullable,
    )


def split_http(http: str) -> tuple[str, str]:
    verb, _, path = http.strip().partition(" ")
    return verb.upper(), path.strip()


def _objects_of(t: Any, out: dict[str, ObjectType]) -> None:
    if isinstance(t, ListOf):
        _objects_of(t.of, out)
    elif isinstance(t, Object) and t.name not in out:
        for f in t.fields:
            _objects_of(f.type, out)
        out[t.name] = ObjectType(t.name, t.doc, tuple(attr(f) for f in t.fields))


def _body(
    t: Any, out: dict[str, ObjectType]
) -> tuple[Literal["none", "stream", "json"], str | None]:
    if t is None:
        return "none", None
    if t is STREAM:
        return "stream", None
    _objects_of(t, out)
    return "json", t.name


def _error(e: ErrorDecl, objects: dict[str, ObjectType]) -> Error:
    for f in e.fields:
        _objects_of(f.type, objects)
    return Error(
        name=e.name,
        status=e.status,
        headers=tuple(attr(h) for h in e.headers),
        doc=e.doc,
        code=e.code or names.snake(e.name),
        fields=tuple(attr(f) for f in e.fields),
        problem_type=e.problem_type or "about:blank",
        title=e.title or "",
    )


def _service(s: ServiceDecl) -> Service:
    errors: dict[str, Error] = {}
    objects: dict[str, ObjectType] = {}
    for e in s.errors:
        errors.setdefault(e.name, _error(e, objects))
    service_errors = tuple(errors)
    methods = []
    for m in s.methods:
        verb, path = split_http(m.http)
        for e in m.errors:
            if e.name not in errors:
                errors[e.name] = _error(e, objects)
        const = tuple(attr(rh.attr) for rh in s.response_headers if m.name not in rh.skip)
        body: Literal["none", "stream", "json"] = "none"
        body_object: str | None = None
        media_type = None
        trailers: tuple[Attr, ...] = ()
        if m.bodies:
            b = m.bodies[0]
            body, body_object = _body(b.type, objects)
            trailers = tuple(attr(t, "trailer") for t in b.trailers)
            media_type = b.media_type
        results = []
        for r in m.results:
            rbody, robj = _body(r.body, objects)
            results.append(
                Result(
                    status=r.status,
                    headers=tuple(attr(h) for h in r.headers if h.const_value is UNSET),
                    const_headers=const
                    + tuple(attr(h) for h in r.headers if h.const_value is not UNSET),
                    body=rbody,
                    body_object=robj,
                )
            )
        own = tuple(e.name for e in m.errors if e.name not in service_errors)
        methods.append(
            Method(
                name=m.name,
                verb=verb,
                path=path,
                doc=m.doc,
                payload=tuple(attr(a) for p in m.payloads for a in p.attrs),
                body=body,
                body_object=body_object,
                body_media_type=media_type,
                trailers=trailers,
                results=tuple(results),
                errors=service_errors + tuple(dict.fromkeys(own)),
                const_headers=const,
            )
        )
    override = s.overrides[0].header if s.overrides else None
    json = s.json_decls[0] if s.json_decls else None
    return Service(
        error_format=s.error_formats[0].format if s.error_formats else "tus",
        json_media_type=json.media_type if json else "application/json",
        compress=tuple(json.compress) if json else (),
        threshold=int(json.threshold) if json else 860,
        name=s.name,
        path=s.path,
        doc=s.doc,
        errors=tuple(errors.values()),
        methods=tuple(methods),
        objects=tuple(objects.values()),
        method_override=override,
        const_headers=tuple(attr(rh.attr) for rh in s.response_headers),
    )


def build(api: API) -> Api:
    """The frozen IR of a validated design."""
    cors = None
    if api.cors_decls:
        c = api.cors_decls[0]
        cors = Cors(
            c.origins,
            c.methods,
            c.allow_headers,
            c.expose_headers,
            int(c.max_age),
            bool(c.credentials),
        )
    return Api(
        name=api.name,
        title=api.title,
        version=api.version,
        doc=api.doc,
        services=tuple(_service(s) for s in api.services),
        cors=cors,
    )
