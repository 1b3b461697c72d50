"""Hooks come from the engine, not from one protocol: an upload through the IETF draft
endpoint fires the same events, with `Protocol: ietf`, and `pre-access` decides there too."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ietf.conftest import Client

from .conftest import MakeServer
from .receiver import Receiver

pytestmark = [pytest.mark.timeout(120)]


def _deny_head(body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    if body["Type"] == "pre-access" and body["Event"]["HTTPRequest"]["Method"] == "HEAD":
        return 200, {"RejectAccess": True, "HTTPResponse": {"StatusCode": 403}}
    return 200, {}


def test_ietf_uploads_fire_the_same_hooks(make_server: MakeServer, receiver: Receiver) -> None:
    receiver.answer = _deny_head
    server = make_server(
        "--hooks-http", receiver.url,
        "--hooks-enabled-events", "pre-create,post-create,post-finish,pre-access",
    )  # fmt: skip
    client = Client(server)
    created = client.create(b"hello", complete=True)
    location = created.header("Location") or ""
    upload_id = location.rsplit("/", 1)[-1]
    finish = receiver.wait_for("post-finish")[0]
    assert finish["Event"]["Protocol"] == "ietf"
    assert finish["Event"]["Upload"]["ID"] == upload_id
    assert finish["Event"]["Upload"]["Offset"] == 5
    assert receiver.wait_for("post-create")[0]["Event"]["Protocol"] == "ietf"
    assert receiver.of_type("pre-create")[0]["Event"]["Protocol"] == "ietf"
    assert client.head(location).status == 403
    modes = {
        (b["Event"]["HTTPRequest"]["Method"], b["Event"]["Access"]["Mode"])
        for b in receiver.of_type("pre-access")
    }
    assert ("HEAD", "read") in modes
