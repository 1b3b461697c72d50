"""tus-js-client 4.3.1 under node: a 50 MiB file in 1 MiB chunks, aborted halfway in one
node process and resumed in another, then verified byte for byte by a GET download.

Single upload: the second process resumes from the upload URL the first one printed.
`parallelUploads: 4` (concatenation): the partial URLs are only known to tus-js-client's
URL storage, so both processes share a JSON-file urlStorage and the second one resumes
with findPreviousUploads() + resumeFromPreviousUpload().
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import MakeServer
from tests.e2e.helpers import MiB, download, file_sha256, head, head_offset, random_file, sha256

SIZE = 50 * MiB
pytestmark = [pytest.mark.slow, pytest.mark.services, pytest.mark.timeout(150)]


def run_node(js_dir: Path, **options: Any) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(js_dir / "upload.mjs"), json.dumps(options)],
        cwd=js_dir, capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"node printed no result (exit {done.returncode}): {done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert done.returncode == 0 and result["event"] != "error", result.get("message", result)
    return result


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return random_file(tmp_path_factory.mktemp("js") / "source.bin", SIZE, seed=50)


def test_single_upload_abort_and_resume(
    tus_js: Path, make_server: MakeServer, source: Path
) -> None:
    server = make_server()
    first = run_node(tus_js, endpoint=server.url, file=str(source), abortAfterBytes=SIZE // 2)
    assert first["event"] == "aborted"
    url = first["url"]
    assert url and url.startswith(server.url), first
    stored = head_offset(url)
    assert 0 < stored < SIZE, f"after the abort the server holds {stored} of {SIZE} bytes"

    second = run_node(tus_js, endpoint=server.url, file=str(source), resumeUrl=url)
    assert second["event"] == "success"
    assert second["url"] == url
    assert second["bytesUploaded"] == SIZE
    # it really resumed: the first progress it reported was past what the server had
    assert second["firstProgress"] is not None and second["firstProgress"] >= stored, second
    assert head_offset(url) == SIZE
    body = download(url)
    assert len(body) == SIZE
    assert sha256(body) == file_sha256(source)


def test_parallel_upload_abort_and_resume(
    tus_js: Path, make_server: MakeServer, source: Path, tmp_path: Path
) -> None:
    server = make_server()
    storage = tmp_path / "tus-url-storage.json"
    common = {"endpoint": server.url, "file": str(source), "urlStorage": str(storage)}
    first = run_node(tus_js, **common, parallelUploads=4, abortAfterBytes=SIZE // 2)
    assert first["event"] == "aborted"
    entries = list(json.loads(storage.read_text()).values())
    assert len(entries) == 1, entries
    partials = entries[0]["parallelUploadUrls"]
    assert len(partials) == 4 and all(u.startswith(server.url) for u in partials), partials
    held = [head_offset(u) for u in partials]
    assert 0 < sum(held) < SIZE, f"after the abort the partials hold {held}"
    for u in partials:
        assert head(u).headers.get("Upload-Concat") == "partial"

    second = run_node(tus_js, **common, parallelUploads=4, resume=True)
    assert second["event"] == "success"
    assert second["parallelUploadUrls"] == partials, "the resume created new partial uploads"
    final = second["url"]
    assert final and final not in partials
    response = head(final)
    assert response.status_code in (200, 204), response.text
    assert int(response.headers["Upload-Offset"]) == SIZE
    concat = response.headers.get("Upload-Concat", "")
    assert concat.startswith("final;"), concat
    assert [u.rsplit("/", 1)[-1] for u in concat[len("final;") :].split()] == [
        u.rsplit("/", 1)[-1] for u in partials
    ]
    body = download(final)
    assert len(body) == SIZE
    assert sha256(body) == file_sha256(source)
