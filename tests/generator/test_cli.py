"""The typer CLI: help, generate, --check (exit 1 + files), design errors (exit 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import HERE, ROOT
from typer.testing import CliRunner

from tusgen.cli import app

runner = CliRunner()


def test_help_explains_each_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "generate" in result.output
    result = runner.invoke(app, ["generate", "--help"])
    assert result.exit_code == 0
    for word in ("--out", "--check", "module:attribute", "[tool.tusgen]"):
        assert word in result.output


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from tusgen.cli import app; sys.argv = ['tusgen', *sys.argv[1:]]; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_generate_then_check(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        (ROOT / "pyproject.toml").read_text().replace('out = "gen"', 'out = "out"')
    )
    (tmp_path / "tinydesign.py").write_text((HERE / "fixtures" / "tiny.py").read_text())
    first = run("generate", "tinydesign:build", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "wrote out/items/service.py" in first.stdout
    service = (tmp_path / "out" / "items" / "service.py").read_text()
    assert "# $ tusgen generate tinydesign:build --out out\n" in service
    assert run("generate", "tinydesign:build", "--check", cwd=tmp_path).returncode == 0
    (tmp_path / "out" / "items" / "errors.py").write_text("# edited\n")
    (tmp_path / "out" / "stale.py").write_text("")
    check = run("generate", "tinydesign:build", "--check", cwd=tmp_path)
    assert check.returncode == 1
    assert check.stdout.split() == ["out/items/errors.py", "out/stale.py"]


def test_design_errors_exit_2_with_every_message(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.tusgen]\nout = 'out'\n")
    (tmp_path / "bad.py").write_text(
        "from tusgen.dsl import API, Param, String\n"
        "api = API('b')\n"
        "with api.service('s') as svc:\n"
        "    with svc.method('a', http='GET /{id}') as m:\n"
        "        m.result(99)\n"
        "    svc.error('Oops', 200)\n"
    )
    result = run("generate", "bad:api", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "bad.py:6: service s: error Oops has status 200, not 400-599"
    assert "bad.py:4: method a: path param {id} is not declared in the payload" in lines
    assert "bad.py:5: method a: result status 99 must be 200-399" in lines
    assert not (tmp_path / "out").exists()


def test_repo_gen_is_up_to_date() -> None:
    result = run("generate", "--check", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
