"""The `s3` scenario's own runner: our server with ``--store s3`` against boto3 straight to S3.

One SeaweedFS per run (bench/seaweed.py), started on the first round and stopped by PID at
the end. Each round runs, in alternating order:

* ``ours-s3``: a fresh ``upload --store s3 --s3-part-size P`` (state in SQLite under its data
  dir) fed `s3_total` bytes in `s3_chunk` PATCHes by the big-upload client
  (``scenarios.patch_upload``), timed from the creation POST to the last 204;
* ``boto3``: the same bytes (the same repeated random block) as one multipart upload with
  the same part size P, from create_multipart_upload to complete_multipart_upload, with
  as many parts in flight as our store keeps per writer (``S3Config.parts_in_flight``, 4)
  through a ThreadPoolExecutor, and a client configured like the store's (path-style,
  checksums only when required; SigV4 signs the payload over http in both).

Both objects are checked (length, and equal multipart ETags: same bytes, same parts), then
deleted. Metrics: MiB/s, CPU s/GiB of whoever sends the bytes to S3 (our server; the boto3
process), SeaweedFS's CPU s/GiB, our server's peak RSS, and the per-round ratio
ours/boto3, whose median is checked against the issue's 0.8x.
"""

from __future__ import annotations

import base64
import hashlib
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench import procstat
from bench.scenarios import GiB, Metrics, MiB, Scenario, ScenarioError, Sizes, patch_upload
from bench.seaweed import (
    ACCESS_KEY,
    SECRET_KEY,
    Seaweed,
    empty_bucket,
    s3_client,
    start_seaweed,
)
from bench.targets import RunningTarget, TargetSpec, TargetUnavailable, ours_spec

BUCKET = "tusbench"


def content_md5(body: bytes) -> str:
    """As `tuskit.persist.s3store.content_md5` (not imported: the bench runs without the
    S3 extra installed)."""
    return base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()


OURS, BOTO3 = "ours-s3", "boto3"


def store_parts_in_flight() -> int:
    """Our S3 store's parts in flight per writer (persist/s3store.py), 4 if not importable."""
    try:
        from persist.s3store import S3Config
    except ImportError:
        return 4
    return S3Config(bucket="-").parts_in_flight


