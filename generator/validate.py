"""Check a whole design and collect every mistake, each with its file and line.

Nothing raises while a design is being declared; `validate(api)` walks what was
recorded and returns the problems, `check(api)` raises them all at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import names
from .dsl import API, STREAM, UNSET, Attribute, ListOf, Loc, Object, Primitive
from .dsl.api import ErrorDecl, Method, Service

VERBS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_PATH_PARAM = re.compile(r"\{([^{}]*)\}")
RESERVED_RESULT_FIELDS = frozenset({"status", "body"})
RESERVED_ERROR_MEMBERS = frozenset(
    {"code", "message", "errors", "status", "error", "type", "title", "detail"}
)
ERROR_FORMATS = ("tus", "envelope", "problem")
CODINGS = ("gzip", "deflate")
_QUERY_NAME = re.compile(r"^[A-Za-z0-9._~-]+$")


@dataclass(frozen=True)
class Problem:
    loc: Loc
    message: str

    def __str__(self) -> str:
        return f"{self.loc}: {self.message}"


class DesignError(Exception):
    """Every problem found in a design; `str()` lists them one per line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def check(api: Any) -> API:
    """Raise `DesignError` with every problem of `api`, or return it."""
    problems = validate(api)
    if problems:
        raise DesignError(problems)
    return api  # type: ignore[no-any-return]


def path_params(path: str) -> list[str]:
    return _PATH_PARAM.findall(path)


def _fits(value: Any, t: Any) -> bool:
    if t is not None and isinstance(t, Primitive):
        if t.name == "string":
            return isinstance(value, str)
        if t.name == "int64":
            return isinstance(value, int) and not isinstance(value, bool)
        if t.name == "bool":
            return isinstance(value, bool)
        if t.name == "float64":
            return isinstance(value, int | float) and not isinstance(value, bool)
    return True


