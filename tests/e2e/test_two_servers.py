"""Two `upload` processes on one data directory (same --data-dir, two ports).

1. PATCHes alternate between the two processes: the offset each one reports, what HEAD
   says on the other, and the final download from both equal the source.
2. Two clients, each talking to its own process, PATCH the same upload at the same offset
   at the same moment, round after round. Each client sends its own byte pattern (the two
   differ at every position), bodies streamed slowly so the requests overlap. In every
   round at most one 204 is returned, the others get 409, 423 or 503 (or the connection
   is cut) and retry from HEAD next round; the bytes the round added are, entirely, the
   pattern of exactly one client at exactly that position: never a mix, never shifted.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
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

CHUNKS = 10
CHUNK = MiB
LOSING = (409, 423, 503)


def _id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


@pytest.fixture
def two(make_server: MakeServer, tmp_path: Path) -> tuple[UploadServer, UploadServer]:
    data = tmp_path / "shared-data"
    first = make_server(data)
    second = make_server(data)  # another port, the same directory
    assert first.port != second.port
    return first, second


@pytest.mark.timeout(60)
def test_patches_alternating_between_two_processes(
    two: tuple[UploadServer, UploadServer], tmp_path: Path
) -> None:
    size = CHUNKS * CHUNK - 777
    data = random_file(tmp_path / "source.bin", size, seed=2).read_bytes()
    upload_id = _id(create_upload(two[0].url, size))
    urls = [s.url + upload_id for s in two]
    offset = 0
    with httpx.Client(timeout=30.0) as client:
        for i in range(CHUNKS):
            here, there = i % 2, (i + 1) % 2
            end = min(offset + CHUNK, size)
            response = patch(client, urls[here], offset, data[offset:end], end - offset)
            assert response.status_code == 204, server_failure(
                two[here], f"chunk {i}: {response.status_code} {response.text}"
            )
            assert int(response.headers["Upload-Offset"]) == end
            assert head_offset(urls[there]) == end, server_failure(
                two[there], f"chunk {i}: the other process does not see offset {end}"
            )
            offset = end
    assert offset == size
    for url in urls:
        body = download(url)
        assert len(body) == size and sha256(body) == sha256(data), f"content differs via {url}"


def _slow(data: bytes, start: int, end: int, piece: int, pause: float) -> Iterator[bytes]:
    for pos in range(start, end, piece):
        yield data[pos : min(pos + piece, end)]
        time.sleep(pause)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_concurrent_patches_never_interleave(two: tuple[UploadServer, UploadServer]) -> None:
    size = 12 * MiB
    chunk = MiB
    pattern_a = random_file(two[0].data_dir.parent / "a.bin", size, seed=3).read_bytes()
    pattern_b = pattern_a.translate(bytes(b ^ 0xA5 for b in range(256)))  # differs everywhere
    patterns = (pattern_a, pattern_b)
    upload_id = _id(create_upload(two[0].url, size))
    urls = [s.url + upload_id for s in two]
    expected = bytearray()
    statuses: Counter[str] = Counter()
    rounds: list[str] = []
    barrier = threading.Barrier(2, timeout=30)
    clients = [httpx.Client(timeout=30.0) for _ in two]
    deadline = time.monotonic() + 90
    try:
        offset = 0
        while offset < size:
            assert time.monotonic() < deadline, f"no end after {len(rounds)} rounds: {rounds}"
            end = min(offset + chunk, size)
            results: list[object] = [None, None]

            def send(
                who: int, results: list[object] = results, offset: int = offset, end: int = end
            ) -> None:
                barrier.wait()
                body = _slow(patterns[who], offset, end, 64 * 1024, 0.003)
                try:
                    results[who] = patch(clients[who], urls[who], offset, body, end - offset)
                except httpx.TransportError as exc:
                    results[who] = exc

            threads = [threading.Thread(target=send, args=(w,), daemon=True) for w in (0, 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(40)
                assert not t.is_alive(), "a PATCH never finished"

            codes = [
                r.status_code if isinstance(r, httpx.Response) else type(r).__name__
                for r in results
            ]
            statuses.update(str(c) for c in codes)
            for who, code in enumerate(codes):
                assert code == 204 or code in LOSING or isinstance(code, str), server_failure(
                    two[who], f"round at {offset}: unexpected answer {code}"
                )
            winners = [who for who, code in enumerate(codes) if code == 204]
            assert len(winners) <= 1, f"round at {offset}: both PATCHes succeeded: {codes}"

            new = head_offset(urls[0])
            assert head_offset(urls[1]) == new, "the two processes disagree on the offset"
            assert offset <= new <= end, f"round at {offset}: offset moved to {new} ({codes})"
            if new > offset:
                added = download(urls[len(rounds) % 2], (offset, new - 1))
                owners = [w for w in (0, 1) if added == patterns[w][offset:new]]
                assert len(owners) == 1, (
                    f"round at {offset}: bytes {offset}-{new - 1} are not one client's "
                    f"pattern (codes {codes}); interleaved or shifted"
                )
                if winners:
                    assert owners == winners, f"round at {offset}: 204 went to {winners}"
                    answer = results[winners[0]]
                    assert isinstance(answer, httpx.Response)
                    assert int(answer.headers["Upload-Offset"]) == new
                expected += patterns[owners[0]][offset:new]
                rounds.append(f"{offset}-{new}:{'AB'[owners[0]]} {codes}")
            else:
                assert not winners, f"round at {offset}: 204 without progress ({codes})"
                rounds.append(f"{offset}: none {codes}")
            offset = new
    finally:
        for c in clients:
            c.close()

    body = download(urls[1])
    assert len(body) == size and sha256(body) == sha256(bytes(expected))
    assert sha256(download(urls[0])) == sha256(bytes(expected))
    lost = sum(statuses[str(c)] for c in LOSING)
    assert lost > 0, f"the PATCHes never overlapped: {statuses}"
    print(f"{len(rounds)} rounds, answers {dict(statuses)}: " + "; ".join(rounds))
