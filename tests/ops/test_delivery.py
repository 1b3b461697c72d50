"""At-least-once post-* delivery from the outbox, with real processes: a receiver that
is down for 5 s, and a server killed with -9 after the finish and before delivery, with
the outbox in each state store. The receiver gets exactly the expected events, and
every redelivery carries the same event id."""

from __future__ import annotations

import time

import pytest

from .conftest import MakeServer
from .helpers import upload
from .receiver import Receiver
from .services import state_args

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

POSTS = ("--hooks-enabled-events", "post-create,post-finish", "--outbox-max-backoff", "1s")
# With a 1 s hook timeout, entries a killed server had claimed are free again after 10 s.
FAST = ("--hooks-http-timeout", "1s")


def delivered(receiver: Receiver) -> dict[str, tuple[str, str]]:
    """EventID -> (type, upload id), duplicates folded as a receiver would."""
    return {
        h.body["EventID"]: (h.body["Type"], h.body["Event"]["Upload"]["ID"]) for h in receiver.hits
    }


def test_receiver_down_for_five_seconds(make_server: MakeServer, receiver: Receiver) -> None:
    server = make_server("--hooks-http", receiver.url, *POSTS)
    receiver.stop()
    url = upload(server.url, b"x" * 1000)  # answers at once: post-* never block a client
    upload_id = url.rsplit("/", 1)[-1]
    time.sleep(5)  # the outage under test
    assert receiver.hits == []
    receiver.start()
    receiver.wait_for("post-finish", timeout=15)
    receiver.wait_for("post-create", timeout=5)
    assert set(delivered(receiver).values()) == {
        ("post-create", upload_id),
        ("post-finish", upload_id),
    }
    assert "to http failed (attempt" in server.log()


@pytest.mark.services
@pytest.mark.parametrize("state", ["sqlite", "redis", "postgresql"])
def test_kill9_between_finish_and_delivery(
    make_server: MakeServer, receiver: Receiver, state: str, tmp_path: object
) -> None:
    with state_args(state) as args:
        first = make_server("--hooks-http", receiver.url, *POSTS, *FAST, *args)
        receiver.stop()
        urls = [upload(first.url, bytes([n]) * 100) for n in range(3)]
        first.kill9()
        assert receiver.hits == []
        receiver.start()
        second = make_server(
            "--hooks-http", receiver.url, *POSTS, *FAST, *args, data_dir=first.data_dir
        )
        receiver.wait_for("post-finish", 3, timeout=40)
        receiver.wait_for("post-create", 3, timeout=5)
        ids = {u.rsplit("/", 1)[-1] for u in urls}
        expected = {(t, i) for t in ("post-create", "post-finish") for i in ids}
        events = delivered(receiver)
        assert sorted(events.values()) == sorted(expected)
        second.stop()
