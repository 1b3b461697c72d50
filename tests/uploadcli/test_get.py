"""`upload-cli get`: a whole download, a partial file continued with Range + If-Range,
and a changed file (ETag mismatch) fetched again from the start."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.servers import UploadServer

from .conftest import random_file, run_cli, sha256


def upload(server: UploadServer, state: Path, src: Path) -> str:
    done = run_cli(state, "send", str(src), "--url", server.url, "-q")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_get_downloads_whole(server: UploadServer, state: Path, tmp_path: Path) -> None:
    src = random_file(tmp_path / "src.bin", 3 << 20)
    url = upload(server, state, src)
    out = tmp_path / "out.bin"
    done = run_cli(state, "get", url, "-o", str(out), "-q")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out) and sha256(out) == sha256(src)
    assert not (tmp_path / "out.bin.etag").exists()


def test_get_resumes_a_partial_file_with_range(
    server: UploadServer, state: Path, tmp_path: Path
) -> None:
    src = random_file(tmp_path / "src.bin", 3 << 20)
    url = upload(server, state, src)
    etag = httpx.get(url, headers={"Range": "bytes=0-0"}).headers["etag"]
    out = tmp_path / "out.bin"
    out.write_bytes(src.read_bytes()[:1_000_000])
    (tmp_path / "out.bin.etag").write_text(etag + "\n")
    done = run_cli(state, "get", url, "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "resuming out.bin at offset 1000000" in done.stderr
    assert sha256(out) == sha256(src)


def test_get_starts_over_when_the_etag_changed(
    server: UploadServer, state: Path, tmp_path: Path
) -> None:
    src = random_file(tmp_path / "src.bin", 1 << 20)
    url = upload(server, state, src)
    out = tmp_path / "out.bin"
    out.write_bytes(b"x" * 1000)  # not a prefix of src
    (tmp_path / "out.bin.etag").write_text('"some-other-version"\n')
    done = run_cli(state, "get", url, "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "resuming" not in done.stderr and sha256(out) == sha256(src)


def test_get_refuses_to_overwrite_a_foreign_file(state: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine.txt"
    out.write_text("keep me")
    done = run_cli(state, "get", "http://127.0.0.1:1/files/x", "-o", str(out))
    assert done.returncode == 2 and "--force" in done.stderr
    assert out.read_text() == "keep me"


def test_get_of_an_unknown_upload_is_one_line(server: UploadServer, state: Path) -> None:
    done = run_cli(state, "get", server.url + "0" * 32, "-o", "/dev/null", "--force")
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1
    assert "HTTP 404" in done.stderr
