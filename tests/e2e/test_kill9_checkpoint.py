"""kill -9 in the middle of one long PATCH keeps all but its last window (issue 15,
item 3): the durable prefix is recorded every 64 MiB while the body streams, so a crash no
longer loses everything since the request began."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

from tests.e2e.conftest import MakeServer
from tests.e2e.helpers import MiB, create_upload, download, head_offset, random_file

WINDOW = 64 * MiB


def test_kill9_mid_long_patch_keeps_the_checkpointed_windows(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server()
    size = 200 * MiB
    source = random_file(tmp_path / "src.bin", size, seed=15).read_bytes()
    url = create_upload(server.url, size)
    sent = 150 * MiB
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            (
                f"PATCH {urlsplit(url).path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                "Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
                "Content-Type: application/offset+octet-stream\r\n"
                f"Content-Length: {size}\r\n\r\n"
            ).encode()
        )
        view = memoryview(source)
        for start in range(0, sent, MiB):
            sock.sendall(view[start : start + MiB])
        time.sleep(1.0)  # the server reads and writes what was sent
        server.kill9()
    server.start()
    offset = head_offset(url)
    assert 2 * WINDOW <= offset <= sent, offset  # two windows recorded before the kill
    assert download(url, (0, offset)) == source[:offset]
