"""The stream store's scenarios: one big body POSTed to `/v1/streams`, and read back with
GET, next to the sink doing the same with no protocol logic (and no disk).

The POST is one request of `stream_total` bytes with a Content-Length (the client sends
one block again and again); the GET reads the stream it created (the sink answers the same
number of bytes from memory). Both report MiB/s, server CPU s/GiB and peak RSS; the goals
table compares our POST's and GET's CPU per GiB with our tus big upload's.
"""

from __future__ import annotations

import random
import time

from bench.client import Conn
from bench.scenarios import GiB, Metrics, MiB, ScenarioError, Sizes
from bench.targets import HOST, RunningTarget

STREAMS = "/v1/streams"


def _metrics(
    target: RunningTarget, total: int, elapsed: float, cpu: float, client: float
) -> Metrics:
    gib = total / GiB
    return {
        "throughput_mib_s": total / MiB / elapsed,
        "cpu_s_per_gib": cpu / gib,
        "peak_rss_mib": target.memory().peak_rss_bytes / MiB,
        "client_cpu_s_per_gib": client / gib,
    }


def _post(conn: Conn, total: int, chunk: int) -> str:
    block = memoryview(random.Random(3).randbytes(chunk))
    headers = {"Content-Type": "application/octet-stream"}
    resp = conn.request_streamed("POST", STREAMS, headers, block, total)
    if resp.status != 201 or "location" not in resp.headers:
        raise ScenarioError(f"POST {STREAMS} answered {resp.status}, headers {resp.headers}")
    return resp.path_of_location()


def run_stream_post(target: RunningTarget, sizes: Sizes, _loadgen: object) -> Metrics:
    conn = Conn(HOST, target.port)
    try:
        cpu0, client0, t0 = target.cpu_seconds(), time.process_time(), time.perf_counter()
        _post(conn, sizes.stream_total, sizes.big_chunk)
        elapsed = time.perf_counter() - t0
        cpu, client = target.cpu_seconds() - cpu0, time.process_time() - client0
    finally:
        conn.close()
    return _metrics(target, sizes.stream_total, elapsed, cpu, client)


def run_stream_get(target: RunningTarget, sizes: Sizes, _loadgen: object) -> Metrics:
    total = sizes.stream_total
    conn = Conn(HOST, target.port)
    try:
        path = _post(conn, total, sizes.big_chunk)
        cpu0, client0, t0 = target.cpu_seconds(), time.process_time(), time.perf_counter()
        resp, got = conn.get_drained(f"{path}?size={total}", {})
        elapsed = time.perf_counter() - t0
        cpu, client = target.cpu_seconds() - cpu0, time.process_time() - client0
    finally:
        conn.close()
    if resp.status != 200 or got != total:
        raise ScenarioError(f"GET {path} answered {resp.status} with {got} of {total} bytes")
    return _metrics(target, total, elapsed, cpu, client)
