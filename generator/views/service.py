"""The per-service view: every method's sections, routes, errors and each module's imports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .. import ir, names
from .client import ClientMethodView, client_method_view
from .errors import ErrorView, error_view
from .models import ModelView, object_model, payload_model, result_model, trailers_model
from .request import Constants, ConstView, DecodeView, decode_view
from .response import EncodeView, encode_view
from .text import header_text


@dataclass(frozen=True)
class ImportView:
    """`from module import a, b` (or `import module` without names); ruff sorts them."""

    module: str
    names: list[str]


@dataclass(frozen=True)
class MethodView:
    name: str
    pascal: str
    verb: str
    path: str
    doc: str
    payload_model: ModelView
    result_model: ModelView
    trailers_model: ModelView | None
    body: Literal["none", "stream", "json"]
    body_object: str | None
    decode: DecodeView
    encode: EncodeView
    client: ClientMethodView
    log_name: str
    """`tus.patch`: how the endpoint logs an unexpected exception."""
    no_trailers: str
    """The constant holding the method's empty trailers object (stream bodies with trailers)."""

    @property
    def payload_class(self) -> str:
        return self.payload_model.name

    @property
    def result_class(self) -> str:
        return self.result_model.name

    @property
    def trailers_class(self) -> str | None:
        return self.trailers_model.name if self.trailers_model else None


@dataclass(frozen=True)
class RouteView:
    """One path: the verb -> endpoint table `rt.Dispatch` picks from."""

    path: str
    verbs: list[str]
    table: dict[str, str]
    dispatcher: str


@dataclass(frozen=True)
class JsonView:
    """How the service answers JSON: `rt.JsonResponses(media_type, format, compress,
    threshold)`, one module constant of the server."""

    media_type: bytes
    error_format: str
    """The runtime constant: `TUS`, `ENVELOPE` or `PROBLEM`."""
    compress: tuple[str, ...]
    threshold: int

    @property
    def dispatch_errors(self) -> bool:
        """405 answers carry a body (the tus format keeps its empty 405)."""
        return self.error_format != "TUS"


@dataclass(frozen=True)
class ServiceView:
    name: str
    pascal: str
    path: str
    doc: str
    method_names: tuple[str, ...]
    objects: list[ModelView]
    methods: list[MethodView]
    errors: list[ErrorView]
    routes: list[RouteView]
    server_consts: list[ConstView]
    routing_const: str
    """The constant headers routing errors carry (e.g. `Tus-Resumable`)."""
    override: bytes
    json: JsonView
    client_class: str
    client_doc: str
    client_errors: list[tuple[str, list[tuple[int, list[str]]]]]
    """Per method: `_<M>_ERRORS` and its declared error classes by status."""
    service_imports: list[ImportView]
    errors_imports: list[ImportView]
    server_imports: list[ImportView]
    client_imports: list[ImportView]


def _bad_request(s: ir.Service) -> str:
    """The service-wide 400 error the problem list is raised with, else the runtime's."""
    return next((e.name for e in s.errors if e.status == 400), "rt.BadRequest")


def _unsupported(s: ir.Service, m: ir.Method) -> str:
    """The method's declared 415 error, else the runtime's."""
    statuses = {e.name: e.status for e in s.errors}
    return next((n for n in m.errors if statuses[n] == 415), "rt.UnsupportedMediaType")


