"""The benchmark runs end to end in smoke mode and writes its report (no timing assertions).

The sink needs nothing but the venv. @tus/server needs node + npm (its packages are
installed into bench/.cache/node on first use); the s3 scenario (our server with
--store s3 vs boto3 multipart) needs SeaweedFS's `weed`. Without them those tests skip,
unless REQUIRE_SERVICES=1 (CI), where they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.seaweed import weed_binary

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = ("big", "big-sha256", "small", "head", "memory")
# the IETF draft's scenarios run on ours and the sink only (@tus/server does not speak it)
SINK_SCENARIOS = ("big", "big-sha256", "small", "ietf-big", "ietf-small", "head", "memory")
STREAM_SCENARIOS = ("stream-post", "stream-get")  # the stream store: ours and the sink only


def _smoke(out: Path, targets: str, *extra: str) -> tuple[str, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--targets", targets, "--out", str(out),
         *extra],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = (out / "report.md").read_text()
    assert (out / "chart.png").read_bytes().startswith(b"\x89PNG")
    return report, json.loads((out / "results.json").read_text())


def _scenarios_with_row(report: str, target: str) -> list[str]:
    """Scenario sections (``### name: ...``) whose table has a row for target."""
    found = []
    for section in report.split("\n### ")[1:]:
        name = section.split(":", 1)[0]
        body = section.split("\n## ", 1)[0]
        if any(line.startswith(f"| {target} |") for line in body.splitlines()):
            found.append(name)
    return found


@pytest.mark.timeout(120)
def test_smoke_sink(tmp_path: Path) -> None:
    report, results = _smoke(tmp_path, "sink")
    for name in SINK_SCENARIOS:
        assert f"### {name}:" in report
        assert results["rounds"][name]["sink"], name
    assert _scenarios_with_row(report, "sink") == [*SINK_SCENARIOS, *STREAM_SCENARIOS]
    assert "## Client headroom" in report
    assert "| goal (ours) | result |" in report
    # the s3 scenario is in the smoke set, but needs target ours: skipped, with the reason
    assert "### s3:" in report
    assert "target ours, not selected" in results["skipped"]["ours-s3"]


@pytest.mark.timeout(120)
def test_smoke_ours_streams(tmp_path: Path) -> None:
    """Our stream store next to the sink, with tus's big upload for the CPU goal."""
    report, results = _smoke(
        tmp_path, "ours,sink", "--scenarios", ",".join(["big", *STREAM_SCENARIOS])
    )
    assert "ours" not in results["skipped"], results["skipped"]
    for name in STREAM_SCENARIOS:
        assert _scenarios_with_row(report, "ours").count(name) == 1
        assert results["rounds"][name]["ours"][0]["throughput_mib_s"] > 0
    assert "| stream-post: CPU per GiB <= 1.15x tus big | " in report
    assert "| stream-get: CPU per GiB <= 1.15x tus big | " in report


@pytest.mark.services
@pytest.mark.timeout(180)
def test_smoke_tus_node(tmp_path: Path) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("REQUIRE_SERVICES=1 but node/npm is not installed")
        pytest.skip("node/npm not installed: @tus/server cannot run")
    report, results = _smoke(tmp_path, "tus-node")
    assert "tus-node" not in results["skipped"], results["skipped"]
    assert _scenarios_with_row(report, "tus-node") == list(SCENARIOS)


@pytest.mark.services
@pytest.mark.timeout(180)
def test_smoke_s3(tmp_path: Path) -> None:
    if weed_binary() is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("REQUIRE_SERVICES=1 but SeaweedFS (weed) is not installed")
        pytest.skip("weed not installed: the s3 scenario cannot run")
    report, results = _smoke(tmp_path, "ours", "--scenarios", "s3")
    assert "ours-s3" not in results["skipped"], results["skipped"]
    assert not results["failures"], results["failures"]
    assert _scenarios_with_row(report, "ours-s3") == ["s3"]
    assert _scenarios_with_row(report, "boto3") == ["s3"]
    (ours,) = results["rounds"]["s3"]["ours-s3"]
    (boto3,) = results["rounds"]["s3"]["boto3"]
    assert ours["throughput_mib_s"] > 0 and boto3["throughput_mib_s"] > 0
    assert ours["ratio_vs_boto3"] > 0
    assert "| s3: throughput >= 0.8x boto3 multipart (same SeaweedFS) | " in report


@pytest.mark.timeout(180)
def test_smoke_preload(tmp_path: Path) -> None:
    """--preload N: our server with N records written straight into SQLite against an
    empty one; start-up, head, small and one sweep, with the goals of issue 15."""
    report, results = _smoke(tmp_path, "ours", "--preload", "300")
    assert not results["failures"], results["failures"]
    for name in ("startup", "head", "small", "sweep"):
        assert _scenarios_with_row(report, "ours-300").count(name) == 1, name
        assert results["rounds"][name]["ours"], name
    (startup,) = results["rounds"]["startup"]["ours-300"]
    assert startup["startup_s"] > 0 and startup["first_head_s"] >= startup["startup_s"]
    assert startup["recovery_s"] >= startup["first_head_s"]  # it logged "recovery: done"
    assert "| start-up: first answer with ours-300 < 5 s | " in report
    assert "300 records in SQLite" in results["info"]["preload"]
    assert not (tmp_path / "tmp").exists()  # the preloaded data dir went with the run
