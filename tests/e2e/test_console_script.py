"""The installed `upload` console script starts, and importing the server from the repository
root does not shadow the standard library (cmd/ is installed as tuskit.upload, never on
sys.path as `cmd`, so `import pdb` -> `import cmd` still finds the stdlib module)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT

SCRIPT = Path(sys.executable).parent / "upload"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


@pytest.mark.timeout(60)
def test_upload_console_script_help() -> None:
    assert SCRIPT.exists(), f"{SCRIPT} is missing: is the project installed (pip install -e .)?"
    done = subprocess.run(
        [str(SCRIPT), "--help"],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "usage: upload" in done.stdout
    assert "--data-dir" in done.stdout


@pytest.mark.timeout(60)
def test_stdlib_cmd_not_shadowed_after_importing_the_server() -> None:
    code = (
        "import tuskit.upload, tuskit.upload.main, pdb, cmd; "
        "assert hasattr(cmd, 'Cmd'), cmd.__file__; "
        "assert 'site-packages' not in cmd.__file__ and '/cmd/' not in cmd.__file__, "
        "cmd.__file__; print(cmd.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
