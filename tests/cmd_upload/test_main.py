"""The `upload` command's start-up (issue 15, item 4): `--version`, and one clear line with
a non-zero exit for every bad flag, environment value, unreachable store or missing extra;
never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT, free_port
from tuskit.upload import preflight
from tuskit.upload.app import mounts
from tuskit.upload.main import settings_from_args

SCRIPT = Path(sys.executable).parent / "upload"


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("UPLOAD_")} | env
    return subprocess.run(
        [str(SCRIPT), *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip


def test_version() -> None:
    done = run("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("upload ") and done.stdout.split()[1][0].isdigit()


@pytest.mark.parametrize(
    ("args", "env", "code", "says"),
    [
        (["--max-size", "ten"], {}, 2, "--max-size: not a size"),
        (["--bogus"], {}, 2, "unrecognized arguments: --bogus"),
        ([], {"UPLOAD_WORKERS": "0"}, 2, "UPLOAD_WORKERS"),
        (["--fsync", "sometimes"], {}, 2, "--fsync"),
        (["--state", "mysql://x"], {}, 2, "unknown state store"),
        (["--store", "s3"], {}, 1, "--store s3 needs --s3-bucket"),
        (["--state", "redis://127.0.0.1:1/0"], {}, 1, "does not answer"),
        (["--state", "postgresql://postgres@127.0.0.1:1/x"], {}, 1, "cannot open the stores"),
    ],
)
def test_bad_settings_and_unreachable_stores_are_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], code: int, says: str
) -> None:
    done = run("--data-dir", str(tmp_path), "--port", str(free_port()), *args, **env)
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("upload: error: ") and says in lines[0], lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.anyio
async def test_a_missing_extra_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the `scale` extra, `--state redis://` says which extra to install."""
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis -> ModuleNotFoundError
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    monkeypatch.delitem(sys.modules, "tuskit.persist.redis_store", raising=False)
    settings = settings_from_args(["--data-dir", str(tmp_path), "--state", "redis://h/0"])
    with pytest.raises(preflight.StartupError) as refused:
        await preflight.check(settings, mounts(settings))
    assert "'scale' extra" in str(refused.value) and "pip install" in str(refused.value)
