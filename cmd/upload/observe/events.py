"""Upload counters from the engine's events: created, finished, terminated, expired."""

from __future__ import annotations

from ..engine import EventType, UploadEvent
from .metrics import Metrics

_COUNTED = {
    EventType.CREATED: "created",
    EventType.FINISHED: "finished",
    EventType.TERMINATED: "terminated",
    EventType.EXPIRED: "expired",
}


class UploadCounter:
    """Engine listener: one increment per counted event, labelled by protocol."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def __call__(self, event: UploadEvent) -> None:
        name = _COUNTED.get(event.type)
        if name is None:
            return
        protocol = event.request.protocol if event.request is not None else ""
        self.metrics.child(self.metrics.uploads[name], protocol).inc()
