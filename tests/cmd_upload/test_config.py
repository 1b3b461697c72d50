from __future__ import annotations

from pathlib import Path

import pytest

from tuskit.upload.config import Settings, parse_duration, parse_size
from tuskit.upload.main import settings_from_args


def test_sizes_and_durations() -> None:
    assert parse_size("512MiB") == 512 * 1024**2
    assert parse_size("10g") == 10 * 1024**3
    assert parse_size("123") == 123
    assert parse_duration("15m") == 900
    assert parse_duration("250ms") == 0.25
    with pytest.raises(ValueError):
        parse_size("ten")
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_settings_round_trip_through_the_environment(tmp_path: Path) -> None:
    s = settings_from_args(
        [
            "--data-dir",
            str(tmp_path),
            "--max-size",
            "1GiB",
            "--cors-origins",
            "https://a,https://b",
            "--behind-proxy",
            "--base-path",
            "uploads",
        ]
    )
    assert s.base_path == "/uploads/"
    assert s.router_base == "/uploads"
    again = Settings.from_env(s.to_env())
    assert again == s
