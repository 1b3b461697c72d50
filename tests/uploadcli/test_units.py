"""Pieces of upload-cli without a server: sizes, metadata, fingerprints, the store."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuskit.uploadcli import units
from tuskit.uploadcli.main import build_parser
from tuskit.uploadcli.state import Store, fingerprint, state_dir
from tuskit.uploadcli.tusflow import encode_metadata, range_checksum


def test_sizes() -> None:
    assert units.size("8MiB") == 8 << 20 and units.size("5MB") == 5_000_000
    assert units.size("1048576") == 1 << 20
    for bad in ("0", "8XB", "-1", "1.5MiB"):
        with pytest.raises(argparse.ArgumentTypeError):
            units.size(bad)


def test_metadata_is_base64_pairs() -> None:
    assert encode_metadata({"filename": "a b.txt", "k": ""}) == "filename YSBiLnR4dA==,k "


def test_fingerprint_changes_with_the_file(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"one")
    first = fingerprint(f, "http://h/files/")
    assert first == fingerprint(f, "http://h/files/")
    assert first != fingerprint(f, "http://other/files/")
    os.utime(f, ns=(1, 1))
    assert first != fingerprint(f, "http://h/files/")


def test_store_survives_a_corrupt_file_and_forgets(tmp_path: Path) -> None:
    store = Store(tmp_path / "s", "tus")
    assert store.get("k") is None
    store.put("k", {"urls": ["u"]})
    assert store.get("k") == {"urls": ["u"]}
    store.forget("k")
    assert store.all() == {}
    store.path.write_text("{not json")
    assert store.get("k") is None


def test_state_dir_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("UPLOAD_CLI_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_dir() == tmp_path / "xdg" / "upload-cli"
    monkeypatch.setenv("UPLOAD_CLI_STATE_DIR", str(tmp_path / "env"))
    assert state_dir() == tmp_path / "env"
    assert state_dir(str(tmp_path / "flag")) == tmp_path / "flag"


def test_checksum_of_a_range(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"xxhello worldyy")
    fd = os.open(f, os.O_RDONLY)
    try:
        assert range_checksum("sha1", fd, 2, 11) == "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0="
        assert range_checksum("crc32c", fd, 2, 11) == "crc32c yZRlqg=="
    finally:
        os.close(fd)


def test_parser_knows_every_command() -> None:
    parser = build_parser()
    args = parser.parse_args(["send", "a", "--parallel", "4", "--chunk-size", "1MiB"])
    assert (args.command, args.parallel, args.chunk_size) == ("send", 4, 1 << 20)
    for name in ("get", "ls", "rm", "session-send", "tus", "ietf", "streams", "sessions"):
        assert name in parser.format_help()
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["send", "a", "--parallel", "0"])
    assert exc.value.code == 2


def test_two_processes_changing_the_state_never_drop_each_others_records(
    tmp_path: Path,
) -> None:
    """Each change holds a lock: 2 x 150 puts from two processes leave 300 records."""
    script = (
        "import sys; from pathlib import Path; from tuskit.uploadcli.state import Store\n"
        "s = Store(Path(sys.argv[1]), 'uploads')\n"
        "for i in range(150): s.put(f'{sys.argv[2]}-{i}', {'urls': [str(i)]})\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), tag]) for tag in "ab"]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert len(Store(tmp_path, "uploads").all()) == 300
