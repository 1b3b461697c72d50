"""Adding one method and one header to a design shows up in every generated layer."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import load_fixture

from tusgen.render import generate


def test_new_method_and_header_appear_everywhere(tmp_path: Path) -> None:
    tiny = load_fixture("tiny")
    base, extra = tmp_path / "base", tmp_path / "extra"
    generate(tiny.build(), base)
    generate(tiny.build(extra=True), extra)

    def read(root: Path, rel: str) -> str:
        return (root / rel).read_text()

    service = read(extra, "items/service.py")
    assert "async def remove(self, payload: RemovePayload) -> RemoveResult:" in service
    assert "x_trace: str | None = None" in service
    assert "remove" not in read(base, "items/service.py")

    server = read(extra, "http/items/server.py")
    assert "def decode_remove(scope: Scope) -> RemovePayload:" in server
    assert '== b"x-trace"' in server or '_h.get(b"x-trace")' in server
    assert '"DELETE": remove' in server

    doc = json.loads(read(extra, "http/openapi.json"))
    op = doc["paths"]["/items/{id}"]
    assert op["delete"]["operationId"] == "items.remove"
    assert "X-Trace" in [p["name"] for p in op["get"]["parameters"]]

    client = read(extra, "http/items/client.py")
    assert "async def remove(self, payload: RemovePayload) -> RemoveResult:" in client
    assert '_headers["X-Trace"] = payload.x_trace' in client