def _method_view(s: ir.Service, m: ir.Method, consts: Constants) -> MethodView:
    pascal = names.pascal(m.name)
    payload = payload_model(m, f"{pascal}Payload")
    result, always = result_model(m, f"{pascal}Result")
    trailers = trailers_model(m, f"{pascal}Trailers") if m.trailers else None
    doc = m.doc or f"{m.verb} {m.path}."
    decode = decode_view(
        m,
        payload.name,
        trailers.name if trailers else None,
        _bad_request(s),
        _unsupported(s, m),
        consts,
    )
    no_trailers = ""
    if trailers is not None:
        no_trailers = consts.add(f"_{m.name.upper()}_NO_TRAILERS", "trailers", trailers.name)
    return MethodView(
        name=m.name,
        pascal=pascal,
        verb=m.verb,
        path=m.path,
        doc=doc,
        payload_model=payload,
        result_model=result,
        trailers_model=trailers,
        body=m.body,
        body_object=m.body_object,
        decode=decode,
        encode=encode_view(m, result.name, always, consts),
        client=client_method_view(m, doc, payload.name, result.name, s.error_format),
        log_name=f"{s.name}.{m.name}",
        no_trailers=no_trailers,
    )


def _routes(s: ir.Service, methods: list[MethodView]) -> list[RouteView]:
    """Methods grouped by path in declaration order; GET answers HEAD unless declared."""
    groups: dict[str, list[MethodView]] = {}
    for mv in methods:
        groups.setdefault(mv.path, []).append(mv)
    routes: list[RouteView] = []
    for i, (path, ms) in enumerate(groups.items()):
        table = {mv.verb: mv.name for mv in ms}
        if "GET" in table and "HEAD" not in table:
            table["HEAD"] = table["GET"]
        verbs = list(table)
        if s.method_override and "POST" not in verbs:
            verbs.append("POST")
        routes.append(RouteView(path, verbs, table, f"_route_{i}"))
    return routes


def service_view(api: ir.Api, s: ir.Service) -> ServiceView:
    errors = {e.name: e for e in s.errors}
    consts = Constants()
    methods = [_method_view(s, m, consts) for m in s.methods]
    routing_const = consts.add(
        "_ROUTING_CONST",
        "headers",
        tuple(
            (h.name.lower().encode(), header_text(h.const).encode("latin-1"))
            for h in s.const_headers
        ),
    )
    client_errors: list[tuple[str, list[tuple[int, list[str]]]]] = []
    for m, mv in zip(s.methods, methods, strict=True):
        by_status: dict[int, list[str]] = {}
        for name in m.errors:
            by_status.setdefault(errors[name].status, []).append(name)
        client_errors.append((mv.client.errors_name, sorted(by_status.items())))
    models = [
        *(object_model(o) for o in s.objects),
        *(mv.payload_model for mv in methods),
        *(mv.result_model for mv in methods),
        *(mv.trailers_model for mv in methods if mv.trailers_model),
    ]
    return ServiceView(
        name=s.name,
        pascal=names.pascal(s.name),
        path=s.path,
        doc=s.doc or f"The {s.name} service.",
        method_names=tuple(m.name for m in s.methods),
        objects=[object_model(o) for o in s.objects],
        methods=methods,
        errors=[error_view(e) for e in s.errors],
        routes=_routes(s, methods),
        server_consts=consts.items,
        routing_const=routing_const,
        override=s.method_override.lower().encode() if s.method_override else b"",
        json=JsonView(
            s.json_media_type.encode("latin-1"), s.error_format.upper(), s.compress, s.threshold
        ),
        client_class=f"{names.pascal(s.name)}Client",
        client_doc=f"Async HTTP client of the {s.name} service. `base_url` includes the "
        f"service's base path, e.g. `http://localhost:8000{s.path.rstrip('/')}`.",
        client_errors=client_errors,
        service_imports=_service_imports(s, methods, models),
        errors_imports=_errors_imports(s),
        server_imports=_server_imports(s, methods, consts),
        client_imports=_client_imports(s, methods),
    )


def _service_imports(
    s: ir.Service, methods: list[MethodView], models: list[ModelView]
) -> list[ImportView]:
    out = [ImportView("pydantic", ["BaseModel", "ConfigDict"])]
    if any(f.uses_field for mv in models for f in mv.fields):
        out[0].names.append("Field")
    literal = any("Literal[" in f.type for mv in models for f in mv.fields)
    out.append(ImportView("typing", ["Literal", "Protocol"] if literal else ["Protocol"]))
    if any(r.body == "stream" for m in s.methods for r in m.results):
        out.append(ImportView("collections.abc", ["AsyncIterator"]))
    runtime = []
    if any(m.body == "stream" for m in s.methods):
        runtime.append("BodyStream")
    if any(m.trailers for m in s.methods):
        runtime.append("Trailers")
        out.append(ImportView("dataclasses", ["dataclass"]))
    if runtime:
        out.append(ImportView("tusgen.runtime", runtime))
    return out


