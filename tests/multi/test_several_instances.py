"""Three `upload` processes on three ports share one S3 bucket (SeaweedFS) and one state
backend (Redis, then PostgreSQL); any instance serves any request (issue #5).

1. A 200 MiB upload in 16 MiB PATCHes, each to the next instance in turn. On the way:
   - kill -9 of an instance while it receives a PATCH body (sent by hand on a socket),
     restart on the same port; HEAD on another instance reports an offset between the
     last acknowledged one and the bytes sent; the upload resumes from it;
   - a PATCH to instance A stalls mid-body on an open connection; an empty PATCH to B
     makes A let go across instances (Redis pub/sub / PostgreSQL NOTIFY) well within the
     lock timeout: B answers at once, A answers 503 (or closes), A's received bytes are
     committed;
   - the same with a HEAD to C as the request that makes A let go.
   The download through an instance has the source's sha256.
2. A second upload with real multipart parts is terminated through another instance.
   Afterwards the bucket prefix holds exactly the finished object: no multipart upload,
   no tail marker.
3. (own instances, `--expire-after 2s --sweep-interval 0.5s`) an unfinished upload with
   parts is swept: gone from HEAD and from the bucket; a finished one stays.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import (
    TUS,
    MiB,
    create_upload,
    file_sha256,
    head,
    head_offset,
    patch,
    random_file,
)
from tests.servers import UploadServer

from .cluster import RawPatch, leftovers, read_range, stream_sha256
from .conftest import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.services]

SIZE = 200 * MiB
CHUNK = 16 * MiB
KILL_STEP = 3  # before this step's PATCH: kill -9 mid-PATCH, restart
STALL_PATCH_STEP = 6  # before this step's PATCH: a stalled PATCH let go for a PATCH
STALL_HEAD_STEP = 9  # ... for a HEAD
KILL_SENT = 9 * MiB  # body bytes sent before the kill (more than one 5 MiB part)
STALL_SENT = 7 * MiB  # body bytes sent before the stall
LET_GO_WITHIN = 4.0  # seconds; the lock timeout is 5 s, so a missed release shows
STALL_QUIET = 2.5  # seconds without bytes: past the default --stall-timeout (2 s), so the
# PATCH counts as stalled; a healthy one is never interrupted (tests/tus/test_interrupt.py)


def _id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _fail(cluster: Cluster, what: str) -> str:
    return f"{what}\n{cluster.logs()}"


def _patch_ok(
    cluster: Cluster, client: httpx.Client, server: UploadServer, upload_id: str,
    src: Path, offset: int,
) -> int:  # fmt: skip
    """One PATCH of the next chunk; it must answer 204 with the new offset."""
    end = min(offset + CHUNK, SIZE)
    r = patch(client, server.url + upload_id, offset, read_range(src, offset, end), end - offset)
    assert r.status_code == 204, _fail(
        cluster, f"PATCH {offset}-{end} on :{server.port}: {r.status_code} {r.text}"
    )
    assert int(r.headers["Upload-Offset"]) == end
    return end


def _patch_retrying(
    cluster: Cluster, client: httpx.Client, server: UploadServer, upload_id: str,
    src: Path, offset: int, within: float,
) -> tuple[int, list[int]]:  # fmt: skip
    """PATCH the next chunk, retrying while the upload is locked (a dead holder's Redis
    lease runs out after at most 10 s). Returns (new offset, statuses seen)."""
    deadline = time.monotonic() + within
    seen: list[int] = []
    end = min(offset + CHUNK, SIZE)
    while True:
        body = read_range(src, offset, end)
        r = patch(client, server.url + upload_id, offset, body, end - offset)
        seen.append(r.status_code)
        if r.status_code == 204:
            assert int(r.headers["Upload-Offset"]) == end
            return end, seen
        assert r.status_code in (423, 503), _fail(cluster, f"resume PATCH: {seen} {r.text}")
        assert time.monotonic() < deadline, _fail(cluster, f"still locked after {within}s: {seen}")
        time.sleep(0.2)


def _kill_mid_patch(
    cluster: Cluster, victim: UploadServer, other: UploadServer, upload_id: str,
    src: Path, offset: int, notes: list[str],
) -> int:  # fmt: skip
    end = min(offset + CHUNK, SIZE)
    raw = RawPatch(victim, upload_id, offset, end - offset)
    raw.send(read_range(src, offset, offset + KILL_SENT))
    time.sleep(0.5)  # the victim reads the bytes and uploads a part
    victim.kill9()
    raw.close()
    t = time.monotonic()
    victim.start()  # same port
    restart_s = time.monotonic() - t
    t = time.monotonic()
    new = head_offset(other.url + upload_id)
    head_s = time.monotonic() - t
    assert offset <= new <= offset + KILL_SENT, _fail(
        cluster, f"after kill -9 at {offset}+{KILL_SENT}: HEAD says {new}"
    )
    notes.append(
        f"kill -9 :{victim.port} at {offset}+{KILL_SENT // MiB}MiB: restart {restart_s:.1f}s, "
        f"HEAD on :{other.port} {head_s:.1f}s -> {new}"
    )
    return new


def _stall(server: UploadServer, upload_id: str, src: Path, offset: int) -> RawPatch:
    end = min(offset + CHUNK, SIZE)
    raw = RawPatch(server, upload_id, offset, end - offset)
    raw.send(read_range(src, offset, offset + STALL_SENT))
    time.sleep(STALL_QUIET)  # the server has read what was sent; the body now stalls
    return raw


def _head_until_moved(url: str, offset: int, within: float) -> int:
    """HEAD asks a stalled PATCH on another instance to record what it received; the
    answer may come before that instance has finished recording (it waits briefly for a
    process it cannot see), so a client polls, as it polls progress anyway."""
    deadline = time.monotonic() + within
    new = head_offset(url)
    while new == offset and time.monotonic() < deadline:
        time.sleep(0.1)
        new = head_offset(url)
    return new


def _check_let_go(
    cluster: Cluster, raw: RawPatch, holder: UploadServer, offset: int, new: int, took: float,
    what: str, notes: list[str],
) -> None:  # fmt: skip
    try:
        answer = raw.answer(10.0)
    finally:
        raw.close()
    notes.append(
        f"stalled PATCH on :{holder.port} at {offset}+{STALL_SENT // MiB}MiB, {what}: "
        f"{took:.2f}s, offset -> {new} (+{new - offset}), stalled one got {answer!r}"
    )
    assert took < LET_GO_WITHIN, _fail(
        cluster, f"{what} waited {took:.1f}s: the stalled PATCH on :{holder.port} did not let go"
    )
    assert answer.startswith("HTTP/1.1 503") or answer in ("closed", "reset"), _fail(
        cluster, f"stalled PATCH on :{holder.port} answered {answer!r}, not 503"
    )
    assert offset < new <= offset + STALL_SENT, _fail(
        cluster, f"{what}: offset {new}; the let-go PATCH should commit what it received"
    )


def test_200mib_rotating_kill9_stale_patch_and_termination(
    cluster: Cluster, tmp_path: Path
) -> None:
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    servers = cluster.start(3)
    timings["start 3 instances"] = time.monotonic() - t0
    src = random_file(tmp_path / "source.bin", SIZE, seed=5)
    expected = file_sha256(src)
    upload_id = _id(create_upload(servers[0].url, SIZE))
    notes: list[str] = []
    t1 = time.monotonic()
    offset = 0
    with httpx.Client(timeout=60.0) as client:
        for step in range(40):
            if offset >= SIZE:
                break
            here = servers[step % 3]
            nxt = servers[(step + 1) % 3]
            if step == KILL_STEP:
                offset = _kill_mid_patch(cluster, here, nxt, upload_id, src, offset, notes)
                t = time.monotonic()
                offset, seen = _patch_retrying(
                    cluster, client, nxt, upload_id, src, offset, within=30.0
                )
                notes.append(f"resume PATCH on :{nxt.port}: {seen} in {time.monotonic() - t:.1f}s")
                continue
            if step == STALL_PATCH_STEP:
                raw = _stall(here, upload_id, src, offset)
                t = time.monotonic()
                r = httpx.patch(
                    nxt.url + upload_id,
                    headers={
                        **TUS,
                        "Upload-Offset": str(offset),
                        "Content-Length": "0",
                        "Content-Type": "application/offset+octet-stream",
                    },
                    content=b"",
                    timeout=15.0,
                )
                took = time.monotonic() - t
                assert r.status_code in (204, 409), _fail(
                    cluster, f"empty PATCH on :{nxt.port}: {r.status_code} {r.text}"
                )
                new = head_offset(nxt.url + upload_id)
                _check_let_go(cluster, raw, here, offset, new, took, "empty PATCH", notes)
                offset = _patch_ok(cluster, client, nxt, upload_id, src, new)
                continue
            if step == STALL_HEAD_STEP:
                raw = _stall(here, upload_id, src, offset)
                t = time.monotonic()
                new = _head_until_moved(nxt.url + upload_id, offset, LET_GO_WITHIN)
                took = time.monotonic() - t
                _check_let_go(cluster, raw, here, offset, new, took, "HEAD", notes)
                offset = _patch_ok(cluster, client, nxt, upload_id, src, new)
                continue
            offset = _patch_ok(cluster, client, here, upload_id, src, offset)
        assert offset == SIZE, f"not finished after 40 steps: {offset}"
        timings["200 MiB upload"] = time.monotonic() - t1

        t = time.monotonic()
        for server in servers:
            assert head_offset(server.url + upload_id) == SIZE
        n, digest = stream_sha256(servers[1].url + upload_id)
        timings["download + sha256"] = time.monotonic() - t
        assert (n, digest) == (SIZE, expected), _fail(cluster, "the download differs")

        # Termination through another instance than the ones that wrote.
        t = time.monotonic()
        other_id = _id(create_upload(servers[1].url, 20 * MiB))
        small = random_file(tmp_path / "small.bin", 12 * MiB, seed=6)
        for k, (a, b) in enumerate(((0, 6 * MiB), (6 * MiB, 12 * MiB))):
            r = patch(client, servers[1 + k].url + other_id, a, read_range(small, a, b), b - a)
            assert r.status_code == 204, _fail(cluster, f"PATCH of the second upload: {r.text}")
        _, in_progress = leftovers(cluster.weed, cluster.prefix + other_id)
        assert in_progress, "the second upload should have a multipart upload with parts"
        r = client.delete(servers[0].url + other_id, headers=TUS)
        assert r.status_code == 204, _fail(cluster, f"DELETE: {r.status_code} {r.text}")
        assert head(servers[2].url + other_id).status_code in (404, 410)
        timings["terminate"] = time.monotonic() - t

    objects, in_progress = leftovers(cluster.weed, cluster.prefix)
    assert in_progress == [], f"multipart uploads left: {in_progress}"
    assert objects == [cluster.prefix + upload_id], f"objects left: {objects}"
    timings["total"] = time.monotonic() - t0
    print("\n" + "\n".join(notes))
    print(", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))


def test_expiry_sweep_leaves_nothing(cluster: Cluster, tmp_path: Path) -> None:
    t0 = time.monotonic()
    servers = cluster.start(3, "--expire-after", "2s", "--sweep-interval", "0.5s")
    src = random_file(tmp_path / "source.bin", 12 * MiB, seed=7)
    with httpx.Client(timeout=30.0) as client:
        done_id = _id(create_upload(servers[2].url, 3 * MiB))
        r = patch(client, servers[0].url + done_id, 0, read_range(src, 0, 3 * MiB), 3 * MiB)
        assert r.status_code == 204, _fail(cluster, f"finished upload: {r.text}")
        expiring = _id(create_upload(servers[0].url, 20 * MiB))
        for k, (a, b) in enumerate(((0, 6 * MiB), (6 * MiB, 12 * MiB))):
            r = patch(client, servers[k].url + expiring, a, read_range(src, a, b), b - a)
            assert r.status_code == 204, _fail(cluster, f"PATCH: {r.status_code} {r.text}")
    _, in_progress = leftovers(cluster.weed, cluster.prefix + expiring)
    assert in_progress, "the unfinished upload should have a multipart upload with parts"

    deadline = time.monotonic() + 20.0
    state: tuple[int, list[str], list[str]] = (0, [], [])
    while time.monotonic() < deadline:
        status = head(servers[1].url + expiring).status_code
        objects, in_progress = leftovers(cluster.weed, cluster.prefix)
        state = (status, objects, in_progress)
        if status in (404, 410) and objects == [cluster.prefix + done_id] and not in_progress:
            break
        time.sleep(0.5)
    else:
        pytest.fail(_fail(cluster, f"not swept after 20s: HEAD/objects/multipart = {state}"))
    assert head_offset(servers[2].url + done_id) == 3 * MiB  # finished uploads never expire
    print(f"\nexpiry case {time.monotonic() - t0:.1f}s")
