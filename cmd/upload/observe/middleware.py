"""Per-request metrics and the request log, as one ASGI wrapper around a mount.

It wraps `send` to catch the status and count response bytes, and `receive` only for
requests that carry a body. Per request it keeps the live gauges and appends one record
to a batch (record.py); counting and formatting happen per batch. Measured in bench/:
HEAD and small uploads within 5% of the server without it.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .record import Batch
from .requeststats import FastRequestMetrics, RequestMetrics

BODY_METHODS = frozenset({"POST", "PATCH", "PUT"})


class _Exchange:
    """Counts of one request, filled in by the wrapped receive and send."""

    __slots__ = ("_receive", "_send", "location", "received", "sent", "status")

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.status = 0
        self.received = 0
        self.sent = 0
        self.location = ""

    async def receive(self) -> Message:
        message = await self._receive()
        body = message.get("body")
        if body:
            self.received += len(body)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            if self.status == 201:
                for name, value in message.get("headers", ()):
                    if name.lower() == b"location":
                        self.location = value.decode("latin-1")
        else:
            body = message.get("body")
            if body:
                self.sent += len(body)
        await self._send(message)


class Observe:
    """Metrics and a log line for every request on one mount."""

    def __init__(
        self,
        app: ASGIApp,
        protocol: str,
        mount_path: str,
        *,
        metrics: RequestMetrics | None,
        batch: Batch | None,
    ) -> None:
        self.app = app
        self.protocol = protocol
        self.prefix = mount_path.rstrip("/") + "/"
        self.metrics = metrics
        self.batch = batch
        self.immediate = metrics if metrics is not None and metrics.immediate else None
        # One process: the live gauges are two ints, updated here without method calls.
        self.fast = metrics if isinstance(metrics, FastRequestMetrics) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        exchange = _Exchange(receive, send)
        uploading = scope["method"] in BODY_METHODS and _has_body(scope)
        fast = self.fast
        metrics = self.metrics if fast is None else None
        if fast is not None:
            fast.open += 1
            if uploading:
                fast.uploading += 1
        elif metrics is not None:
            metrics.begin(uploading)
        try:
            await self.app(scope, exchange.receive if uploading else receive, exchange.send)
        finally:
            done = time.perf_counter()
            if fast is not None:
                fast.open -= 1
                if uploading:
                    fast.uploading -= 1
            elif metrics is not None:
                metrics.finish(uploading)
            record = (
                done, done - started, exchange.status or 499, exchange.received,
                exchange.sent, exchange.location, scope, self.protocol, self.prefix,
            )  # fmt: skip
            if self.immediate is not None:
                self.immediate((record,), 0.0)
            if self.batch is not None:
                self.batch.add(record)


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return value not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False
