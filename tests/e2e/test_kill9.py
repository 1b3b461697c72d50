"""kill -9 of the server mid-upload at 20 random moments; after each: restart on the same
data dir and port, HEAD, check what survived, resume. The final sha256 equals the source.

A client thread uploads a 64 MiB random file in 4 MiB PATCHes (each body streamed in
256 KiB pieces). A kill point is a random byte position: some whole PATCHes may finish
first, then the kill lands inside the next body (at a random fraction, or just after its
last byte, while the server writes, fsyncs or records the offset). Half of the kills
happen while the body is flowing (plus a random 0-20 ms), half while it is stalled at
the kill point. After every restart:

- HEAD's offset is at least the last offset a 204 acknowledged (acknowledged bytes are
  never lost) and at most the bytes the client had sent (nothing invented);
- the first `offset` bytes (GET Range) equal the source's prefix.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import MakeServer
from tests.e2e.helpers import (
    MiB,
    create_upload,
    download,
    head_offset,
    patch,
    random_file,
    server_failure,
    sha256,
)
from tests.servers import UploadServer

SIZE = 64 * MiB
PATCH = 4 * MiB
PIECE = 256 * 1024
KILLS = 20
SEED = int(os.environ.get("E2E_KILL9_SEED", "9"))  # replay or explore other kill points


@dataclass
class Progress:
    """What the client thread knows; read by the test thread."""

    acked: int  # last Upload-Offset a 204 returned
    sent: int  # highest byte position handed to the socket
    crossed: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    error: str = ""
    done: bool = False


class Sender(threading.Thread):
    """PATCHes from `offset` to the end until the server goes away."""

    def __init__(
        self, url: str, data: bytes, offset: int, threshold: int, stall: bool, p: Progress
    ) -> None:
        super().__init__(daemon=True)
        self.url, self.data, self.offset = url, data, offset
        self.threshold, self.stall, self.p = threshold, stall, p

    def body(self, start: int, end: int) -> Iterator[bytes]:
        pos = start
        while pos < end:
            if self.stall and pos >= self.threshold:
                self.p.crossed.set()
                self.p.release.wait(15)
                raise ConnectionAbortedError("stalled body released after the kill")
            n = min(PIECE, end - pos)
            if self.stall:
                n = min(n, self.threshold - pos)
            self.p.sent = max(self.p.sent, pos + n)
            if self.p.sent >= self.threshold:
                self.p.crossed.set()
            yield self.data[pos : pos + n]
            pos += n
        if self.stall and pos >= self.threshold:  # stalled right after the last byte
            self.p.crossed.set()
            self.p.release.wait(15)

    def run(self) -> None:
        offset = self.offset
        try:
            with httpx.Client(timeout=20.0) as client:
                while offset < SIZE:
                    end = min(offset + PATCH, SIZE)
                    response = patch(client, self.url, offset, self.body(offset, end), end - offset)
                    if response.status_code != 204:
                        self.p.error = f"PATCH at {offset}: {response.status_code} {response.text}"
                        return
                    offset = int(response.headers["Upload-Offset"])
                    self.p.acked = max(self.p.acked, offset)
                self.p.done = True
        except (httpx.TransportError, OSError):
            pass  # the server was killed under us: expected
        finally:
            self.p.crossed.set()


def _check_survivors(
    server: UploadServer, url: str, data: bytes, acked: int, sent: int, log: list[str]
) -> int:
    offset = head_offset(url)
    where = f"seed {SEED}\n" + "\n".join(log[-6:])
    assert acked <= offset <= sent, server_failure(
        server, f"after restart HEAD says {offset}; acknowledged {acked}, sent {sent}\n{where}"
    )
    if offset:
        prefix = download(url, (0, offset - 1))
        assert len(prefix) == offset and sha256(prefix) == sha256(data[:offset]), server_failure(
            server, f"the first {offset} bytes differ from the source after a restart\n{where}"
        )
    return offset


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_kill9_mid_upload_then_resume(make_server: MakeServer, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    data = random_file(tmp_path / "source.bin", SIZE, seed=SEED).read_bytes()
    server = make_server(tmp_path / "data")
    url = create_upload(server.url, SIZE, **{"Upload-Metadata": "filename c291cmNlLmJpbg=="})
    acked = sent = 0
    log: list[str] = []
    started = time.monotonic()
    for kill in range(1, KILLS + 1):
        offset = _check_survivors(server, url, data, acked, sent, log) if kill > 1 else 0
        left = SIZE - offset
        full = rng.choice((0, 0, 1)) if left > 3 * PATCH else 0
        fraction = 1.0 if rng.random() < 0.25 else rng.uniform(0.02, 0.98)
        threshold = offset + full * PATCH + max(1, int(fraction * min(PATCH, left)))
        threshold = min(threshold, SIZE - 1)
        stall = rng.random() < 0.5 or left <= 2 * PATCH  # near the end: never finish early
        progress = Progress(acked=acked, sent=offset)  # sent: in this phase, from HEAD
        sender = Sender(url, data, offset, threshold, stall, progress)
        sender.start()
        assert progress.crossed.wait(30), server_failure(server, f"kill {kill}: no progress")
        if not stall:
            time.sleep(rng.uniform(0.0, 0.02))
        server.kill9()
        progress.release.set()
        sender.join(20)
        assert not sender.is_alive(), f"kill {kill}: the client thread hangs"
        assert not progress.error, server_failure(server, f"kill {kill}: {progress.error}")
        assert not progress.done, f"kill {kill}: the upload finished before the kill"
        acked, sent = progress.acked, progress.sent
        log.append(
            f"kill {kill}: from {offset} threshold {threshold} stall={stall} "
            f"acked {acked} sent {sent}"
        )
        server.start()

    offset = _check_survivors(server, url, data, acked, sent, log)
    final = Progress(acked=acked, sent=sent)
    finisher = Sender(url, data, offset, SIZE + 1, False, final)
    finisher.start()
    finisher.join(60)
    assert final.done and not final.error, server_failure(server, final.error or "not done")
    assert head_offset(url) == SIZE
    body = download(url)
    assert len(body) == SIZE
    assert sha256(body) == sha256(data), "the final content differs from the source"
    elapsed = time.monotonic() - started
    print(f"{KILLS} kills, {elapsed:.1f}s; " + "; ".join(log))
