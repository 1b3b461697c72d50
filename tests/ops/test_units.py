"""Small parts on their own: hook answers, payloads, redaction, proxy addresses, relay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tuskit.persist.model import UploadInfo
from tuskit.persist.outbox_sqlite import SqliteOutbox
from tuskit.persist.protocols import OutboxEntry
from tuskit.upload.engine import RequestContext
from tuskit.upload.hooks.payload import canonical, hook_request
from tuskit.upload.hooks.relay import Relay
from tuskit.upload.hooks.response import HookFailed, parse_response
from tuskit.upload.observe.address import forwarded_for
from tuskit.upload.observe.redact import redact_url


@pytest.mark.parametrize(
    "answer",
    [
        [],
        {"RejectUpload": "yes"},
        {"HTTPResponse": {"StatusCode": 99}},
        {"HTTPResponse": {"Body": 5}},
        {"HTTPResponse": {"Header": {"X": 1}}},
        {"ChangeFileInfo": {"MetaData": {"a": 1}}},
        {"ChangeFileInfo": {"ID": 7}},
    ],
)
def test_malformed_answers_fail(answer: Any) -> None:
    with pytest.raises(HookFailed):
        parse_response(answer)


def test_tusd_answer_parsed() -> None:
    r = parse_response(
        {
            "HTTPResponse": {
                "StatusCode": 418,
                "Body": "no",
                "Header": {"X-A": "1", "X-B": ["2", "3"]},
            },
            "RejectUpload": True,
            "ChangeFileInfo": {"ID": "abc", "MetaData": {"k": "v"}},
        }
    )
    assert (r.http.status, r.http.body, r.reject_upload) == (418, "no", True)
    assert r.http.headers == (("X-A", "1"), ("X-B", "2"), ("X-B", "3"))
    assert (r.change.id, r.change.metadata, r.change.storage) == ("abc", {"k": "v"}, None)
    assert parse_response(None) == parse_response({})


def test_payload_leaves_credentials_out_of_stored_events() -> None:
    scope = {
        "method": "PATCH", "path": "/files/x", "raw_path": b"/files/x", "query_string": b"",
        "client": ("10.1.2.3", 5555),
        "headers": [(b"authorization", b"Bearer t"), (b"cookie", b"c"), (b"upload-offset", b"0")],
    }  # fmt: skip
    request = RequestContext("tus", scope)
    info = UploadInfo(id="x", length=None, metadata=(("a", "b"),))
    stored = hook_request("post-create", info, request, at=0.0, credentials=False)
    live = hook_request("pre-create", info, request, at=0.0, credentials=True)
    assert stored["Event"]["HTTPRequest"]["Header"] == {"Upload-Offset": ["0"]}
    assert live["Event"]["HTTPRequest"]["Header"]["Authorization"] == ["Bearer t"]
    assert stored["Event"]["Upload"]["SizeIsDeferred"] is True
    assert stored["Time"] == "1970-01-01T00:00:00+00:00"
    assert canonical("x-forwarded-for") == "X-Forwarded-For"


def test_redact_url() -> None:
    assert redact_url("amqp://u:p@host:5672/vh?x=1") == "amqp://host:5672/vh"
    assert redact_url("redis://:secret@[::1]:6379/0") == "redis://[::1]:6379/0"


def test_forwarded_for() -> None:
    assert (
        forwarded_for([(b"forwarded", b'for="[2001:db8::1]:99";proto=https, for=1.1.1.1')])
        == "2001:db8::1"
    )
    assert forwarded_for([(b"x-forwarded-for", b"203.0.113.5, 10.0.0.1")]) == "203.0.113.5"
    assert forwarded_for([(b"x-forwarded-for", b"<script>")]) == ""


class FlakySink:
    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[str] = []

    async def deliver(self, entry: OutboxEntry) -> None:
        self.calls.append(entry.id)
        if len(self.calls) <= self.failures:
            raise ConnectionError("down")

    async def close(self) -> None:
        return None


@pytest.mark.anyio
async def test_relay_retries_with_backoff_until_delivered(tmp_path: Path) -> None:
    now = [1000.0]
    outbox = SqliteOutbox(tmp_path / "o.sqlite3")
    sink = FlakySink(failures=2)
    tallies: list[tuple[str, str]] = []
    relay = Relay(
        outbox, {"flaky": sink}, first_backoff=1.0, max_backoff=3.0,
        clock=lambda: now[0], tally=lambda s, o: tallies.append((s, o)),
    )  # fmt: skip
    await outbox.add([OutboxEntry("e1", "flaky", "u", "{}")], now[0])
    assert await relay.pump() == 0  # fails: due again in ~1 s
    assert await relay.pump() == 0 and sink.calls == ["e1"]  # not due yet
    now[0] += 1.3
    assert await relay.pump() == 0  # fails again: ~2 s
    now[0] += 1.5
    assert await relay.pump() == 0 and len(sink.calls) == 2
    now[0] += 1.0
    assert await relay.pump() == 1
    assert sink.calls == ["e1", "e1", "e1"] and await outbox.depth() == 0
    assert tallies == [("flaky", "failed"), ("flaky", "failed"), ("flaky", "ok")]
    assert 0.8 * 3.0 <= relay.backoff(10) <= 1.2 * 3.0  # capped
    await outbox.close()
