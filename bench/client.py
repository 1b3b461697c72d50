"""Load generation: pre-encoded requests over raw keep-alive sockets, no httpx on the hot path.

Two engines with one interface (``run_load``):

* ``loadgen`` (bench/loadgen.c, epoll, one request in flight per connection), compiled
  on first use into bench/.cache/ with the system C compiler. It costs a few microseconds of
  CPU per request, so it drives the sink far beyond the servers under test.
* a Python asyncio fallback, used when there is no C compiler (or with ``--python-client``).
  Slower; the report prints the client headroom so a client-bound number is visible.

``Conn`` is a small blocking client for setup requests and the big sequential PATCHes
(one ``sendall`` of a 64 MiB memoryview costs the client next to nothing per byte).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
CACHE = BENCH / ".cache"
LOADGEN_SRC = BENCH / "loadgen.c"


@dataclass(frozen=True)
class LoadResult:
    completed: int
    errors: int
    non2xx: int
    elapsed: float
    client_cpu: float
    engine: str

    @property
    def rate(self) -> float:
        return self.completed / self.elapsed if self.elapsed > 0 else 0.0


def encode_head(
    method: str, path: str, host: str, headers: dict[str, str], content_length: int
) -> bytes:
    """Request line and headers; Content-Length is sent for bodies and for POST/PATCH."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if content_length or method in ("POST", "PATCH"):
        lines.append(f"Content-Length: {content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def encode_request(
    method: str, path: str, host: str, headers: dict[str, str], body: bytes = b""
) -> bytes:
    return encode_head(method, path, host, headers, len(body)) + body


def build_loadgen() -> Path | None:
    """Compile loadgen.c into bench/.cache (once); None when there is no C compiler."""
    binary = CACHE / "loadgen"
    if binary.exists() and binary.stat().st_mtime >= LOADGEN_SRC.stat().st_mtime:
        return binary
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [cc, "-O2", "-o", str(binary), str(LOADGEN_SRC)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        print(f"loadgen did not compile, using the Python client: {done.stderr[-500:]}")
        return None
    return binary


# -- response parsing (shared by the blocking and the asyncio client) ---------------------


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]

    def path_of_location(self) -> str:
        return urlsplit(self.headers["location"]).path


def _parse_head(raw: bytes) -> Response:
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return Response(status, headers)


def _body_plan(resp: Response, head: bool) -> tuple[str, int]:
    """('none'|'length'|'chunked', n)."""
    if head or resp.status in (204, 304) or resp.status < 200:
        return "none", 0
    if "chunked" in resp.headers.get("transfer-encoding", "").lower():
        return "chunked", 0
    return "length", int(resp.headers.get("content-length", "0"))


