"""The wheel is complete: built from the repository, installed into a fresh venv, it gives
a working `upload` and `tusgen` (templates, `gen/`, the license and PyPI metadata in it).

Offline and quick on purpose: the wheel is built without build isolation by the test
venv's setuptools (the `test` extra pins one new enough), from a copy of the tracked
folders so the work tree gets no `build/`; the fresh venv gets the wheel with
`--no-deps --no-index`, and its dependencies from this venv's site-packages through a
path file (appended after its own site-packages, so the wheel's code is what runs,
never this checkout's editable install).
"""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.servers import ROOT

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(240)]

SOURCES = ("pyproject.toml", "README.md", "LICENSE", "src", "generator", "design", "gen",
           "persist", "cmd", "client")  # fmt: skip


def run(*argv: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, f"{argv}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(
                src, tree / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(src, tree / name)
    dist = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "--no-index", "-q", "-w", dist, tree, cwd=tree)  # fmt: skip
    (found,) = dist.glob("tuskit-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", "--without-pip", home, cwd=home)
    python = home / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                    cwd=home).stdout.strip())  # fmt: skip
    (site / "_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        "-q", wheel, cwd=home)  # fmt: skip
    return home


def test_the_wheel_holds_gen_templates_license_and_metadata(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    generated = [p.relative_to(ROOT / "gen") for p in (ROOT / "gen").rglob("*") if p.is_file()]
    generated = [p for p in generated if "__pycache__" not in p.parts]
    assert generated
    missing = [str(p) for p in generated if f"tuskit/gen/{p}" not in names]
    assert not missing, f"gen/ files missing from the wheel: {missing}"
    templates = sorted(p.name for p in (ROOT / "generator" / "templates").glob("*.j2"))
    assert templates and all(f"tusgen/templates/{t}" in names for t in templates)
    assert {"tuskit/py.typed", "tusgen/py.typed", "tuskit/persist/py.typed"} <= names
    (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
    with zipfile.ZipFile(wheel) as z:
        assert z.read(license_file).startswith(b"MIT License")
        meta = email.parser.Parser().parsestr(z.read(meta_name).decode())
    assert meta["License-Expression"] == "MIT"
    assert meta["Author"] and meta.get_all("Project-URL")
    assert "Typing :: Typed" in meta.get_all("Classifier")
    assert meta["Description-Content-Type"] == "text/markdown"
    assert "resumable uploads" in (meta.get_payload() or "")  # the README is the long text


def test_upload_help_runs_from_the_wheel(venv: Path) -> None:
    done = run(venv / "bin" / "upload", "--help", cwd=venv)
    assert "usage: upload" in done.stdout and "--data-dir" in done.stdout
    where = run(venv / "bin" / "python", "-c",
                "import tuskit.upload, tusgen; print(tuskit.upload.__file__, tusgen.__file__)",
                cwd=venv).stdout  # fmt: skip
    assert str(ROOT) not in where and where.count(str(venv)) == 2, where


def test_upload_cli_help_runs_from_the_wheel(venv: Path) -> None:
    """cmd/upload-cli is in the wheel as tuskit.uploadcli, with its console script."""
    done = run(venv / "bin" / "upload-cli", "send", "--help", cwd=venv)
    assert "usage: upload-cli send" in done.stdout and "--parallel" in done.stdout
    raw = run(venv / "bin" / "upload-cli", "tus", "head", "--help", cwd=venv)
    assert "Tus-Resumable header" in raw.stdout  # the generated layer, help from the design


def test_tusgen_generates_the_repo_design_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    """Into a temp dir; run from the repo so the generated code is formatted by its ruff
    config, like `tusgen generate --check` (the design is the wheel's `tuskit.design`)."""
    out = tmp_path / "gen"
    run(venv / "bin" / "tusgen", "generate", "tuskit.design:api", "--out", out, cwd=ROOT)
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    expected = sorted(
        str(p.relative_to(ROOT / "gen"))
        for p in (ROOT / "gen").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert made == expected
    for name in made:
        assert (out / name).read_bytes() == (ROOT / "gen" / name).read_bytes(), name


def test_the_wheel_holds_the_upload_page(wheel: Path, venv: Path) -> None:
    """The page's files are package data (docs/ui.md): the installed wheel builds it."""
    static = ROOT / "cmd" / "upload" / "ui" / "static"
    expected = {f"tuskit/upload/ui/static/{p.relative_to(static)}" for p in static.rglob("*")
                if p.is_file()}  # fmt: skip
    assert "tuskit/upload/ui/static/vendor/uppy/uppy.min.js" in expected
    assert expected <= set(zipfile.ZipFile(wheel).namelist())
    code = (
        "from tuskit.upload.ui.mount import site; from tuskit.upload.ui.page import PageConfig; "
        "print(sorted(site(PageConfig('/', '/files/', None, None))))"
    )
    done = run(venv / "bin" / "python", "-c", code, cwd=venv)
    assert "_ui/upload.js" in done.stdout and "uppy.min.js" in done.stdout, done.stdout
