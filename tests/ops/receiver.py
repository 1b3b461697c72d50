"""A real hook receiver for tests: an HTTP server on 127.0.0.1 in a thread.

It records every hook request (headers and JSON body) and answers with what `answer`
returns for it, as a tusd receiver would. `start()` may come late (a receiver that is
down at first) on a port fixed in advance.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.servers import free_port

Answer = Callable[[dict[str, Any]], "tuple[int, dict[str, Any] | None]"]


def allow(body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    return 200, {}


@dataclass
class Hit:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    answer: Answer = allow
    port: int = field(default_factory=free_port)
    hits: list[Hit] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(size))
                with receiver._lock:
                    receiver.hits.append(Hit(dict(self.headers.items()), body))
                status, reply = receiver.answer(body)
                data = json.dumps(reply).encode() if reply is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def of_type(self, hook: str) -> list[dict[str, Any]]:
        with self._lock:
            return [h.body for h in self.hits if h.body.get("Type") == hook]

    def wait_for(self, hook: str, count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Bounded wait until `count` requests of `hook` arrived; returns them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of_type(hook)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise TimeoutError(f"{count} {hook} hook(s) expected, got {self.types()}")

    def types(self) -> list[str]:
        with self._lock:
            return [str(h.body.get("Type")) for h in self.hits]
