"""Error body formats a service declares (`svc.error_format(...)`): how a `ServiceError`
becomes JSON, and how a generated client reads it back.

- `TUS`: `{"code", "message"}` (plus `errors` on a 400 and the error's own members);
- `ENVELOPE`: `{"status": "error", "error": {"code", "message"}}` with the error's own
  members at the top level;
- `PROBLEM`: RFC 9457 problem details, `application/problem+json`,
  `{"type", "title", "status", "detail"}` plus `code` and the error's own members.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ServiceError

_TITLES = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
}


@dataclass(frozen=True)
class ErrorFormat:
    """One error body shape; `content_type` is None to use the service's JSON media type."""

    name: str
    content_type: bytes | None = None

    def body(self, exc: ServiceError) -> dict[str, Any]:
        """The JSON object answered for `exc`."""
        problems = [p.to_json() for p in exc.problems]
        members = exc.body_members()
        if self.name == "envelope":
            error: dict[str, Any] = {"code": exc.code, "message": exc.message}
            if problems:
                error["errors"] = problems
            return {"status": "error", "error": error, **members}
        if self.name == "problem":
            body: dict[str, Any] = {
                "type": exc.problem_type,
                "title": exc.title or _TITLES.get(exc.status, exc.code),
                "status": exc.status,
                "detail": exc.message,
                "code": exc.code,
            }
            if problems:
                body["errors"] = problems
            return {**body, **members}
        return {**exc.to_json(), **members}

    def plain(self, status: int, code: str, message: str) -> dict[str, Any]:
        """An error that is no declared class (routing errors, 500)."""
        if self.name == "envelope":
            return {"status": "error", "error": {"code": code, "message": message}}
        if self.name == "problem":
            return {
                "type": "about:blank",
                "title": _TITLES.get(status, code),
                "status": status,
                "detail": message,
                "code": code,
            }
        return {"code": code, "message": message}

    def read(self, data: Any) -> tuple[str, str | None, str | None]:
        """`(message, code, problem type)` of a response body (client side)."""
        if not isinstance(data, dict):
            return "", None, None
        if self.name == "envelope":
            error = data.get("error")
            if not isinstance(error, dict):
                return "", None, None
            return str(error.get("message", "")), _str(error.get("code")), None
        if self.name == "problem":
            return str(data.get("detail", "")), _str(data.get("code")), _str(data.get("type"))
        return str(data.get("message", "")), _str(data.get("code")), None

    def problems(self, data: Any) -> list[Any]:
        """The listed problems of a 400 body (client side)."""
        if not isinstance(data, dict):
            return []
        holder = data.get("error") if self.name == "envelope" else data
        found = holder.get("errors") if isinstance(holder, dict) else None
        return found if isinstance(found, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


TUS = ErrorFormat("tus")
ENVELOPE = ErrorFormat("envelope")
PROBLEM = ErrorFormat("problem", b"application/problem+json")
