"""The scenarios. Each takes a freshly started target and returns named metrics.

A scenario is a ``Scenario`` (name, title, the metric that counts as throughput, the one that
counts as CPU per operation, and a ``run`` function). To add one, write a ``run_*`` function
with the same signature and append it to ``build_scenarios``; report.py picks its metrics up
by name. ``s3`` is the exception: ``own_runner=True``, run by bench/s3.py.
"""

from __future__ import annotations

import base64
import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.client import Conn, LoadResult, encode_request, run_load
from bench.targets import HOST, RunningTarget

MiB = 1024 * 1024
GiB = 1024 * MiB
TUS = {"Tus-Resumable": "1.0.0"}
IETF = {"Upload-Draft-Interop-Version": "9"}
IETF_PATH = "/uploads/"  # our server's IETF-draft endpoint (the sink answers any path)
PARTIAL = "application/partial-upload"


@dataclass(frozen=True)
class Sizes:
    big_total: int = GiB
    big_chunk: int = 64 * MiB
    small_count: int = 2000
    small_size: int = 64 * 1024
    small_warmup: int = 200
    concurrency: int = 64
    head_seconds: float = 10.0
    head_warmup: float = 1.0
    memory_first: int = 100
    memory_total: int = 10_000
    s3_total: int = 512 * MiB  # s3: our server with --store s3 vs boto3 multipart
    s3_chunk: int = 64 * MiB  # PATCH size
    s3_part: int = 8 * MiB  # --s3-part-size and boto3's part size
    sessions_total: int = GiB  # sessions: a session upload vs tus big vs boto3
    sessions_chunk: int = 8 * MiB  # --chunk-size, --s3-part-size, boto3's part size
    sessions_parallel: int = 4  # chunk PUTs (and boto3 parts) in flight
    stream_total: int = GiB  # stream-post / stream-get: one body of this size


SMOKE = Sizes(
    big_total=16 * MiB, big_chunk=4 * MiB, small_count=50, small_warmup=10,
    head_seconds=2.0, head_warmup=0.2, memory_first=20, memory_total=200,
    s3_total=32 * MiB, s3_chunk=16 * MiB, sessions_total=32 * MiB, stream_total=16 * MiB,
)  # fmt: skip

Metrics = dict[str, float]


class ScenarioError(Exception):
    """The target answered wrongly (a protocol failure, not a slow answer)."""


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    throughput: str | None  # metric key, higher is better (charted, ratios)
    cpu_per_op: str | None  # metric key, lower is better (charted)
    run: Callable[[RunningTarget, Sizes, Path | None], Metrics]
    # (target, column header) pairs whose throughput the table divides by
    ratios: tuple[tuple[str, str], ...] = (("sink", "vs sink"), ("tus-node", "vs @tus/server"))
    # True: not run per selected target but by its own runner (bench/s3.py), which fills
    # Results.rounds for its own row names
    own_runner: bool = False
    # the targets it applies to (empty: every one); others are left out, not skipped
    targets: tuple[str, ...] = ()


def _create(conn: Conn, target: RunningTarget, length: int, body: bytes = b"") -> str:
    headers = {**TUS, "Upload-Length": str(length)}
    if body:
        headers["Content-Type"] = "application/offset+octet-stream"
    resp = conn.request("POST", target.spec.create_path, headers, body)
    if resp.status != 201 or "location" not in resp.headers:
        raise ScenarioError(f"POST answered {resp.status}, headers {resp.headers}")
    return resp.path_of_location()


def patch_upload(
    target: RunningTarget,
    total: int,
    chunk_size: int,
    checksum: bool = False,
    time_create: bool = False,
) -> tuple[Metrics, str]:
    """Upload `total` bytes (one random `chunk_size` block repeated) in `chunk_size` PATCHes
    on one connection; returns the metrics and the upload's path. The clock starts after the
    creation POST unless `time_create` (the S3 scenario times the whole upload)."""
    chunk = memoryview(random.Random(1).randbytes(chunk_size))
    digest = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
    conn = Conn(HOST, target.port)
    try:
        cpu0, client0, t0 = target.cpu_seconds(), time.process_time(), time.perf_counter()
        path = _create(conn, target, total)
        if not time_create:
            cpu0, client0, t0 = target.cpu_seconds(), time.process_time(), time.perf_counter()
        offset = 0
        while offset < total:
            body = chunk[: min(chunk_size, total - offset)]
            headers = {
                **TUS,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            }
            if checksum:
                headers["Upload-Checksum"] = f"sha256 {digest}"
            resp = conn.request("PATCH", path, headers, body)
            offset += len(body)
            if resp.status != 204 or resp.headers.get("upload-offset") != str(offset):
                raise ScenarioError(f"PATCH answered {resp.status}, headers {resp.headers}")
        elapsed = time.perf_counter() - t0
        cpu, client = target.cpu_seconds() - cpu0, time.process_time() - client0
    finally:
        conn.close()
    gib = total / GiB
    return {
        "throughput_mib_s": total / MiB / elapsed,
        "cpu_s_per_gib": cpu / gib,
        "peak_rss_mib": target.memory().peak_rss_bytes / MiB,
        "client_cpu_s_per_gib": client / gib,
    }, path


