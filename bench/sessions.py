"""The `sessions` scenario's own runner: a session upload against the tus big upload, on
disk and on SeaweedFS, and against one boto3 multipart upload with the same part size
and concurrency.

Each round runs, in alternating order, each on a fresh server:

* ``tus-disk``: the tus big upload (`sessions_total` bytes in `big_chunk` PATCHes, one
  connection), files on disk;
* ``sessions-disk``: the same bytes as a session: initiate, `sessions_chunk` chunks with
  `sessions_parallel` PUTs in flight (one keep-alive connection each), complete;
* with SeaweedFS (`weed`): ``tus-s3`` and ``sessions-s3``, the same two with
  ``--store s3 --s3-part-size <sessions_chunk>``, and ``boto3``: one multipart upload
  with parts of `sessions_chunk` bytes, `sessions_parallel` in flight.

Every upload is timed from its first request (POST / initiate) to the last answer (the
last PATCH's 204 / the completion's 201) and checked (one object of the full length in
the bucket; the file's size on disk). Metrics: MiB/s, server CPU s/GiB, peak RSS, client
CPU s/GiB, SeaweedFS CPU s/GiB, and per round the ratios sessions/tus on each store and
sessions-s3/boto3, whose median is checked against the issue's 0.9x.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import random
import threading
import time
from pathlib import Path

from bench import procstat
from bench.client import Conn
from bench.s3 import S3Bench, _only_object
from bench.scenarios import GiB, Metrics, MiB, Scenario, ScenarioError, Sizes, patch_upload
from bench.targets import HOST, RunningTarget, TargetUnavailable, ours_spec

TUS_DISK, SESSIONS_DISK = "tus-disk", "sessions-disk"
TUS_S3, SESSIONS_S3, BOTO3 = "tus-s3", "sessions-s3", "boto3"
LABELS = {
    TUS_DISK: "tuskit tus, disk",
    SESSIONS_DISK: "tuskit sessions, disk",
    TUS_S3: "tuskit tus, --store s3",
    SESSIONS_S3: "tuskit sessions, --store s3",
    BOTO3: "boto3 multipart",
}


def session_upload(
    target: RunningTarget, total: int, chunk: int, parallel: int
) -> tuple[Metrics, str]:
    """Upload `total` bytes (one random `chunk` block repeated) through a session with
    `parallel` chunk PUTs in flight; returns the metrics and the attachment id."""
    block = memoryview(random.Random(1).randbytes(chunk))
    conn = Conn(HOST, target.port)
    conns = [Conn(HOST, target.port) for _ in range(parallel)]
    try:
        cpu0, client0, t0 = target.cpu_seconds(), time.process_time(), time.perf_counter()
        body = json.dumps({"fileName": "bench.bin", "fileSize": total}).encode()
        resp = conn.request(
            "POST", "/attachment/initiate", {"Content-Type": "application/json"}, body
        )
        if resp.status != 201:
            raise ScenarioError(f"initiate answered {resp.status} {resp.headers}")
        sid = resp.headers["location"].rsplit("/", 1)[1]
        count = -(-total // chunk)
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        for i in range(count):
            todo.put(i)
        failures: list[str] = []

        def worker(c: Conn) -> None:
            while not failures:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                size = min(chunk, total - i * chunk)
                try:
                    r = c.request("PUT", f"/attachment/session/{sid}/upload/{i}", {}, block[:size])
                except OSError as e:
                    failures.append(f"chunk {i}: {e}")
                    return
                if r.status != 200:
                    failures.append(f"chunk {i} answered {r.status}")

        threads = [threading.Thread(target=worker, args=(c,)) for c in conns]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            raise ScenarioError("; ".join(failures[:3]))
        conn.close()  # idle past the server's keep-alive timeout while chunks went
        conn = Conn(HOST, target.port)
        resp = conn.request("POST", f"/attachment/session/{sid}/complete", {})
        if resp.status != 201:
            raise ScenarioError(f"complete answered {resp.status} {resp.headers}")
        elapsed = time.perf_counter() - t0
        cpu, client = target.cpu_seconds() - cpu0, time.process_time() - client0
        attachment = resp.headers["location"].rsplit("/", 1)[1]
    finally:
        for c in (conn, *conns):
            c.close()
    gib = total / GiB
    return {
        "throughput_mib_s": total / MiB / elapsed,
        "cpu_s_per_gib": cpu / gib,
        "peak_rss_mib": target.memory().peak_rss_bytes / MiB,
        "client_cpu_s_per_gib": client / gib,
    }, attachment


class SessionsBench:
    """Fresh servers per upload; SeaweedFS (through an S3Bench) when `weed` is present."""

    labels = LABELS

    def __init__(
        self, ours_command: str, ours_args: list[str], scratch: Path, sizes: Sizes
    ) -> None:
        self.ours_command = ours_command
        self.ours_args = ours_args
        self.scratch = scratch
        self.sizes = sizes
        s3_sizes = dataclasses.replace(
            sizes,
            s3_total=sizes.sessions_total,
            s3_chunk=sizes.big_chunk,
            s3_part=sizes.sessions_chunk,
        )
        self.s3 = S3Bench(ours_command, ours_args, scratch / "sessions-s3", s3_sizes)
        self.s3.parallel = sizes.sessions_parallel
        self.s3_skipped = ""

    def start(self) -> None:
        ours_spec(self.ours_command, []).prepare()
        try:
            self.s3.start()
        except TargetUnavailable as e:
            self.s3_skipped = str(e)

    def stop(self) -> None:
        self.s3.stop()

    def info(self) -> str:
        s = self.sizes
        skipped = f" (S3 part skipped: {self.s3_skipped})" if self.s3_skipped else ""
        chunk, n = s.sessions_chunk // MiB, s.sessions_parallel
        return (
            f"{s.sessions_total // MiB} MiB; sessions: {chunk} MiB chunks, {n} in flight; tus: "
            f"{s.big_chunk // MiB} MiB PATCHes; boto3: {chunk} MiB parts, {n} in flight{skipped}"
        )

    def _disk(self, name: str) -> Metrics:
        flags = [*self.ours_args, "--chunk-size", str(self.sizes.sessions_chunk)]
        spec = ours_spec(self.ours_command, flags, name=name, label=LABELS[name])
        target = RunningTarget(spec, self.scratch)
        try:
            if name == TUS_DISK:
                metrics, _ = patch_upload(
                    target, self.sizes.sessions_total, self.sizes.big_chunk, time_create=True
                )
                return metrics
            metrics, attachment = session_upload(
                target, self.sizes.sessions_total, self.sizes.sessions_chunk,
                self.sizes.sessions_parallel,
            )  # fmt: skip
            size = (target.data_dir / attachment).stat().st_size
            if size != self.sizes.sessions_total:
                raise ScenarioError(f"the attachment holds {size} bytes")
            return metrics
        except (ScenarioError, OSError, ValueError) as e:
            raise ScenarioError(f"{e} [server log: {target.log_tail()}]") from e
        finally:
            target.stop()

    def _sessions_s3(self) -> Metrics:
        assert self.s3.weed is not None
        flags = [*self.s3.flags(), "--chunk-size", str(self.sizes.sessions_chunk)]
        spec = ours_spec(self.ours_command, flags, name=SESSIONS_S3, label=LABELS[SESSIONS_S3])
        target = RunningTarget(spec, self.scratch)
        try:
            weed0 = self.s3.weed.cpu_seconds()
            metrics, _ = session_upload(
                target, self.sizes.sessions_total, self.sizes.sessions_chunk,
                self.sizes.sessions_parallel,
            )  # fmt: skip
            metrics["weed_cpu_s_per_gib"] = (self.s3.weed.cpu_seconds() - weed0) / (
                self.sizes.sessions_total / GiB
            )
        except (ScenarioError, OSError, ValueError) as e:
            raise ScenarioError(f"{e} [server log: {target.log_tail()}]") from e
        finally:
            target.stop()
        _only_object(self.s3.client, "ours/", self.sizes.sessions_total)
        return metrics

    def run_round(self, rnd: int, sc: Scenario) -> dict[str, Metrics]:
        names = [TUS_DISK, SESSIONS_DISK]
        if self.s3.weed is not None:
            names += [TUS_S3, SESSIONS_S3, BOTO3]
        order = names if rnd % 2 == 0 else names[::-1]
        got: dict[str, Metrics] = {}
        for name in order:
            procstat.quiet_disk()
            t0 = time.monotonic()
            if name in (TUS_S3, SESSIONS_S3, BOTO3):
                self.s3._clean()
            try:
                if name in (TUS_DISK, SESSIONS_DISK):
                    got[name] = self._disk(name)
                elif name == TUS_S3:
                    got[name] = self.s3.run_ours()[0]
                elif name == SESSIONS_S3:
                    got[name] = self._sessions_s3()
                else:
                    got[name] = self.s3.run_boto3()[0]
            finally:
                if name in (TUS_S3, SESSIONS_S3, BOTO3):
                    self.s3._clean()
            print(f"round {rnd + 1} {sc.name:<10} {name:<13} {time.monotonic() - t0:5.1f}s "
                  f"{got[name]['throughput_mib_s']:.0f} MiB/s", flush=True)  # fmt: skip
        tp = {n: m["throughput_mib_s"] for n, m in got.items()}
        got[SESSIONS_DISK]["ratio_vs_tus"] = tp[SESSIONS_DISK] / tp[TUS_DISK]
        if SESSIONS_S3 in got:
            got[SESSIONS_S3]["ratio_vs_tus"] = tp[SESSIONS_S3] / tp[TUS_S3]
            got[SESSIONS_S3]["ratio_vs_boto3"] = tp[SESSIONS_S3] / tp[BOTO3]
        return got
