"""Command-line views (`templates/cli.py.j2`, `templates/sections/cli.j2`): per method a
sub-command, per payload attribute (header, path or query param, JSON body field) a typed
flag with its help, default and checks, as Goa's generated CLI has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .. import ir, names
from .models import attr_doc
from .service import ImportView, MethodView, ServiceView
from .text import header_text

FlagKind = Literal["str", "int", "float", "bool", "json"]

_KINDS: dict[str, FlagKind] = {
    "string": "str",
    "int64": "int",
    "float64": "float",
    "bool": "bool",
    "object": "json",
    "list": "json",
}
_METAVARS: dict[FlagKind, str] = {
    "str": "TEXT",
    "int": "INT",
    "float": "NUMBER",
    "bool": "true|false",
    "json": "JSON",
}
RESERVED = frozenset({"--help", "--url", "--body", "--output"})
"""Flags the command line itself uses; a design attribute with such a name is prefixed."""


@dataclass(frozen=True)
class FlagView:
    """One `add_argument`: the flag, where its value goes, how it is checked."""

    flag: str
    dest: str
    keyword: str
    """The constructor keyword of the payload (or JSON body) model."""
    kind: FlagKind
    help: str
    """Already escaped for argparse's `%` formatting."""
    metavar: str
    required: bool
    default: Any = None
    choices: tuple[Any, ...] | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    pattern: str | None = None

    @property
    def bounded(self) -> bool:
        """A number with a minimum or maximum (its parser takes them)."""
        return self.minimum is not None or self.maximum is not None


@dataclass(frozen=True)
class CliMethodView:
    name: str
    command: str
    """The sub-command: `options-upload`."""
    help: str
    description: str
    payload_class: str
    result_class: str
    flags: list[FlagView]
    body: Literal["none", "stream", "json"]
    body_class: str | None
    body_flags: list[FlagView]
    streams_result: bool
    """A result body is streamed: `--output FILE` (default standard output)."""
    adder: str
    runner: str


@dataclass(frozen=True)
class CliView:
    name: str
    doc: str
    path: str
    """The service's path from the design, without a trailing slash (appended to `--url`)."""
    client_class: str
    methods: list[CliMethodView]
    imports: list[ImportView]


def _help(a: ir.Attr, default: Any, has_default: bool) -> str:
    text = attr_doc(a).replace("`", "")
    if has_default:
        text += f" (default: {header_text(default)})"
    return text.replace("%", "%%")


def _flag(a: ir.Attr, flag: str, dest: str, keyword: str) -> FlagView:
    kind = _KINDS[a.type.kind]
    default: Any = a.default if a.has_default else None
    has_default = a.has_default
    if a.required and not has_default and a.enum is not None and len(a.enum) == 1:
        default, has_default = a.enum[0], True  # e.g. Tus-Resumable: 1.0.0
    return FlagView(
        flag=flag,
        dest=dest,
        keyword=keyword,
        kind=kind,
        help=_help(a, default, has_default),
        metavar=_METAVARS[kind],
        required=a.required and not has_default,
        default=default,
        choices=a.enum,
        minimum=a.minimum if kind in ("int", "float") else None,
        maximum=a.maximum if kind in ("int", "float") else None,
        pattern=a.pattern if kind == "str" and a.enum is None else None,
    )


def _kebab(name: str) -> str:
    return "--" + names.snake(name).replace("_", "-")


def _method(
    s: ir.Service, m: ir.Method, mv: MethodView, objects: dict[str, ir.ObjectType]
) -> CliMethodView:
    flags = [_flag(a, _kebab(a.field), a.field, a.field) for a in m.payload]
    taken = set(RESERVED) | {f.flag for f in flags}
    body_flags: list[FlagView] = []
    if m.body == "json" and m.body_object is not None:
        for a in objects[m.body_object].fields:
            flag = _kebab(a.field)
            if flag in taken:
                flag = "--body-" + flag[2:]
            taken.add(flag)
            keyword = a.name if names.IDENT.match(a.name) else a.field
            body_flags.append(_flag(a, flag, f"body_{a.field}", keyword))
    doc = " ".join(mv.doc.split())
    first = doc.split(". ")[0].rstrip(".") + "."
    return CliMethodView(
        name=m.name,
        command=m.name.replace("_", "-"),
        help=first.replace("`", "").replace("%", "%%"),
        description=f"{doc} ({m.verb} {s.path.rstrip('/')}{m.path})".replace("`", "").replace(
            "%", "%%"
        ),
        payload_class=mv.payload_class,
        result_class=mv.result_class,
        flags=flags,
        body=m.body,
        body_class=m.body_object,
        body_flags=body_flags,
        streams_result=any(r.body == "stream" for r in m.results),
        adder=f"_add_{m.name}",
        runner=f"_run_{m.name}",
    )


def cli_view(s: ir.Service, sv: ServiceView) -> CliView:
    """The command-line layer of one service, on top of its generated client."""
    objects = {o.name: o for o in s.objects}
    methods = [_method(s, m, mv, objects) for m, mv in zip(s.methods, sv.methods, strict=True)]
    models = {c.payload_class for c in methods} | {c.result_class for c in methods}
    models |= {c.body_class for c in methods if c.body_class}
    return CliView(
        name=s.name,
        doc=" ".join(sv.doc.split()).replace("`", "").replace("%", "%%"),
        path=s.path.rstrip("/"),
        client_class=sv.client_class,
        methods=methods,
        imports=[
            ImportView("argparse", []),
            ImportView("collections.abc", ["Sequence"]),
            ImportView("httpx", []),
            ImportView("pydantic", ["BaseModel"]),
            ImportView("tusgen", ["runtime as rt"]),
            ImportView(".client", [sv.client_class]),
            ImportView(f"...{s.name}.service", sorted(models)),
        ],
    )
