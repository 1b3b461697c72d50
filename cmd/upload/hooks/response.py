"""A hook's answer, parsed from tusd's response JSON; anything malformed is a failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .payload import JSON


class HookFailed(Exception):
    """The hook could not be asked or gave no usable answer (the client gets 503)."""


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """`HTTPResponse`: what the client gets when the hook rejects."""

    status: int = 0
    body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class FileInfoChanges:
    """`ChangeFileInfo` of a pre-create answer."""

    id: str | None = None
    metadata: dict[str, str] | None = None
    storage: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class HookResponse:
    http: HttpAnswer = field(default_factory=HttpAnswer)
    reject_upload: bool = False
    reject_termination: bool = False
    reject_access: bool = False
    change: FileInfoChanges = field(default_factory=FileInfoChanges)
    stop_upload: bool = False


ALLOW = HookResponse()


def _strings(value: Any, what: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise HookFailed(f"{what} must be an object of strings")
    return dict(value)


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise HookFailed("HTTPResponse.Header must be an object")
    pairs: list[tuple[str, str]] = []
    for name, v in value.items():
        values = v if isinstance(v, list) else [v]
        if not isinstance(name, str) or not all(isinstance(x, str) for x in values):
            raise HookFailed("HTTPResponse.Header values must be strings")
        pairs += [(name, x) for x in values]
    return tuple(pairs)


def _flag(data: JSON, key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise HookFailed(f"{key} must be true or false")
    return value


def parse_response(data: Any) -> HookResponse:
    """A tusd hook response (missing fields are defaults); HookFailed if malformed."""
    if data is None:
        return ALLOW
    if not isinstance(data, dict):
        raise HookFailed("the hook response is not a JSON object")
    http = data.get("HTTPResponse") or {}
    change = data.get("ChangeFileInfo") or {}
    if not isinstance(http, dict) or not isinstance(change, dict):
        raise HookFailed("HTTPResponse and ChangeFileInfo must be objects")
    status = http.get("StatusCode", 0) or 0
    body = http.get("Body")
    if not isinstance(status, int) or not (status == 0 or 100 <= status <= 599):
        raise HookFailed("HTTPResponse.StatusCode must be an HTTP status")
    if body is not None and not isinstance(body, str):
        raise HookFailed("HTTPResponse.Body must be a string")
    new_id = change.get("ID") or None
    if new_id is not None and not isinstance(new_id, str):
        raise HookFailed("ChangeFileInfo.ID must be a string")
    return HookResponse(
        http=HttpAnswer(status, body, _headers(http.get("Header"))),
        reject_upload=_flag(data, "RejectUpload"),
        reject_termination=_flag(data, "RejectTermination"),
        reject_access=_flag(data, "RejectAccess"),
        change=FileInfoChanges(
            new_id,
            _strings(change.get("MetaData"), "ChangeFileInfo.MetaData"),
            _strings(change.get("Storage"), "ChangeFileInfo.Storage"),
        ),
        stop_upload=_flag(data, "StopUpload"),
    )
