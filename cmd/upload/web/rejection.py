"""A `pre-*` decision's refusal (a hook, the auth gate) as a generated service error.

The decision chose the status, headers and body; what the body becomes depends on the
protocol's error format, so each adapter subclasses this and says only that.
"""

from __future__ import annotations

from tusgen.runtime import ServiceError

from ..engine import errors as engine


class Rejection(ServiceError):
    code = "rejected"

    def __init__(self, exc: engine.Rejected, message: str | None = None) -> None:
        super().__init__(exc.message if message is None else message)
        self.status = exc.status  # type: ignore[misc]  # per instance, unlike design errors
        self.body = exc.body
        self._headers = list(exc.headers)

    def header_items(self) -> list[tuple[str, str]]:
        return self._headers
