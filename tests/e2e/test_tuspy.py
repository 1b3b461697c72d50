"""tuspy (`tusclient`): a 20 MiB file in 1 MiB chunks, stopped after a few chunks, resumed
by a new uploader from the stored URL, verified byte for byte by a GET download."""

from __future__ import annotations

from pathlib import Path

import pytest
from tusclient import client

from tests.e2e.conftest import MakeServer
from tests.e2e.helpers import MiB, download, file_sha256, head_offset, random_file, sha256

SIZE = 20 * MiB + 12345  # not a multiple of the chunk size: the last chunk is short
CHUNK = MiB


@pytest.mark.timeout(90)
def test_tuspy_stop_and_resume(make_server: MakeServer, tmp_path: Path) -> None:
    server = make_server()
    source = random_file(tmp_path / "source.bin", SIZE, seed=20)
    tus = client.TusClient(server.url)

    stop_at = 7 * CHUNK
    # file_stream, not file_path: tuspy 1.1 leaves the files it opens by path unclosed
    with source.open("rb") as stream:
        first = tus.uploader(
            file_stream=stream, chunk_size=CHUNK, metadata={"filename": "source.bin"}
        )
        first.upload(stop_at=stop_at)
    url = first.url
    assert url and url.startswith(server.url), url
    assert first.offset == stop_at
    assert head_offset(url) == stop_at

    # a new uploader knows only the URL: it asks the server for the offset and goes on
    with source.open("rb") as stream:
        second = tus.uploader(file_stream=stream, chunk_size=CHUNK, url=url)
        assert second.offset == stop_at
        second.upload()
    assert second.url == url
    assert second.offset == SIZE
    assert head_offset(url) == SIZE

    body = download(url)
    assert len(body) == SIZE
    assert sha256(body) == file_sha256(source)