def _errors_imports(s: ir.Service) -> list[ImportView]:
    out = [ImportView("tusgen.runtime", ["ServiceError"])]
    if any(e.headers or e.fields for e in s.errors):
        out += [
            ImportView("collections.abc", ["Mapping"]),
            ImportView("tusgen", ["runtime as rt"]),
            ImportView("typing", ["Any"]),
        ]
    if any(f.enum for e in s.errors for f in e.fields):
        out.append(ImportView("typing", ["Literal"]))
    objects = sorted({o for e in s.errors for f in e.fields for o in _objects(f.type)})
    if objects:
        out.append(ImportView(".service", objects))
    return out


def _objects(t: ir.TypeRef) -> list[str]:
    if t.kind == "object" and t.object:
        return [t.object]
    return _objects(t.item) if t.kind == "list" and t.item else []


def _server_imports(
    s: ir.Service, methods: list[MethodView], consts: Constants
) -> list[ImportView]:
    out = [
        ImportView("logging", []),
        ImportView("typing", ["TYPE_CHECKING"]),
        ImportView("starlette.requests", ["ClientDisconnect"]),
        ImportView("starlette.routing", ["Route"]),
        ImportView("starlette.types", ["Receive", "Scope", "Send"]),
        ImportView("tusgen", ["runtime as rt"]),
        ImportView("collections.abc", ["Sequence"]),
    ]
    if consts.uses_re:
        out.append(ImportView("re", []))
    if any(m.body == "json" for m in s.methods):
        out.append(ImportView("pydantic", ["ValidationError"]))
    if any(mv.encode.responds for mv in methods):
        out.append(ImportView("starlette.responses", ["Response", "StreamingResponse"]))
        out.append(ImportView("starlette.types", ["ASGIApp"]))
    used = {a.on_invalid for m in s.methods for a in (*m.payload, *m.trailers) if a.on_invalid}
    bad = _bad_request(s)
    if bad != "rt.BadRequest" and any(
        mv.decode.collects_problems or mv.decode.trailers_collect_problems or mv.body == "json"
        for mv in methods
    ):
        used.add(bad)
    used |= {
        mv.decode.unsupported_media_type
        for mv in methods
        if mv.body == "json" and not mv.decode.unsupported_media_type.startswith("rt.")
    }
    if used:
        out.append(ImportView(f"...{s.name}.errors", sorted(used)))
    models = {mv.payload_class for mv in methods} | {mv.result_class for mv in methods}
    models |= {mv.trailers_class for mv in methods if mv.trailers_class}
    models |= {m.body_object for m in s.methods if m.body_object}
    out.append(ImportView(f"...{s.name}.service", sorted({*models, "Service"})))
    return out


def _client_imports(s: ir.Service, methods: list[MethodView]) -> list[ImportView]:
    runtime = ["ServiceError"]
    if any(m.body == "stream" for m in s.methods):
        runtime.append("Content")
    models = {mv.payload_class for mv in methods} | {mv.result_class for mv in methods}
    models |= {m.body_object for m in s.methods if m.body_object}
    models |= {r.body_object for m in s.methods for r in m.results if r.body_object}
    return [
        ImportView("types", ["TracebackType"]),
        ImportView("httpx", []),
        ImportView("tusgen", ["runtime as rt"]),
        ImportView("tusgen.runtime", runtime),
        ImportView(f"...{s.name}.errors", [e.name for e in s.errors]),
        ImportView(f"...{s.name}.service", sorted(models)),
    ]