class _Validator:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def err(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(loc, message))

    # -- attributes -----------------------------------------------------------------

    def value(self, a: Attribute, what: str, value: Any, loc: Loc) -> None:
        t = a.type
        if not _fits(value, t):
            self.err(loc, f"{a.name}: {what} {value!r} is not a {t!r} value")
            return
        if isinstance(value, int) and not isinstance(value, bool):
            if not INT64_MIN <= value <= INT64_MAX:
                self.err(loc, f"{a.name}: {what} {value!r} does not fit in 64 bits")
            if a.minimum is not None and value < a.minimum:
                self.err(loc, f"{a.name}: {what} {value!r} is below the minimum {a.minimum}")
            if a.maximum is not None and value > a.maximum:
                self.err(loc, f"{a.name}: {what} {value!r} is above the maximum {a.maximum}")
        if a.enum_values is not None and what != "enum value" and value not in a.enum_values:
            self.err(loc, f"{a.name}: {what} {value!r} is not one of the enum values")
        if isinstance(value, str) and a.pattern is not None:
            try:
                if re.search(a.pattern, value) is None:
                    self.err(loc, f"{a.name}: {what} {value!r} does not match {a.pattern!r}")
            except re.error:
                pass

    def attribute(self, a: Any, where: str, kinds: Iterable[str], loc: Loc) -> bool:
        kinds = tuple(kinds)
        if not isinstance(a, Attribute):
            self.err(loc, f"{where}: {a!r} is not a {' or '.join(kinds)} declaration")
            return False
        if a.kind not in kinds:
            self.err(a.last_loc, f"{where}: {a.name} is a {a.kind}, expected {' or '.join(kinds)}")
            return False
        if not isinstance(a.name, str) or not a.name:
            self.err(a.loc, f"{where}: name must be a non-empty string")
            return False
        if a.kind == "header" and not names.HEADER_TOKEN.match(a.name):
            self.err(a.loc, f"{a.name!r} is not a valid header name")
        if a.kind == "param" and not names.IDENT.match(a.name):
            self.err(a.loc, f"path param {a.name!r} must be an identifier")
        if a.kind == "query" and not _QUERY_NAME.match(a.name):
            self.err(a.loc, f"query param {a.name!r} must be letters, digits, '.', '_', '-', '~'")
        if a.nullable and a.kind != "field":
            self.err(a.loc, f"{a.name}: only JSON fields are nullable")
        if a.field_name is not None and (
            not names.IDENT.match(a.field_name) or a.field_name.startswith("model_")
        ):
            self.err(a.where("named"), f"{a.name}: {a.field_name!r} is not a usable field name")
        t = a.type
        if a.kind == "field":
            self.type(t, a)
        elif not isinstance(t, Primitive):
            self.err(
                a.loc, f"{a.name}: a {a.kind} must be String, Int64, Float64 or Bool, not {t!r}"
            )
            return False
        if a.pattern is not None:
            if t != Primitive("string"):
                self.err(a.loc, f"{a.name}: pattern only applies to String")
            try:
                re.compile(a.pattern)
            except re.error as exc:
                self.err(a.loc, f"{a.name}: invalid pattern {a.pattern!r}: {exc}")
        for bound, label in ((a.minimum, "minimum"), (a.maximum, "maximum")):
            if bound is None:
                continue
            if t == Primitive("float64"):
                if not isinstance(bound, int | float) or isinstance(bound, bool):
                    self.err(a.loc, f"{a.name}: {label} needs a number bound")
            elif t != Primitive("int64") or not isinstance(bound, int) or isinstance(bound, bool):
                self.err(a.loc, f"{a.name}: {label} needs an Int64 and an int bound")
        if (
            isinstance(a.minimum, int | float)
            and isinstance(a.maximum, int | float)
            and a.minimum > a.maximum
        ):
            self.err(a.loc, f"{a.name}: minimum {a.minimum} is above maximum {a.maximum}")
        if a.enum_values is not None:
            enum_loc = a.where("enum")
            if not a.enum_values:
                self.err(enum_loc, f"{a.name}: enum needs at least one value")
            if len(set(map(repr, a.enum_values))) != len(a.enum_values):
                self.err(enum_loc, f"{a.name}: enum values repeat")
            for v in a.enum_values:
                self.value(a, "enum value", v, enum_loc)
        if a.example is not UNSET:
            self.value(a, "example", a.example, a.loc)
        if a.const_value is not UNSET:
            self.value(a, "const", a.const_value, a.where("const"))
        if a.default_value is not UNSET:
            self.value(a, "default", a.default_value, a.where("default"))
        return True

    def type(self, t: Any, a: Attribute) -> None:
        if isinstance(t, ListOf):
            self.type(t.of, a)
        elif not isinstance(t, Primitive | Object):
            self.err(a.loc, f"{a.name}: {t!r} is not a type (String, Int64, Bool, Object, ListOf)")

    def headers(
        self, attrs: Iterable[Any], where: str, loc: Loc, *, reserved: Iterable[str] = ()
    ) -> list[Attribute]:
        ok: list[Attribute] = []
        seen: dict[str, Attribute] = {}
        fields: set[str] = set(reserved)
        for a in attrs:
            if not self.attribute(a, where, ("header",), loc):
                continue
            key = a.name.lower()
            if key in seen:
                self.err(a.last_loc, f"{where}: header {a.name} declared twice")
                continue
            seen[key] = a
            fname = a.python_name
            if a.const_value is UNSET and fname in fields:
                self.err(a.last_loc, f"{where}: field name {fname!r} of {a.name} is taken")
            fields.add(fname)
            ok.append(a)
        return ok

    # -- objects --------------------------------------------------------------------

    def objects(self, api: API) -> None:
        seen: dict[str, Object] = {}

        def visit(t: Any) -> None:
            if isinstance(t, ListOf):
                visit(t.of)
                return
            if not isinstance(t, Object):
                return
            prior = seen.get(t.name)
            if prior is t:
                return
            if prior is not None:
                self.err(t.loc, f"object {t.name} declared twice (first at {prior.loc})")
                return
            seen[t.name] = t
            if not isinstance(t.name, str) or not names.PASCAL.match(t.name):
                self.err(t.loc, f"object name {t.name!r} must be PascalCase")
            if t.name in ("Service", "BodyStream") or t.name.endswith(
                ("Payload", "Result", "Trailers")
            ):
                self.err(t.loc, f"object name {t.name!r} clashes with generated names")
            fields: set[str] = set()
            for f in t.fields:
                if not self.attribute(f, f"object {t.name}", ("field",), t.loc):
                    continue
                fname = f.python_name
                if fname in fields:
                    self.err(f.last_loc, f"object {t.name}: field {f.name} declared twice")
                fields.add(fname)
                visit(f.type)

        for s in api.services:
            for m in s.methods:
                for b in m.bodies:
                    visit(b.type)
                for r in m.results:
                    visit(r.body)
                for e in m.errors:
                    for f in e.fields:
                        visit(f.type)
            for e in s.errors:
                for f in e.fields:
                    visit(f.type)

    # -- errors ---------------------------------------------------------------------

    def error(self, e: ErrorDecl, where: str) -> None:
        if not isinstance(e.name, str) or not names.PASCAL.match(e.name):
            self.err(e.loc, f"{where}: error name {e.name!r} must be PascalCase")
        if (
            not isinstance(e.status, int)
            or isinstance(e.status, bool)
            or not (400 <= e.status <= 599)
        ):
            self.err(e.loc, f"{where}: error {e.name} has status {e.status!r}, not 400-599")
        ok = self.headers(e.headers, f"error {e.name}", e.loc, reserved=("message",))
        taken = {"message", *(h.python_name for h in ok)}
        for f in e.fields:
            if not self.attribute(f, f"error {e.name} fields", ("field",), e.loc):
                continue
            if f.python_name in taken:
                self.err(f.last_loc, f"error {e.name}: field name {f.python_name!r} is taken")
            taken.add(f.python_name)
            if f.name in RESERVED_ERROR_MEMBERS:
                self.err(f.last_loc, f"error {e.name}: body member {f.name!r} is reserved")
        for value, label in (
            (e.code, "code"),
            (e.problem_type, "problem_type"),
            (e.title, "title"),
        ):
            if value is not None and (not isinstance(value, str) or not value):
                self.err(e.loc, f"error {e.name}: {label} must be a non-empty string")

    # -- services and methods -------------------------------------------------------

    def api(self, api: Any) -> None:
        if not isinstance(api, API):
            self.err(Loc("<design>", 0), f"the design is a {type(api).__name__}, not an API")
            return
        if not isinstance(api.name, str) or not names.IDENT.match(api.name):
            self.err(api.loc, f"API name {api.name!r} must be an identifier")
        for c in api.cors_decls[1:]:
            self.err(c.loc, f"CORS policy declared twice (first at {api.cors_decls[0].loc})")
        for c in api.cors_decls[:1]:
            for verb in c.methods:
                if verb not in VERBS:
                    self.err(c.loc, f"CORS: unknown method {verb!r}")
            if not isinstance(c.max_age, int) or isinstance(c.max_age, bool) or c.max_age < 0:
                self.err(c.loc, f"CORS: max_age {c.max_age!r} must be an int >= 0")
            if not isinstance(c.credentials, bool):
                self.err(c.loc, "CORS: credentials must be a bool")
        seen: dict[str, Service] = {}
        for s in api.services:
            if s.name in seen:
                self.err(s.loc, f"service {s.name} declared twice (first at {seen[s.name].loc})")
                continue
            seen[s.name] = s
            self.service(s)
        if not api.services:
            self.err(api.loc, "the API declares no service")
        self.objects(api)

    def service(self, s: Service) -> None:
        if not isinstance(s.name, str) or not names.SNAKE.match(s.name):
            self.err(s.loc, f"service name {s.name!r} must be snake_case")
        if not isinstance(s.path, str) or not s.path.startswith("/"):
            self.err(s.loc, f"service {s.name}: path {s.path!r} must start with '/'")
        errors: dict[str, ErrorDecl] = {}
        for e in s.errors:
            if e.name in errors:
                self.err(e.loc, f"error {e.name} declared twice (first at {errors[e.name].loc})")
                continue
            errors[e.name] = e
            self.error(e, f"service {s.name}")
        method_names = {m.name for m in s.methods}
        for rh in s.response_headers:
            a = rh.attr
            if not self.attribute(a, "response_header", ("header",), rh.loc):
                continue
            if a.const_value is UNSET:
                self.err(rh.loc, f"response_header {a.name} needs .const(value)")
            for name in rh.skip:
                if name not in method_names:
                    self.err(rh.loc, f"response_header {a.name}: skip names no method {name!r}")
        for f in s.error_formats[1:]:
            self.err(f.loc, f"service {s.name}: error_format declared twice")
        for f in s.error_formats[:1]:
            if f.format not in ERROR_FORMATS:
                self.err(
                    f.loc, f"error_format {f.format!r} must be one of {', '.join(ERROR_FORMATS)}"
                )
        for j in s.json_decls[1:]:
            self.err(j.loc, f"service {s.name}: json declared twice")
        for j in s.json_decls[:1]:
            if not isinstance(j.media_type, str) or "/" not in j.media_type:
                self.err(j.loc, f"json: media_type {j.media_type!r} is not a media type")
            for coding in j.compress:
                if coding not in CODINGS:
                    self.err(j.loc, f"json: unknown coding {coding!r} (gzip or deflate)")
            if len(set(j.compress)) != len(j.compress):
                self.err(j.loc, "json: a coding repeats")
            if not isinstance(j.threshold, int) or isinstance(j.threshold, bool) or j.threshold < 0:
                self.err(j.loc, f"json: threshold {j.threshold!r} must be an int >= 0")
        if len(s.overrides) > 1:
            self.err(s.overrides[1].loc, f"service {s.name}: method_override declared twice")
        for o in s.overrides[:1]:
            if not isinstance(o.header, str) or not names.HEADER_TOKEN.match(o.header):
                self.err(o.loc, f"method_override: {o.header!r} is not a header name")
        methods: dict[str, Method] = {}
        routes: dict[tuple[str, str], Method] = {}
        # Same-name errors across the service must agree.
        shared: dict[str, ErrorDecl] = dict(errors)
        for m in s.methods:
            if m.name in methods:
                self.err(m.loc, f"method {m.name} declared twice (first at {methods[m.name].loc})")
                continue
            methods[m.name] = m
            route = self.method(s, m, errors, shared)
            if route is None:
                continue
            if route in routes:
                self.err(
                    m.loc,
                    f"method {m.name}: {route[0]} {m.http.split(' ', 1)[-1].strip()} is already "
                    f"method {routes[route].name} (at {routes[route].loc})",
                )
            else:
                routes[route] = m
        if not s.methods:
            self.err(s.loc, f"service {s.name} declares no method")

    def method(
        self,
        s: Service,
        m: Method,
        service_errors: dict[str, ErrorDecl],
        shared: dict[str, ErrorDecl],
    ) -> tuple[str, str] | None:
        where = f"method {m.name}"
        if not isinstance(m.name, str) or not names.SNAKE.match(m.name):
            self.err(m.loc, f"method name {m.name!r} must be snake_case")
        route: tuple[str, str] | None = None
        verb, _, path = (m.http if isinstance(m.http, str) else "").strip().partition(" ")
        path = path.strip()
        if verb.upper() not in VERBS or not path.startswith("/"):
            self.err(m.loc, f"{where}: http {m.http!r} must be 'VERB /path' with a known verb")
            params: list[str] = []
        else:
            params = path_params(path)
            route = (verb.upper(), _PATH_PARAM.sub("{}", path).rstrip("/") or "/")
            for p in params:
                if not names.IDENT.match(p):
                    self.err(m.loc, f"{where}: path param {{{p}}} must be an identifier")
            if len(set(params)) != len(params):
                self.err(m.loc, f"{where}: a path param repeats in {path!r}")
        # errors
        own: dict[str, ErrorDecl] = {}
        for e in m.errors:
            if e.name in own:
                self.err(e.loc, f"{where}: error {e.name} declared twice")
                continue
            own[e.name] = e
            self.error(e, where)
            first = shared.get(e.name)
            if first is None:
                shared[e.name] = e
            elif (
                first.status != e.status
                or first.code != e.code
                or [(h.name, h.is_required) for h in first.headers if isinstance(h, Attribute)]
                != [(h.name, h.is_required) for h in e.headers if isinstance(h, Attribute)]
            ):
                self.err(
                    e.loc,
                    f"{where}: error {e.name} conflicts with its declaration at {first.loc} "
                    f"(status {first.status} vs {e.status} or different headers)",
                )
        known = {**service_errors, **own}
        # payload
        declared_params: set[str] = set()
        attrs: list[Attribute] = []
        seen: dict[str, Attribute] = {}
        fields: set[str] = set()
        for decl in m.payloads:
            for a in decl.attrs:
                kinds = ("header", "param", "query")
                if not self.attribute(a, f"{where} payload", kinds, decl.loc):
                    continue
                key = {"header": a.name.lower(), "param": "{" + a.name, "query": "?" + a.name}[
                    a.kind
                ]
                if key in seen:
                    self.err(a.last_loc, f"{where}: {a.kind} {a.name} declared twice")
                    continue
                seen[key] = a
                fname = a.python_name
                if fname in fields:
                    self.err(a.last_loc, f"{where}: field name {fname!r} of {a.name} is taken")
                fields.add(fname)
                attrs.append(a)
                if a.kind == "param":
                    declared_params.add(a.name)
                    if a.is_required is False:
                        self.err(a.where("optional"), f"{where}: path param {a.name} is required")
                if a.const_value is not UNSET:
                    self.err(a.where("const"), f"{where}: {a.name}: const is for response headers")
                if a.invalid_error is not None:
                    self.on_invalid(a, known, where)
        for p in params:
            if p not in declared_params:
                self.err(m.loc, f"{where}: path param {{{p}}} is not declared in the payload")
        for p in sorted(declared_params - set(params)):
            self.err(seen["{" + p].last_loc, f"{where}: path param {p} is not in {path!r}")
        # body
        for b in m.bodies[1:]:
            self.err(b.loc, f"{where}: body declared twice")
        for b in m.bodies[:1]:
            if b.type is not STREAM and not isinstance(b.type, Object):
                self.err(b.loc, f"{where}: body must be STREAM or an Object, not {b.type!r}")
            if b.trailers and b.type is not STREAM:
                self.err(b.loc, f"{where}: trailers need a STREAM body")
            for t in self.headers(b.trailers, f"{where} trailers", b.loc):
                if t.invalid_error is not None:
                    self.on_invalid(t, known, where)
            if b.media_type is not None and not isinstance(b.media_type, str):
                self.err(b.loc, f"{where}: media_type must be a string")
            if verb.upper() in ("GET", "HEAD"):
                self.err(b.loc, f"{where}: {verb.upper()} requests carry no body")
        # results
        if not m.results:
            self.err(m.loc, f"{where}: declares no result (m.result(status, ...))")
        statuses: dict[int, Loc] = {}
        for r in m.results:
            if (
                not isinstance(r.status, int)
                or isinstance(r.status, bool)
                or not (200 <= r.status <= 399)
            ):
                self.err(r.loc, f"{where}: result status {r.status!r} must be 200-399")
            elif r.status in statuses:
                self.err(r.loc, f"{where}: result status {r.status} declared twice")
            else:
                statuses[r.status] = r.loc
            self.headers(r.headers, f"{where} result {r.status}", r.loc, reserved=())
            for h in r.headers:
                if isinstance(h, Attribute) and h.invalid_error is not None:
                    self.err(h.where("on_invalid"), f"{where}: on_invalid is for request values")
                fname = h.python_name if isinstance(h, Attribute) else ""
                if fname in RESERVED_RESULT_FIELDS:
                    self.err(r.loc, f"{where}: header {h.name} would shadow the result's {fname}")
            if r.body is not None and r.body is not STREAM and not isinstance(r.body, Object):
                self.err(r.loc, f"{where}: result body must be None, STREAM or an Object")
            if r.body is not None and verb.upper() == "HEAD":
                self.err(r.loc, f"{where}: HEAD responses carry no body")
            if isinstance(r.status, int) and r.status in (204, 304) and r.body is not None:
                self.err(r.loc, f"{where}: status {r.status} carries no body")
        return route

    def on_invalid(self, a: Attribute, known: dict[str, ErrorDecl], where: str) -> None:
        loc = a.where("on_invalid")
        e = known.get(a.invalid_error or "")
        if e is None:
            self.err(loc, f"{where}: {a.name}: on_invalid names unknown error {a.invalid_error!r}")
            return
        for h in e.headers:
            if (
                isinstance(h, Attribute)
                and h.is_required
                and h.default_value is UNSET
                and h.const_value is UNSET
            ):
                self.err(
                    loc,
                    f"{where}: {a.name}: on_invalid error {e.name} needs header {h.name}, "
                    "which has no .default(...) for the router to send",
                )


def validate(api: Any) -> list[Problem]:
    """Every problem in the design, in declaration order."""
    v = _Validator()
    v.api(api)
    return v.problems
