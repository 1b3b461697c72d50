"""Parsing `--fsync` values, and when each policy fsyncs."""

from __future__ import annotations

import pytest

from tuskit.persist.fsync import FsyncMode, FsyncPolicy


@pytest.mark.parametrize(
    ("text", "mode", "interval"),
    [
        ("patch", FsyncMode.PATCH, 0.0),
        (" PATCH ", FsyncMode.PATCH, 0.0),
        ("never", FsyncMode.NEVER, 0.0),
        ("interval:5s", FsyncMode.INTERVAL, 5.0),
        ("interval:5", FsyncMode.INTERVAL, 5.0),
        ("interval:250ms", FsyncMode.INTERVAL, 0.25),
        ("interval:1.5m", FsyncMode.INTERVAL, 90.0),
    ],
)
def test_parse(text: str, mode: FsyncMode, interval: float) -> None:
    policy = FsyncPolicy.parse(text)
    assert (policy.mode, policy.interval) == (mode, interval)
    assert FsyncPolicy.parse(str(policy)) == policy


@pytest.mark.parametrize(
    "text", ["", "always", "interval", "interval:", "interval:0s", "interval:-1s", "interval:5h"]
)
def test_parse_errors_name_the_choices(text: str) -> None:
    with pytest.raises(ValueError, match="fsync policy"):
        FsyncPolicy.parse(text)


def test_due() -> None:
    assert FsyncPolicy.parse("patch").due(None, 0.0)
    assert FsyncPolicy.parse("patch").due(9.0, 9.0)
    assert not FsyncPolicy.parse("never").due(None, 100.0)
    every5 = FsyncPolicy.parse("interval:5s")
    assert every5.due(None, 1.0)
    assert not every5.due(10.0, 14.9)
    assert every5.due(10.0, 15.0)


def test_invalid_construction() -> None:
    with pytest.raises(ValueError):
        FsyncPolicy(FsyncMode.INTERVAL, 0)
    with pytest.raises(ValueError):
        FsyncPolicy(FsyncMode.PATCH, 3)