def ietf_patch_upload(target: RunningTarget, total: int, chunk_size: int) -> Metrics:
    """`patch_upload` in the IETF draft's terms (interop 9): an empty `Upload-Complete: ?0`
    creation, then `application/partial-upload` appends, the last one `?1`."""
    chunk = memoryview(random.Random(1).randbytes(chunk_size))
    conn = Conn(HOST, target.port)
    try:
        headers = {**IETF, "Upload-Complete": "?0", "Upload-Length": str(total)}
        resp = conn.request("POST", IETF_PATH, headers)
        if resp.status != 201 or "location" not in resp.headers:
            raise ScenarioError(f"POST answered {resp.status}, headers {resp.headers}")
        path = resp.path_of_location()
        cpu0, client0, t0 = target.cpu_seconds(), time.process_time(), time.perf_counter()
        offset = 0
        while offset < total:
            body = chunk[: min(chunk_size, total - offset)]
            last = offset + len(body) == total
            headers = {
                **IETF,
                "Upload-Offset": str(offset),
                "Upload-Complete": "?1" if last else "?0",
                "Content-Type": PARTIAL,
            }
            resp = conn.request("PATCH", path, headers, body)
            offset += len(body)
            if resp.status not in (201, 204) or resp.headers.get("upload-offset") != str(offset):
                raise ScenarioError(f"PATCH answered {resp.status}, headers {resp.headers}")
        elapsed = time.perf_counter() - t0
        cpu, client = target.cpu_seconds() - cpu0, time.process_time() - client0
    finally:
        conn.close()
    gib = total / GiB
    return {
        "throughput_mib_s": total / MiB / elapsed,
        "cpu_s_per_gib": cpu / gib,
        "peak_rss_mib": target.memory().peak_rss_bytes / MiB,
        "client_cpu_s_per_gib": client / gib,
    }


def run_ietf_big(target: RunningTarget, sizes: Sizes, _loadgen: Path | None) -> Metrics:
    return ietf_patch_upload(target, sizes.big_total, sizes.big_chunk)


def run_ietf_small(target: RunningTarget, sizes: Sizes, loadgen: Path | None) -> Metrics:
    """`small` as the draft's optimistic creation: the whole file with `Upload-Complete: ?1`
    (our server answers a 104 with the upload's URL, then 201)."""
    headers = {**IETF, "Upload-Complete": "?1", "Content-Type": "application/octet-stream"}
    body = random.Random(2).randbytes(sizes.small_size)
    request = encode_request("POST", IETF_PATH, f"{HOST}:{target.port}", headers, body)
    c = sizes.concurrency
    _checked(run_load(target.port, request, c, sizes.small_warmup, loadgen=loadgen), "warm-up")
    return _load_metrics(
        target,
        lambda: run_load(target.port, request, c, sizes.small_count, loadgen=loadgen),
        "uploads",
    )


def _big(target: RunningTarget, sizes: Sizes, checksum: bool) -> Metrics:
    return patch_upload(target, sizes.big_total, sizes.big_chunk, checksum)[0]


def run_big(target: RunningTarget, sizes: Sizes, _loadgen: Path | None) -> Metrics:
    return _big(target, sizes, checksum=False)


def run_big_sha256(target: RunningTarget, sizes: Sizes, _loadgen: Path | None) -> Metrics:
    return _big(target, sizes, checksum=True)


def _creation_with_upload(target: RunningTarget, size: int) -> bytes:
    headers = {
        **TUS,
        "Upload-Length": str(size),
        "Content-Type": "application/offset+octet-stream",
    }
    body = random.Random(2).randbytes(size)
    return encode_request("POST", target.spec.create_path, f"{HOST}:{target.port}", headers, body)


def _checked(result: LoadResult, what: str) -> LoadResult:
    if result.completed == 0 or result.non2xx or result.errors:
        raise ScenarioError(
            f"{what}: {result.completed} completed, {result.non2xx} non-2xx, "
            f"{result.errors} connection errors"
        )
    return result


def _load_metrics(target: RunningTarget, run: Callable[[], LoadResult], prefix: str) -> Metrics:
    cpu0 = target.cpu_seconds()
    result = _checked(run(), prefix)
    cpu = target.cpu_seconds() - cpu0
    return {
        f"{prefix}_s": result.rate,
        "server_cpu_us_per_op": cpu / result.completed * 1e6,
        "client_cpu_us_per_op": result.client_cpu / result.completed * 1e6,
        "client_capacity_s": result.completed / result.client_cpu if result.client_cpu else 0.0,
        "peak_rss_mib": target.memory().peak_rss_bytes / MiB,
    }


def run_small(target: RunningTarget, sizes: Sizes, loadgen: Path | None) -> Metrics:
    request = _creation_with_upload(target, sizes.small_size)
    c = sizes.concurrency
    _checked(run_load(target.port, request, c, sizes.small_warmup, loadgen=loadgen), "warm-up")
    return _load_metrics(
        target,
        lambda: run_load(target.port, request, c, sizes.small_count, loadgen=loadgen),
        "uploads",
    )


