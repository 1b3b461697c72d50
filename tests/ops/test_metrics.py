"""`/metrics` scraped before and after a known workload shows the exact deltas, with one
worker and with two (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import UploadServer

from .conftest import MakeServer
from .helpers import TUS, upload

pytestmark = [pytest.mark.timeout(120)]

Key = tuple[str, tuple[tuple[str, str], ...]]


def scrape(server: UploadServer) -> dict[Key, float]:
    response = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[Key, float] = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def delta(before: dict[Key, float], after: dict[Key, float], name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


@pytest.mark.parametrize("workers", [1, 2])
def test_exact_deltas(make_server: MakeServer, workers: int) -> None:
    server = make_server("--workers", str(workers))
    before = scrape(server)
    urls = [upload(server.url, bytes([n]) * 1000) for n in range(3)]
    for _ in range(5):
        assert httpx.head(urls[0], headers=TUS).status_code == 200
    assert httpx.head(server.url + "nope", headers=TUS).status_code == 404
    assert len(httpx.get(urls[1]).content) == 1000
    assert httpx.delete(urls[2], headers=TUS).status_code == 204
    after = scrape(server)

    def requests(method: str, status: str) -> float:
        return delta(
            before, after, "tuskit_requests_total", protocol="tus", method=method, status=status
        )

    assert requests("POST", "201") == 3
    assert requests("PATCH", "204") == 3
    assert requests("HEAD", "200") == 5
    assert requests("HEAD", "404") == 1
    assert requests("GET", "200") == 1
    assert requests("DELETE", "204") == 1
    count = "tuskit_request_duration_seconds_count"
    assert delta(before, after, count, protocol="tus", method="HEAD") == 6
    assert delta(before, after, "tuskit_bytes_received_total", protocol="tus") == 3000
    assert delta(before, after, "tuskit_bytes_sent_total", protocol="tus") == 1000
    for event, n in (("created", 3), ("finished", 3), ("terminated", 1), ("expired", 0)):
        assert delta(before, after, f"tuskit_uploads_{event}_total", protocol="tus") == n, event
    assert delta(before, after, "tuskit_lock_wait_seconds_count") == 4  # 3 PATCH + 1 DELETE
    assert delta(before, after, "tuskit_lock_timeouts_total") == 0
    assert after[("tuskit_connections_open", ())] == 0
    assert after[("tuskit_uploads_in_progress", ())] == 0
    assert not any(name.startswith("tuskit_requests") and dict(labels).get("protocol") == "metrics"
                   for name, labels in after)  # fmt: skip
