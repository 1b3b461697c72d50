"""Real clients of the IETF resumable-upload draft on the `/uploads/` endpoint:

- tus-js-client (Node API) with `protocol: 'ietf-draft-05'` (interop version 6): a 50 MiB
  file in 1 MiB appends, aborted halfway in one node process and resumed from its URL in
  another, verified by the sha256 of the download;
- Node's own HTTP client speaking interop version 9 (`rufh.mjs`): an optimistic creation
  sends the whole 50 MiB file in one POST, is cut halfway after the 104 named the upload,
  then asks for the offset and appends the rest.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import MakeServer
from tests.e2e.helpers import MiB, download, file_sha256, random_file, sha256
from tests.e2e.test_tus_js import run_node

SIZE = 50 * MiB
IETF9 = {"Upload-Draft-Interop-Version": "9"}
pytestmark = [pytest.mark.slow, pytest.mark.services, pytest.mark.timeout(150)]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return random_file(tmp_path_factory.mktemp("ietf-js") / "source.bin", SIZE, seed=12)


def ietf_offset(url: str) -> int:
    import httpx

    response = httpx.head(url, headers={"Upload-Draft-Interop-Version": "6"}, timeout=10)
    assert response.status_code == 204, response.status_code
    return int(response.headers["Upload-Offset"])


def test_tus_js_client_ietf_draft_05_abort_and_resume(
    tus_js: Path, make_server: MakeServer, source: Path
) -> None:
    server = make_server()
    endpoint = f"http://127.0.0.1:{server.port}/uploads/"
    common = {"endpoint": endpoint, "file": str(source), "protocol": "ietf-draft-05"}
    first = run_node(tus_js, **common, abortAfterBytes=SIZE // 2)
    assert first["event"] == "aborted"
    url = first["url"]
    assert url and url.startswith(endpoint), first
    stored = ietf_offset(url)
    assert 0 < stored < SIZE, f"after the abort the server holds {stored} of {SIZE} bytes"

    second = run_node(tus_js, **common, resumeUrl=url)
    assert second["event"] == "success", second
    assert second["url"] == url
    assert second["firstProgress"] is not None and second["firstProgress"] >= stored, second
    assert ietf_offset(url) == SIZE
    body = download(url)
    assert len(body) == SIZE and sha256(body) == file_sha256(source)


def run_rufh(js_dir: Path, **options: Any) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(js_dir / "rufh.mjs"), json.dumps(options)],
        cwd=js_dir, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"node printed no result (exit {done.returncode}): {done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert done.returncode == 0, result.get("message", result)
    return result


def test_interop_9_optimistic_creation_cut_after_the_104_and_resumed(
    tus_js: Path, make_server: MakeServer, source: Path
) -> None:
    server = make_server()
    endpoint = f"http://127.0.0.1:{server.port}/uploads/"
    result = run_rufh(tus_js, endpoint=endpoint, file=str(source), abortAfterBytes=SIZE // 2)
    first = result["interim"][0]
    assert first["status"] == 104
    assert first["headers"]["location"] == result["url"]
    assert result["offsetAfterAbort"] == SIZE // 2  # every byte sent before the cut was kept
    assert (result["status"], result["complete"]) == (201, "?1")
    body = download(result["url"])
    assert len(body) == SIZE and sha256(body) == file_sha256(source)
