"""Per-request metrics, counted the cheapest way the process model allows.

One worker: plain dicts and ints, counted per batch of records and turned into Prometheus
families only when scraped (a prometheus-client increment takes a lock and a labelled
child lookup; four of them per request were a sixth of a HEAD's Python time). Several
workers: prometheus-client's objects, whose multiprocess mode adds every worker's
samples up at scrape time; they count each request at once (`immediate`), so a scrape
of one worker sees every finished request of the others.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from .record import Batch, Record
from .requestlog import METHODS

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    30.0, 60.0,
)  # fmt: skip

REQUESTS = ("tuskit_requests", "HTTP requests answered")
DURATION = ("tuskit_request_duration_seconds", "time from request start to the end of its answer")
RECEIVED = ("tuskit_bytes_received", "request body bytes")
SENT = ("tuskit_bytes_sent", "response body bytes")
OPEN = ("tuskit_connections_open", "requests being served right now")
UPLOADING = ("tuskit_uploads_in_progress", "requests sending upload bytes right now")


class RequestMetrics(Protocol):
    """Live gauges per request (`begin`, `finish`), counters per batch of records;
    `immediate` ones are given each record on its own, at once."""

    immediate: bool

    def begin(self, uploading: bool) -> None: ...

    def finish(self, uploading: bool) -> None: ...

    def __call__(self, records: Sequence[Record], offset: float) -> None: ...


def _method(scope: Any) -> str:
    method: str = scope["method"]
    return method if method in METHODS else "other"


class FastRequestMetrics:
    """One process: counts in dicts, exposed by `collect` (a prometheus-client collector)."""

    immediate = False

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], int] = {}
        self.histograms: dict[tuple[str, str], list[float]] = {}  # buckets..., +Inf, sum
        self.received: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self.open = 0
        self.uploading = 0
        self.pending: Batch | None = None  # the batch feeding this, flushed on a scrape

    def begin(self, uploading: bool) -> None:
        self.open += 1
        if uploading:
            self.uploading += 1

    def finish(self, uploading: bool) -> None:
        self.open -= 1
        if uploading:
            self.uploading -= 1

    def __call__(self, records: Sequence[Record], offset: float) -> None:
        counts, histograms = self.counts, self.histograms
        for _, seconds, status, received, sent, _, scope, protocol, _ in records:
            method = _method(scope)
            key = (protocol, method, status)
            counts[key] = counts.get(key, 0) + 1
            histogram = histograms.get((protocol, method))
            if histogram is None:
                histogram = histograms[(protocol, method)] = [0.0] * (len(LATENCY_BUCKETS) + 2)
            histogram[bisect_left(LATENCY_BUCKETS, seconds)] += 1
            histogram[-1] += seconds
            if received:
                self.received[protocol] = self.received.get(protocol, 0) + received
            if sent:
                self.sent[protocol] = self.sent.get(protocol, 0) + sent

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        if self.pending is not None:
            self.pending.flush()  # count the requests of the current batch too
        requests = CounterMetricFamily(*REQUESTS, labels=("protocol", "method", "status"))
        for (protocol, method, status), n in sorted(self.counts.items()):
            requests.add_metric((protocol, method, str(status)), n)
        yield requests
        duration = HistogramMetricFamily(*DURATION, labels=("protocol", "method"))
        for (protocol, method), histogram in sorted(self.histograms.items()):
            running = 0.0
            buckets: list[tuple[str, float]] = []
            for bound, hits in zip((*LATENCY_BUCKETS, float("inf")), histogram, strict=False):
                running += hits
                buckets.append((_le(bound), running))
            duration.add_metric((protocol, method), buckets, histogram[-1])
        yield duration
        for (name, doc), values in ((RECEIVED, self.received), (SENT, self.sent)):
            family = CounterMetricFamily(name, doc, labels=("protocol",))
            for protocol, n in sorted(values.items()):
                family.add_metric((protocol,), n)
            yield family
        yield GaugeMetricFamily(*OPEN, value=self.open)
        yield GaugeMetricFamily(*UPLOADING, value=self.uploading)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


class SharedRequestMetrics:
    """Several workers: prometheus-client objects (multiprocess mode sums the workers)."""

    immediate = True

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ("protocol", "method", "status")
        self.requests = Counter(*REQUESTS, labels, registry=registry)
        self.duration = Histogram(
            *DURATION, ("protocol", "method"), buckets=LATENCY_BUCKETS, registry=registry
        )
        self.received = Counter(*RECEIVED, ("protocol",), registry=registry)
        self.sent = Counter(*SENT, ("protocol",), registry=registry)
        self.open = Gauge(*OPEN, registry=registry, multiprocess_mode="livesum")
        self.uploading = Gauge(*UPLOADING, registry=registry, multiprocess_mode="livesum")
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def begin(self, uploading: bool) -> None:
        self.open.inc()
        if uploading:
            self.uploading.inc()

    def finish(self, uploading: bool) -> None:
        self.open.dec()
        if uploading:
            self.uploading.dec()

    def __call__(self, records: Sequence[Record], offset: float) -> None:
        for _, seconds, status, received, sent, _, scope, protocol, _ in records:
            method = _method(scope)
            self._child(self.requests, protocol, method, str(status)).inc()
            self._child(self.duration, protocol, method).observe(seconds)
            if received:
                self._child(self.received, protocol).inc(received)
            if sent:
                self._child(self.sent, protocol).inc(sent)
