"""The HTTP stream store (seed 002) and its FIFO queues, on the upload engine."""

from __future__ import annotations

from .mount import mount
from .service import StreamsOptions, StreamsService

__all__ = ["StreamsOptions", "StreamsService", "mount"]
