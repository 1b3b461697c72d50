"""The protocol-neutral upload engine: every adapter (tus, ...) drives this.

It imports nothing from `gen/` or the CLI: options come in as `EngineOptions`, refusals
go out as `errors.EngineError`, and what happens is reported on `events.Events`.
"""

from __future__ import annotations

from . import errors
from .context import RequestContext, current_request
from .digests import ALGORITHMS, Expected, Verification
from .events import AccessMode, Events, EventType, Gate, Listener, NewUpload, UploadEvent
from .expiry import Sweeper, SweepReport, sweep_expired
from .inflight import Inflight
from .options import EngineOptions
from .uploads import Engine

__all__ = [
    "ALGORITHMS",
    "AccessMode",
    "Engine",
    "EngineOptions",
    "EventType",
    "Events",
    "Expected",
    "Gate",
    "Inflight",
    "Listener",
    "NewUpload",
    "RequestContext",
    "SweepReport",
    "Sweeper",
    "UploadEvent",
    "Verification",
    "current_request",
    "errors",
    "sweep_expired",
]
