"""A server shutting down ends its long-polls at once with 503 (retry elsewhere), instead
of holding the shutdown for up to a minute."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx

from tests.servers import UploadServer


def test_a_long_poll_is_answered_503_when_the_server_stops(tmp_path: Path) -> None:
    server = UploadServer(tmp_path / "data", ["--shutdown-timeout", "20s"])
    server.data_dir.mkdir(parents=True)
    server.start()
    answers: list[httpx.Response] = []
    try:
        url = f"http://127.0.0.1:{server.port}/v1/queues/idle/first"
        poll = threading.Thread(
            target=lambda: answers.append(httpx.get(url, params={"wait": 60}, timeout=30))
        )
        poll.start()
        time.sleep(1.0)
        assert server.proc is not None
        stopped = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        poll.join(timeout=25)
        assert server.proc.wait(timeout=25) == 0
        assert time.monotonic() - stopped < 5.0
    finally:
        server.stop()
    assert answers and answers[0].status_code == 503
    assert answers[0].json()["error"]["code"] == "unavailable"
    assert answers[0].headers["retry-after"] == "1"
