"""The pytest side of the SeaweedFS launcher (bench/seaweed.py): one throwaway SeaweedFS per
test session, with the tests' own credentials and bucket, skipped (or failed under
REQUIRE_SERVICES=1) when `weed` is missing or does not start.

64 MB volumes keep each volume file small; capacity comes from ``-volume.max=0`` (free disk
/ volume size) instead of weed's default 8 volumes, which two 200 MiB uploads filled.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.seaweed import REGION, Seaweed
from bench.seaweed import start_seaweed as _start_seaweed
from tests.servers import skip_or_fail

__all__ = ["ACCESS_KEY", "BUCKET", "REGION", "SECRET_KEY", "Seaweed", "seaweed", "start_seaweed"]

ACCESS_KEY = "tuskit-test-access"
SECRET_KEY = "tuskit-test-secret-key-0123456789"
BUCKET = "tuskit-test"


def start_seaweed(workdir: Path, timeout: float = 30.0) -> Seaweed:
    """SeaweedFS with the tests' credentials and BUCKET created."""
    return _start_seaweed(
        workdir, BUCKET, timeout,
        access_key=ACCESS_KEY, secret_key=SECRET_KEY, identity="tuskit-test",
        volume_size_limit_mb=64, volume_max=0, stop_timeout=3.0,
    )  # fmt: skip


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    try:
        weed = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    except (FileNotFoundError, TimeoutError, RuntimeError) as exc:
        skip_or_fail(f"SeaweedFS unavailable: {exc}")
    try:
        yield weed
    finally:
        weed.stop()
