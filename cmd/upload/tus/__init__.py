"""The tus 1.0.0 adapter: the generated tus `Service` implemented on the upload engine."""

from __future__ import annotations

from .mount import mount
from .service import OFFSET_STREAM, TUS_VERSION, TusOptions, TusService

__all__ = ["OFFSET_STREAM", "TUS_VERSION", "TusOptions", "TusService", "mount"]