def run_head(target: RunningTarget, sizes: Sizes, loadgen: Path | None) -> Metrics:
    """HEAD at concurrency N, each connection on its own upload (as resuming clients do:
    N clients polling one upload would measure the server's lock contention instead)."""
    c = sizes.concurrency
    conn = Conn(HOST, target.port)
    try:
        paths = [_create(conn, target, 1024, b"x" * 1024) for _ in range(c)]
    finally:
        conn.close()
    host = f"{HOST}:{target.port}"
    request = [encode_request("HEAD", path, host, dict(TUS)) for path in paths]
    warm = run_load(target.port, request, c, duration=sizes.head_warmup, head=True, loadgen=loadgen)
    _checked(warm, "warm-up")
    return _load_metrics(
        target,
        lambda: run_load(
            target.port, request, c, duration=sizes.head_seconds, head=True, loadgen=loadgen
        ),
        "requests",
    )


def run_memory(target: RunningTarget, sizes: Sizes, loadgen: Path | None) -> Metrics:
    request = _creation_with_upload(target, sizes.small_size)
    c = sizes.concurrency
    _checked(run_load(target.port, request, c, sizes.memory_first, loadgen=loadgen), "first")
    rss_first = target.memory().rss_bytes
    rest = sizes.memory_total - sizes.memory_first
    _checked(run_load(target.port, request, c, rest, loadgen=loadgen), "rest")
    rss_last = target.memory().rss_bytes
    return {
        "rss_first_mib": rss_first / MiB,
        "rss_last_mib": rss_last / MiB,
        "rss_growth": rss_last / rss_first if rss_first else 0.0,
    }


def _own_runner(_target: RunningTarget, _sizes: Sizes, _loadgen: Path | None) -> Metrics:
    raise ScenarioError("this scenario has its own runner")


def build_scenarios(sizes: Sizes) -> list[Scenario]:
    from bench.streams import run_stream_get, run_stream_post

    big = f"{sizes.big_total // MiB} MiB in {sizes.big_chunk // MiB} MiB PATCHes"
    stream = f"one {sizes.stream_total // MiB} MiB stream"
    small = f"{sizes.small_count} x {sizes.small_size // 1024} KiB creation-with-upload"
    return [
        Scenario("big", big, "throughput_mib_s", "cpu_s_per_gib", run_big),
        Scenario("big-sha256", big + " + sha256 Upload-Checksum", "throughput_mib_s",
                 "cpu_s_per_gib", run_big_sha256),
        Scenario("small", f"{small}, concurrency {sizes.concurrency}", "uploads_s",
                 "server_cpu_us_per_op", run_small),
        Scenario("ietf-big", big + ", IETF draft (interop 9) appends", "throughput_mib_s",
                 "cpu_s_per_gib", run_ietf_big, ratios=(("sink", "vs sink"),),
                 targets=("ours", "sink")),
        Scenario("ietf-small", f"{small}, IETF draft (interop 9, 104 then 201), concurrency "
                 f"{sizes.concurrency}", "uploads_s", "server_cpu_us_per_op", run_ietf_small,
                 ratios=(("sink", "vs sink"),), targets=("ours", "sink")),
        Scenario("head", f"HEAD for {sizes.head_seconds:g} s, concurrency {sizes.concurrency}",
                 "requests_s", "server_cpu_us_per_op", run_head),
        Scenario("memory", f"RSS after {sizes.memory_first} vs {sizes.memory_total} uploads",
                 None, None, run_memory),
        Scenario("s3", f"{sizes.s3_total // MiB} MiB in {sizes.s3_chunk // MiB} MiB PATCHes "
                 f"to --store s3 vs one boto3 multipart upload ({sizes.s3_part // MiB} MiB "
                 "parts), same SeaweedFS", "throughput_mib_s", "cpu_s_per_gib", _own_runner,
                 ratios=(), own_runner=True),
        Scenario("sessions", f"{sizes.sessions_total // MiB} MiB as a session "
                 f"({sizes.sessions_chunk // MiB} MiB chunks, {sizes.sessions_parallel} in "
                 f"flight) vs the tus big upload ({sizes.big_chunk // MiB} MiB PATCHes), on disk "
                 "and on SeaweedFS, vs one boto3 multipart upload (same parts, same "
                 "concurrency)", "throughput_mib_s", "cpu_s_per_gib", _own_runner,
                 ratios=(), own_runner=True),
        Scenario("stream-post", f"{stream} POSTed to /v1/streams (Content-Length)",
                 "throughput_mib_s", "cpu_s_per_gib", run_stream_post,
                 ratios=(("sink", "vs sink"),), targets=("ours", "sink")),
        Scenario("stream-get", f"{stream} read back with GET (the sink: from memory)",
                 "throughput_mib_s", "cpu_s_per_gib", run_stream_get,
                 ratios=(("sink", "vs sink"),), targets=("ours", "sink")),
    ]  # fmt: skip