def _stream_parts(total: int, block_size: int, part_size: int) -> dict[tuple[int, int], bytes]:
    """The distinct part bodies of `total` bytes made of patch_upload's repeated block, keyed
    by (start offset modulo the block, size); built before the clock starts."""
    block = random.Random(1).randbytes(block_size)
    bodies: dict[tuple[int, int], bytes] = {}
    for start in range(0, total, part_size):
        size = min(part_size, total - start)
        key = (start % block_size, size)
        if key not in bodies:
            reps = -(-(key[0] + size) // block_size)  # a part may straddle blocks
            bodies[key] = (block * reps)[key[0] : key[0] + size]
    return bodies


def _only_object(client: Any, prefix: str, total: int) -> str:
    """The ETag of the single object under prefix, checked to hold `total` bytes."""
    found = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    objects = [o for o in found if ".tail." not in str(o["Key"])]
    if len(objects) != 1 or int(objects[0]["Size"]) != total:
        sizes = {o["Key"]: o["Size"] for o in found}
        raise ScenarioError(f"expected one {total}-byte object under {prefix!r}, found {sizes}")
    return str(objects[0]["ETag"])


class S3Bench:
    """SeaweedFS for the run, the ``ours-s3`` target spec, and one round of both sides."""

    labels = {OURS: "tuskit --store s3", BOTO3: "boto3 multipart"}

    def __init__(
        self, ours_command: str, ours_args: list[str], scratch: Path, sizes: Sizes
    ) -> None:
        self.ours_command = ours_command
        self.ours_args = ours_args
        self.scratch = scratch
        self.sizes = sizes
        self.parallel = store_parts_in_flight()
        self.weed: Seaweed | None = None
        self.client: Any = None

    def start(self) -> None:
        """Start SeaweedFS once; TargetUnavailable (with the reason) when it cannot run."""
        if self.weed is not None:
            return
        ours_spec(self.ours_command, []).prepare()
        workdir = self.scratch / "seaweed"
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.weed = start_seaweed(workdir, BUCKET)
        except FileNotFoundError as e:
            raise TargetUnavailable(f"{e}: s3 scenario skipped") from e
        except (TimeoutError, RuntimeError) as e:
            raise TargetUnavailable(f"SeaweedFS did not start: {e}") from e
        self.client = s3_client(self.weed.endpoint, max_pool_connections=self.parallel + 2)

    def stop(self) -> None:
        if self.weed is not None:
            self.weed.stop()
            self.weed = None

    def info(self) -> str:
        return (f"boto3 {self.parallel} parts in flight (ThreadPoolExecutor, = our store's "
                f"parts_in_flight), {self.sizes.s3_part // MiB} MiB parts, SeaweedFS "
                f"`weed server` on loopback")  # fmt: skip

    def flags(self) -> list[str]:
        """Our server's flags for this SeaweedFS (objects under `ours/`)."""
        assert self.weed is not None
        return [
            "--store", "s3", "--s3-endpoint", self.weed.endpoint, "--s3-bucket", BUCKET,
            "--s3-access-key", ACCESS_KEY, "--s3-secret-key", SECRET_KEY,
            "--s3-part-size", f"{self.sizes.s3_part // MiB}MiB", "--s3-prefix", "ours/",
            *self.ours_args,
        ]  # fmt: skip

    def spec(self) -> TargetSpec:
        return ours_spec(self.ours_command, self.flags(), name=OURS, label=self.labels[OURS])

    def _clean(self) -> None:
        empty_bucket(self.client, BUCKET)

    def run_ours(self) -> tuple[Metrics, str]:
        assert self.weed is not None
        target = RunningTarget(self.spec(), self.scratch)
        try:
            weed0 = self.weed.cpu_seconds()
            metrics, _path = patch_upload(
                target, self.sizes.s3_total, self.sizes.s3_chunk, time_create=True
            )
            metrics["weed_cpu_s_per_gib"] = (self.weed.cpu_seconds() - weed0) / (
                self.sizes.s3_total / GiB
            )
        except (ScenarioError, OSError, ValueError) as e:
            raise ScenarioError(f"{e} [server log: {target.log_tail()}]") from e
        finally:
            target.stop()
        etag = _only_object(self.client, "ours/", self.sizes.s3_total)
        return metrics, etag

    def run_boto3(self) -> tuple[Metrics, str]:
        assert self.weed is not None
        total, part = self.sizes.s3_total, self.sizes.s3_part
        bodies = _stream_parts(total, self.sizes.s3_chunk, part)
        starts = list(range(0, total, part))
        key = "boto3/object"
        client = self.client

        def put(number: int, start: int) -> dict[str, Any]:
            body = bodies[(start % self.sizes.s3_chunk, min(part, total - start))]
            r = client.upload_part(
                Bucket=BUCKET, Key=key, UploadId=mpu, PartNumber=number,
                Body=body, ContentMD5=content_md5(body),  # as our store sends parts
            )  # fmt: skip
            return {"PartNumber": number, "ETag": r["ETag"]}

        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            weed0, cpu0, t0 = self.weed.cpu_seconds(), time.process_time(), time.perf_counter()
            mpu = client.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
            futures = [pool.submit(put, n, s) for n, s in enumerate(starts, start=1)]
            parts = [f.result() for f in futures]
            client.complete_multipart_upload(
                Bucket=BUCKET, Key=key, UploadId=mpu, MultipartUpload={"Parts": parts}
            )
            elapsed = time.perf_counter() - t0
            cpu, weed = time.process_time() - cpu0, self.weed.cpu_seconds() - weed0
        gib = total / GiB
        metrics = {
            "throughput_mib_s": total / MiB / elapsed,
            "boto3_cpu_s_per_gib": cpu / gib,
            "weed_cpu_s_per_gib": weed / gib,
        }
        return metrics, _only_object(client, "boto3/", total)

    def run_round(self, rnd: int, sc: Scenario) -> dict[str, Metrics]:
        """Both sides in this round's order; the per-round ratio goes into ours' metrics."""
        order = [OURS, BOTO3] if rnd % 2 == 0 else [BOTO3, OURS]
        got: dict[str, Metrics] = {}
        etags: dict[str, str] = {}
        self._clean()
        for name in order:
            procstat.quiet_disk()
            t0 = time.monotonic()
            try:
                got[name], etags[name] = self.run_ours() if name == OURS else self.run_boto3()
            finally:
                self._clean()
            print(f"round {rnd + 1} {sc.name:<10} {name:<8} {time.monotonic() - t0:5.1f}s "
                  f"{got[name]['throughput_mib_s']:.0f} MiB/s", flush=True)  # fmt: skip
        if etags[OURS] != etags[BOTO3]:
            raise ScenarioError(f"objects differ: ETag {etags[OURS]} (ours) vs {etags[BOTO3]}")
        got[OURS]["ratio_vs_boto3"] = got[OURS]["throughput_mib_s"] / got[BOTO3]["throughput_mib_s"]
        return got
