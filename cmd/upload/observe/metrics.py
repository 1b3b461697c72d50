"""Prometheus metrics, named `tuskit_*` (docs/operations.md maps them to tusd's).

With `--workers N` the server runs in prometheus-client's multiprocess mode: `main` sets
`PROMETHEUS_MULTIPROC_DIR` to an empty directory before the workers start, every worker
writes its samples there, and a scrape of any worker adds them up (gauges of live
processes only). Labelled children are cached in dicts: `labels()` costs more than the
increment itself, and a HEAD is ~80 us of CPU in all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .requeststats import FastRequestMetrics, RequestMetrics, SharedRequestMetrics

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# No `*_created` series: they double a scrape for nothing.
disable_created_metrics()  # type: ignore[no-untyped-call]

LOCK_BUCKETS = (0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class Metrics:
    """Every metric of one server process, in a registry of its own."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=False)
        self.multiprocess = multiprocess_mode()

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, doc, labels, registry=r)

        def gauge(name: str, doc: str, mode: Any) -> Gauge:
            return Gauge(name, doc, registry=r, multiprocess_mode=mode)

        self.request_metrics: RequestMetrics
        if self.multiprocess:
            self.request_metrics = SharedRequestMetrics(r)
        else:
            fast = FastRequestMetrics()
            r.register(fast)
            self.request_metrics = fast
        self.uploads = {
            event: counter(f"tuskit_uploads_{event}", f"uploads {event}", ("protocol",))
            for event in ("created", "finished", "terminated", "expired")
        }
        self.lock_wait = Histogram(
            "tuskit_lock_wait_seconds", "time to get an upload's lock", buckets=LOCK_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.lock_timeouts = counter("tuskit_lock_timeouts", "lock waits that timed out")
        self.release_requests = counter(
            "tuskit_lock_release_requests", "requests to let go of an upload held here"
        )
        self.hook_invocations = counter(
            "tuskit_hook_invocations", "blocking hook calls", ("hook", "transport")
        )
        self.hook_failures = counter(
            "tuskit_hook_failures", "blocking hook calls without a usable answer",
            ("hook", "transport"),
        )  # fmt: skip
        self.hook_rejections = counter(
            "tuskit_hook_rejections", "requests refused by a blocking hook", ("hook",)
        )
        self.deliveries = counter(
            "tuskit_event_deliveries",
            "post-* event deliveries from the outbox",
            ("sink", "outcome"),
        )
        self.outbox_depth = gauge(
            "tuskit_outbox_depth", "events waiting in the outbox", "mostrecent"
        )
        self.store_errors = counter(
            "tuskit_store_errors", "unexpected store failures", ("backend", "operation")
        )
        self._children: dict[tuple[Any, ...], Any] = {}

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """`metric.labels(*labels)`, cached."""
        key = (id(metric), *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    # -- hooks and relay report through these ------------------------------------------

    def hook_called(self, hook: str, transport: str, outcome: str) -> None:
        self.child(self.hook_invocations, hook, transport).inc()
        if outcome == "failed":
            self.child(self.hook_failures, hook, transport).inc()
        elif outcome == "rejected":
            self.child(self.hook_rejections, hook).inc()

    def delivered(self, sink: str, outcome: str) -> None:
        self.child(self.deliveries, sink, outcome).inc()

    def set_outbox_depth(self, depth: int) -> None:
        self.outbox_depth.set(depth)

    def store_error(self, backend: str, operation: str) -> None:
        self.child(self.store_errors, backend, operation).inc()

    # -- exposition --------------------------------------------------------------------

    def exposition(self) -> bytes:
        """The text format of every worker's samples (or this process's)."""
        if self.multiprocess:
            registry = CollectorRegistry(auto_describe=False)
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)

    def close(self) -> None:
        """A worker that exits drops its live gauges from the sums."""
        if self.multiprocess:
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


CONTENT_TYPE = CONTENT_TYPE_LATEST

Tally = Callable[[str, str, str], None]
