"""Render view models through the templates, parse, format with the pinned ruff, write.

`generate(api, out_dir)` is the whole pipeline; the CLI is a thin shell over it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from . import ir, openapi, views
from .dsl import API
from .validate import check as check_design

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_COMMAND = "tusgen generate"


class RenderError(Exception):
    """A template produced invalid Python, or the formatter failed or is missing."""


@dataclass(frozen=True)
class Result:
    """What `generate` did (or, with `check=True`, would do), paths relative to `out`."""

    out: Path
    written: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    check: bool = False

    @property
    def differs(self) -> tuple[str, ...]:
        """Files that differ from what the design gives (written or stale)."""
        return tuple(sorted((*self.written, *self.deleted)))

    @property
    def ok(self) -> bool:
        return not self.differs


@dataclass(frozen=True)
class FileSpec:
    path: str
    """Relative to the output directory, with `/`."""
    template: str | None
    context: dict[str, Any] = field(default_factory=dict)
    content: str = ""


def environment() -> jinja2.Environment:
    """Templates that print and loop: `lit` prints a Python literal, `docstring(indent)` a
    wrapped docstring, `wrapped` a long string literal split to fit the line; anything
    undefined is an error (`StrictUndefined`)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["lit"] = views.lit
    env.filters["docstring"] = views.docstring
    env.filters["wrapped"] = views.wrapped_lit
    return env


def file_specs(model: ir.Api, command: str) -> list[FileSpec]:
    """Every file of the generated tree, in a fixed order."""
    header = f"{views.GENERATED}\n# $ {command}"

    def package(path: str, doc: str) -> FileSpec:
        ctx = {"header": header, "docstring": views.docstring(doc)}
        return FileSpec(path, "package.py.j2", ctx)

    title = model.title or model.name
    specs = [
        package("__init__.py", f"Generated from the {model.name} design: {title}."),
        FileSpec("py.typed", None, content=""),
    ]
    service_views = {s.name: views.service_view(model, s) for s in model.services}
    for s in model.services:
        ctx = {"header": header, "svc": service_views[s.name]}
        specs += [
            package(f"{s.name}/__init__.py", f"The {s.name} service: contract and errors."),
            FileSpec(f"{s.name}/service.py", "service.py.j2", ctx),
            FileSpec(f"{s.name}/errors.py", "errors.py.j2", ctx),
        ]
    specs.append(package("http/__init__.py", "HTTP transport of every service."))
    if model.cors is not None:
        c = model.cors
        cors = {
            "methods": views.lit(c.methods),
            "allow_headers": views.lit(c.allow_headers),
            "expose_headers": views.lit(c.expose_headers),
            "max_age": views.lit(c.max_age),
            "credentials": views.lit(c.credentials),
            "origins": views.lit(c.origins),
        }
        specs.append(
            FileSpec(
                "http/cors.py",
                "cors.py.j2",
                {"header": header, "cors": cors, "api_name": model.name},
            )
        )
    specs.append(FileSpec("http/openapi.json", None, content=openapi.dumps(model)))
    for s in model.services:
        ctx = {"header": header, "svc": service_views[s.name]}
        specs += [
            package(f"http/{s.name}/__init__.py", f"HTTP server, client and CLI of {s.name}."),
            FileSpec(f"http/{s.name}/server.py", "server.py.j2", ctx),
            FileSpec(f"http/{s.name}/client.py", "client.py.j2", ctx),
            FileSpec(
                f"http/{s.name}/cli.py",
                "cli.py.j2",
                {"header": header, "cli": views.cli_view(s, service_views[s.name])},
            ),
        ]
    return specs


def numbered(source: str) -> str:
    return "\n".join(f"{i:5d}  {line}" for i, line in enumerate(source.splitlines(), 1))


def project_root(start: Path | None = None) -> Path | None:
    """The nearest directory holding a pyproject.toml (the ruff configuration)."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "pyproject.toml").is_file():
            return d
    return None


def _ruff(args: list[str], source: str, filename: str, root: Path | None) -> str:
    config = ["--config", str(root / "pyproject.toml")] if root else ["--isolated"]
    cmd = [sys.executable, "-m", "ruff", *args, *config, "--stdin-filename", filename, "-"]
    try:
        proc = subprocess.run(
            cmd,
            input=source,
            capture_output=True,
            text=True,
            cwd=root or Path.cwd(),
            check=False,
            env={**os.environ, "NO_COLOR": "1"},
        )
    except FileNotFoundError as exc:  # pragma: no cover - the interpreter vanished
        raise RenderError(f"cannot run ruff: {exc}") from exc
    if proc.returncode != 0 or (not proc.stdout and source):
        if "No module named ruff" in proc.stderr:
            raise RenderError("ruff is not installed; install the pinned ruff (see pyproject)")
        raise RenderError(f"ruff {' '.join(args)} failed on {filename}:\n{proc.stderr}")
    return proc.stdout


def format_python(source: str, filename: str, root: Path | None = None) -> str:
    """Parse (errors show numbered source), sort imports and format with ruff."""
    try:
        ast.parse(source, filename)
    except SyntaxError as exc:
        raise RenderError(f"{filename}:{exc.lineno}: {exc.msg}\n{numbered(source)}") from exc
    source = _ruff(
        ["check", "--fix", "--select", "I", "--exit-zero", "--quiet"], source, filename, root
    )
    return _ruff(["format", "--quiet"], source, filename, root)


def render(
    model: ir.Api, command: str = DEFAULT_COMMAND, root: Path | None = None
) -> dict[str, str]:
    """Every generated file's final text by relative path."""
    env = environment()
    root = root if root is not None else project_root()
    out: dict[str, str] = {}
    for spec in file_specs(model, command):
        if spec.template is None:
            out[spec.path] = spec.content
            continue
        text = env.get_template(spec.template).render(**spec.context)
        out[spec.path] = format_python(text, f"gen/{spec.path}", root)
    return out


def generate(
    api: API,
    out_dir: str | os.PathLike[str],
    *,
    check: bool = False,
    command: str = DEFAULT_COMMAND,
) -> Result:
    """Validate `api`, render every file and write the changed ones into `out_dir`.

    The tool owns `out_dir`: files it did not generate are deleted (caches excepted).
    With `check=True` nothing is written; the result lists what differs.
    Raises `tusgen.validate.DesignError` with every design problem.
    """
    check_design(api)
    files = render(ir.build(api), command)
    out = Path(out_dir)
    written, unchanged, deleted = [], [], []
    for rel, text in files.items():
        target = out / rel
        data = text.encode()
        if target.is_file() and target.read_bytes() == data:
            unchanged.append(rel)
            continue
        written.append(rel)
        if not check:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
    if out.is_dir():
        for path in sorted(out.rglob("*")):
            rel = path.relative_to(out).as_posix()
            if path.is_dir() or "__pycache__" in path.parts or rel in files:
                continue
            deleted.append(rel)
            if not check:
                path.unlink()
        if not check:
            for d in sorted((p for p in out.rglob("*") if p.is_dir()), reverse=True):
                if d.name != "__pycache__" and not any(d.iterdir()):
                    d.rmdir()
    return Result(out, tuple(written), tuple(unchanged), tuple(deleted), check)
