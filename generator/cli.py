"""`tusgen`: generate the typed contract (gen/) from a design. A thin shell over
`tusgen.render.generate`; defaults come from `[tool.tusgen]` in the nearest pyproject.toml.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer

from .expr import DesignLoadError, load
from .render import RenderError, generate, project_root
from .validate import DesignError

app = typer.Typer(
    name="tusgen",
    help="Generate service interfaces, FastAPI transport, OpenAPI and a client from a design.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


@app.callback()
def main() -> None:
    """tusgen: design-first code generation for HTTP services (tus and others)."""


def _config(root: Path | None) -> dict[str, Any]:
    if root is None:
        return {}
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    table: dict[str, Any] = data.get("tool", {}).get("tusgen", {})
    return table


def _shown(path: Path, root: Path | None) -> str:
    """The output directory as written in generated headers: relative, never absolute."""
    resolved = path.resolve()
    for base in (root, Path.cwd()):
        if base is not None:
            try:
                return resolved.relative_to(base.resolve()).as_posix() or "."
            except ValueError:
                continue
    return path.name


@app.command("generate")
def generate_command(
    design: Annotated[
        str | None,
        typer.Argument(
            help="The design as module:attribute, e.g. tuskit.design:api "
            "(default: [tool.tusgen] design in pyproject.toml)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output directory the tool owns (default: [tool.tusgen] out)."),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 listing the files that differ."),
    ] = False,
) -> None:
    """Evaluate and validate DESIGN, then (re)write every generated file under --out.

    Only changed files are written; files the design no longer produces are deleted.
    Exit status: 0 up to date or written, 1 --check found differences, 2 design errors.
    """
    root = project_root()
    config = _config(root)
    spec = design or config.get("design")
    if not spec:
        typer.echo("tusgen: no design given and no [tool.tusgen] design configured", err=True)
        raise typer.Exit(2)
    out_dir = out if out is not None else Path(config.get("out", "gen"))
    if not out_dir.is_absolute() and out is None and root is not None:
        out_dir = root / out_dir
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, os.getcwd())
    command = f"tusgen generate {spec} --out {_shown(out_dir, root)}"
    try:
        result = generate(load(spec), out_dir, check=check, command=command)
    except DesignLoadError as exc:
        typer.echo(f"tusgen: {exc}", err=True)
        raise typer.Exit(2) from None
    except DesignError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"tusgen: {len(exc.problems)} design error(s)", err=True)
        raise typer.Exit(2) from None
    except RenderError as exc:
        typer.echo(f"tusgen: {exc}", err=True)
        raise typer.Exit(3) from None
    shown = _shown(out_dir, root)
    if check:
        if result.differs:
            for rel in result.differs:
                typer.echo(f"{shown}/{rel}")
            typer.echo(
                f"tusgen: {len(result.differs)} file(s) differ; run tusgen generate", err=True
            )
            raise typer.Exit(1)
        typer.echo(f"{shown}: up to date")
        return
    for rel in result.written:
        typer.echo(f"wrote {shown}/{rel}")
    for rel in result.deleted:
        typer.echo(f"deleted {shown}/{rel}")
    if not result.written and not result.deleted:
        typer.echo(f"{shown}: up to date")
