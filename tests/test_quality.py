"""Quality gate: the pinned ruff (lint + format) and strict mypy over the whole namespace.

`mypy -p tusgen -p tuskit` covers the generator, gen/ (tuskit.gen), the design, persist/
and cmd/upload (tuskit.upload).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    "args",
    [
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("mypy", "-p", "tusgen", "-p", "tuskit"),
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_tool_passes(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.returncode == 0, result.stdout + result.stderr