class Conn:
    """A blocking keep-alive HTTP/1.1 connection for setup requests and big PATCHes."""

    def __init__(self, host: str, port: int, timeout: float = 300.0) -> None:
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            self.buf += data
        out, self.buf = self.buf.split(marker, 1)
        return out

    def _read_exact(self, n: int) -> None:
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            self.buf += data
        self.buf = self.buf[n:]

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | memoryview = b"",
    ) -> Response:
        host = f"{self.host}:{self.port}"
        self.sock.sendall(encode_head(method, path, host, headers, len(body)))
        if body:
            self.sock.sendall(body)
        resp = _parse_head(self._read_until(b"\r\n\r\n"))
        while 100 <= resp.status < 200 and resp.status != 101:  # interim: the final follows
            resp = _parse_head(self._read_until(b"\r\n\r\n"))
        kind, n = _body_plan(resp, head=method == "HEAD")
        if kind == "length":
            self._read_exact(n)
        elif kind == "chunked":
            while True:
                size = int(self._read_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    while self._read_until(b"\r\n"):
                        pass
                    break
                self._read_exact(size + 2)
        return resp

    def request_streamed(
        self, method: str, path: str, headers: dict[str, str], block: memoryview, total: int
    ) -> Response:
        """A request whose `total`-byte body is `block` sent again and again (one sendall
        each): a multi-GiB body at next to no client CPU, never held whole."""
        host = f"{self.host}:{self.port}"
        self.sock.sendall(encode_head(method, path, host, headers, total))
        left = total
        while left:
            piece = block[: min(len(block), left)]
            self.sock.sendall(piece)
            left -= len(piece)
        resp = _parse_head(self._read_until(b"\r\n\r\n"))
        kind, n = _body_plan(resp, head=False)
        if kind == "length":
            self._read_exact(n)
        return resp

    def get_drained(self, path: str, headers: dict[str, str]) -> tuple[Response, int]:
        """GET `path` and read its (Content-Length) body into one reused buffer; returns
        the response and how many body bytes came."""
        host = f"{self.host}:{self.port}"
        self.sock.sendall(encode_head("GET", path, host, headers, 0))
        resp = _parse_head(self._read_until(b"\r\n\r\n"))
        kind, n = _body_plan(resp, head=False)
        if kind != "length":
            raise ConnectionError(f"GET {path} answered without a Content-Length: {resp}")
        got = min(len(self.buf), n)
        self.buf = self.buf[got:]
        buffer = bytearray(1 << 20)
        view = memoryview(buffer)
        while got < n:
            k = self.sock.recv_into(view, min(len(buffer), n - got))
            if not k:
                raise ConnectionError("server closed the connection mid-body")
            got += k
        return resp, got


# -- load: C loadgen or asyncio fallback --------------------------------------------------


def run_load(
    port: int,
    request: bytes | Sequence[bytes],
    conns: int,
    requests: int = 0,
    duration: float = 0.0,
    head: bool = False,
    loadgen: Path | None = None,
    host: str = "127.0.0.1",
) -> LoadResult:
    """Send requests over `conns` connections, `requests` times or for `duration` s.

    With a list of requests, connection i sends request i % len(list) (one upload each).
    """
    reqs = [request] if isinstance(request, bytes) else list(request)
    if loadgen is not None:
        with tempfile.TemporaryDirectory(prefix="tusbench-req-") as tmp:
            files = []
            for i, r in enumerate(reqs):
                files.append(Path(tmp) / f"{i}.req")
                files[-1].write_bytes(r)
            args = [host, str(port), str(conns), str(requests), str(duration), str(int(head))]
            done = subprocess.run(
                [str(loadgen), *args, *map(str, files)],
                capture_output=True, text=True, timeout=max(duration, 0) + 660, check=True,
            )  # fmt: skip
        out = json.loads(done.stdout)
        return LoadResult(
            out["completed"], out["errors"], out["non2xx"], out["elapsed"],
            out["client_cpu"], "loadgen (C)",
        )  # fmt: skip
    return asyncio.run(_py_load(host, port, reqs, conns, requests, duration, head))


async def _py_load(
    host: str,
    port: int,
    reqs: list[bytes],
    conns: int,
    requests: int,
    duration: float,
    head: bool,
) -> LoadResult:
    stats = {"issued": 0, "completed": 0, "errors": 0, "non2xx": 0}
    t0 = time.monotonic()
    cpu0 = time.process_time()
    deadline = t0 + duration

    def may_issue() -> bool:
        if requests > 0:
            return stats["issued"] < requests
        return time.monotonic() < deadline

    async def worker(request: bytes) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while may_issue() and stats["errors"] < 1000:
                stats["issued"] += 1
                try:
                    writer.write(request)
                    resp = _parse_head(await reader.readuntil(b"\r\n\r\n"))
                    while 100 <= resp.status < 200 and resp.status != 101:
                        resp = _parse_head(await reader.readuntil(b"\r\n\r\n"))
                    kind, n = _body_plan(resp, head)
                    if kind == "length" and n:
                        await reader.readexactly(n)
                    elif kind == "chunked":
                        while True:
                            size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
                            if size == 0:
                                while await reader.readuntil(b"\r\n") != b"\r\n":
                                    pass
                                break
                            await reader.readexactly(size + 2)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    stats["errors"] += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                stats["completed"] += 1
                if not 200 <= resp.status < 300:
                    stats["non2xx"] += 1
                if resp.headers.get("connection", "").lower() == "close":
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        finally:
            writer.close()

    await asyncio.gather(*(worker(reqs[i % len(reqs)]) for i in range(conns)))
    return LoadResult(
        stats["completed"], stats["errors"], stats["non2xx"], time.monotonic() - t0,
        time.process_time() - cpu0, "asyncio (Python)",
    )  # fmt: skip
