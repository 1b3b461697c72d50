"""The fixed folders must not shadow the standard library (cmd/ vs `cmd`, pdb)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_in_root(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_pdb_imports_from_repo_root() -> None:
    stdlib = sysconfig.get_paths()["stdlib"]
    result = run_in_root("import pdb, cmd; print(cmd.__file__)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(stdlib)


def test_cmd_folder_is_not_a_package() -> None:
    assert (ROOT / "cmd").is_dir()
    assert not (ROOT / "cmd" / "__init__.py").exists()


def test_pytest_runs_as_module_from_repo_root() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--version"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_folders_import_under_distinct_names() -> None:
    result = run_in_root(
        "import tusgen, tuskit.design, tuskit.gen, tuskit.persist, tuskit.upload;"
        "print(tuskit.upload.__name__)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tuskit.upload"
