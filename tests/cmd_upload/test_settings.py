from __future__ import annotations

from pathlib import Path

import pytest

from tuskit.upload.main import settings_from_args
from tuskit.upload.settings import Settings, parse_duration, parse_size


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


@pytest.mark.anyio
async def test_no_group_sync_gives_per_file_syncs(tmp_path: Path) -> None:
    from tuskit.persist.filestore import FileByteStore
    from tuskit.upload.stores import open_stores

    for argv, grouped in (([], True), (["--no-group-sync"], False)):
        settings = settings_from_args([*argv, "--data-dir", str(tmp_path / str(grouped))])
        assert settings.group_sync is grouped
        assert Settings.from_env(settings.to_env()).group_sync is grouped
        stores = await open_stores(settings)
        try:
            assert isinstance(stores.byte_store, FileByteStore)
            assert (stores.byte_store.group_syncer is not None) is grouped
        finally:
            await stores.close()
