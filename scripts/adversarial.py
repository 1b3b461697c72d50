"""What an `upload` server does under three cheap attacks, on loopback, in figures.

    python scripts/adversarial.py .venv/bin/upload 18801 /tmp/adv        # this checkout
    python scripts/adversarial.py /old/checkout/.venv/bin/upload 18802 /tmp/adv-old

For each of slowloris (400 connections trickling header lines), huge header lines (40 x
8 MiB) and huge `Upload-Metadata` (30 x 1 MiB) it starts the given server afresh and
prints the server's descriptors, its peak RSS and the answers it gave. `WHICH=slow,meta`
picks some. Used for the before/after figures of the hardening work (docs/server.md).
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time


def status(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return -1


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def start(binary: str, port: int, datadir: str) -> subprocess.Popen[bytes]:
    with open(os.path.join(datadir, "server.log"), "ab") as log:
        p = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", str(port), "--data-dir", datadir],
            stdout=log,
            stderr=log,
        )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p
        except OSError:
            time.sleep(0.1)
    p.kill()
    p.wait()
    raise SystemExit(f"{binary} did not start listening on {port}")


def slowloris(port: int, pid: int, n: int = 400, seconds: float = 45.0) -> str:
    socks = []
    base = fds(pid)
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /files/ HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    t0 = time.monotonic()
    peak = fds(pid)
    closed = set()
    while time.monotonic() - t0 < seconds:
        time.sleep(5)
        for i, s in enumerate(socks):
            if i in closed:
                continue
            try:
                s.sendall(b"X-Slow: a\r\n")
            except OSError:
                closed.add(i)
        peak = max(peak, fds(pid))
    end = fds(pid)
    for i, s in enumerate(socks):
        s.setblocking(False)
        try:
            if s.recv(65536) == b"":
                closed.add(i)
        except BlockingIOError:
            pass
        except OSError:
            closed.add(i)
        s.close()
    return (
        f"slowloris {n} conns trickling headers for {seconds:.0f}s: server fds {base} -> "
        f"peak {peak} -> {end} at the end; {len(closed)} closed by the server"
    )


def big_headers(port: int, pid: int, n: int = 40, size: int = 8 * 1024 * 1024) -> str:
    before = status(pid, "VmRSS")
    socks = []
    line = b"X-Big: " + b"a" * size + b"\r\n"
    statuses: dict[str, int] = {}
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        socks.append(s)
    for s in socks:
        try:
            s.sendall(b"HEAD /files/x HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n")
            s.sendall(line)
            s.sendall(b"\r\n")
        except OSError:
            statuses["send failed"] = statuses.get("send failed", 0) + 1
    time.sleep(2)
    for s in socks:
        s.settimeout(5)
        try:
            first = s.recv(200).split(b"\r\n", 1)[0].decode(errors="replace") or "closed"
        except OSError as exc:
            first = type(exc).__name__
        statuses[first] = statuses.get(first, 0) + 1
        s.close()
    return (
        f"{n} requests with one {size >> 20} MiB header: RSS {before >> 10} MiB before, "
        f"peak (VmHWM) {status(pid, 'VmHWM') >> 10} MiB; answers {statuses}"
    )


def big_metadata(port: int, datadir: str, n: int = 30, size: int = 1024 * 1024) -> str:
    value = base64.b64encode(os.urandom(size * 3 // 4)).decode()
    statuses: dict[str, int] = {}
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(
            (
                "POST /files/ HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n"
                f"Upload-Length: 10\r\nUpload-Metadata: note {value}\r\nContent-Length: 0\r\n\r\n"
            ).encode()
        )
        s.settimeout(10)
        try:
            first = s.recv(200).split(b"\r\n", 1)[0].decode(errors="replace") or "closed"
        except OSError as exc:
            first = type(exc).__name__
        statuses[first] = statuses.get(first, 0) + 1
        s.close()
    state = 0
    for root, _, files in os.walk(os.path.join(datadir, ".state")):
        state += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return (
        f"{n} creations with {size >> 20} MiB of Upload-Metadata: {statuses}; "
        f"state files {state >> 20} MiB"
    )


def main() -> None:
    binary, port, datadir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(datadir, exist_ok=True)
    which = os.environ.get("WHICH", "slow,headers,meta").split(",")
    for w in which:
        p = start(binary, port, datadir)
        try:
            if w == "slow":
                print(slowloris(port, p.pid), flush=True)
            elif w == "headers":
                print(big_headers(port, p.pid), flush=True)
            elif w == "meta":
                print(big_metadata(port, datadir), flush=True)
        finally:
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


if __name__ == "__main__":
    main()
