"""One record per request, consumed in batches by the metrics and the request log.

A request costs a tuple and a list append; every 0.2 s (or 256 requests, or a scrape)
the batch is counted into the metrics and formatted into log lines. Per-request method
calls, lookups and string formatting were most of the wrapper's cost on a HEAD.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

FLUSH_EVERY = 0.2
FLUSH_RECORDS = 256

Record = tuple[float, float, int, int, int, str, Any, str, str]
"""(done: perf_counter, seconds, status, bytes in, bytes out, Location, scope, protocol,
mount prefix)"""

Consumer = Callable[[Sequence[Record], float], None]
"""(records, wall-clock offset: add to a perf_counter value to get time.time())."""


class Batch:
    def __init__(self, consumers: Sequence[Consumer]) -> None:
        self.consumers = tuple(consumers)
        self.records: list[Record] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, record: Record) -> None:
        records = self.records
        records.append(record)
        if len(records) >= FLUSH_RECORDS:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_EVERY, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.records:
            return
        records, self.records = self.records, []
        offset = time.time() - time.perf_counter()
        for consume in self.consumers:
            consume(records, offset)
