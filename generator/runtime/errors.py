"""Errors every generated service shares: the base class, the 400 problem list, and what a
generated client raises for an answer its design does not declare."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

_E = TypeVar("_E", bound="ServiceError")


class Problem(NamedTuple):
    """One invalid request value: where (`header`, `path`, `trailer`, `body`), name, why."""

    where: str
    name: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"in": self.where, "name": self.name, "message": self.message}


class ServiceError(Exception):
    """Base of every generated error: a status, a code and headers the router writes."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"
    problem_type: ClassVar[str] = "about:blank"
    """RFC 9457 `type` (the `problem` error format)."""
    title: ClassVar[str] = ""
    """RFC 9457 `title`; empty: the status's reason phrase."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[Problem, ...] = ()

    def header_items(self) -> list[tuple[str, str]]:
        """The error's declared headers that have a value, as (name, value) pairs."""
        return []

    def body_members(self) -> dict[str, Any]:
        """The error's declared JSON body members (by JSON name) that have a value."""
        return {}

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.problems:
            body["errors"] = [p.to_json() for p in self.problems]
        return body

    @classmethod
    def from_response(
        cls: type[_E],
        message: str,
        headers: Mapping[str, str],
        members: Mapping[str, Any] | None = None,
    ) -> _E:
        """Rebuild the error from a response's message, headers and JSON body members
        (used by generated clients)."""
        return cls(message)


class BadRequest(ServiceError):
    """The 400 answer listing every problem, when a design declares no 400 error."""

    status = 400
    code = "bad_request"


class UnsupportedMediaType(ServiceError):
    """415 for a JSON request body sent without a JSON `Content-Type`, when the method
    declares no 415 error."""

    status = 415
    code = "unsupported_media_type"


class UnexpectedResponse(Exception):
    """A generated client got a status or body its design does not declare."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        super().__init__(f"unexpected response: HTTP {status}: {body[:200]!r}")
        self.status = status
        self.headers = dict(headers)
        self.body = body


def with_problems(exc: _E, problems: Iterable[tuple[str, str, str]]) -> _E:
    """Attach the problem list to a 400 error; its message sums them up."""
    exc.problems = tuple(Problem(*p) for p in problems)
    exc.message = "; ".join(f"{p.name} {p.message}" for p in exc.problems) or exc.message
    exc.args = (exc.message,)
    return exc


def jsonable(value: Any) -> Any:
    """A typed error member as JSON data (models by alias, lists item by item)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def json_problems(exc: ValidationError) -> list[tuple[str, str, str]]:
    """Pydantic's validation errors of a JSON body as (in, name, message) problems."""
    problems = []
    for err in exc.errors(include_url=False):
        name = ".".join(str(part) for part in err.get("loc", ())) or "body"
        problems.append(("body", name, str(err.get("msg", "invalid"))))
    return problems
