"""A pre-create rejection reaches real clients' error callbacks with the hook's status
and body (tus-js-client under node, tuspy), and a Python hook sees each event once and
changes metadata."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from tusclient import client
from tusclient.exceptions import TusCommunicationError

from tests.e2e.conftest import tus_js  # noqa: F401  (fixture: installs tus-js-client)
from tests.servers import wait_until

from .conftest import MakeServer
from .helpers import TUS, upload
from .receiver import Receiver

pytestmark = [pytest.mark.timeout(180)]

REJECT = {"StatusCode": 403, "Body": '{"error":"quota exceeded"}'}


def _reject(body: dict[str, object]) -> tuple[int, dict[str, object] | None]:
    if body["Type"] == "pre-create":
        return 200, {"RejectUpload": True, "HTTPResponse": REJECT}
    return 200, {}


@pytest.mark.services
def test_tus_js_client_error_callback_gets_status_and_body(
    make_server: MakeServer,
    receiver: Receiver,
    tus_js: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    receiver.answer = _reject
    server = make_server("--hooks-http", receiver.url)
    source = tmp_path / "a.bin"
    source.write_bytes(b"x" * 1000)
    script = Path(__file__).with_name("reject.mjs")
    node_script = (
        tus_js / f"reject-ops-{os.getpid()}.mjs"
    )  # next to node_modules so the import resolves
    node_script.write_text(script.read_text())
    try:
        done = subprocess.run(
            ["node", str(node_script), server.url, str(source)],
            cwd=tus_js, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        node_script.unlink()
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["event"] == "error", result
    assert result["status"] == 403
    assert json.loads(result["body"]) == {"error": "quota exceeded"}


def test_tuspy_error_gets_status_and_body(
    make_server: MakeServer, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.answer = _reject
    server = make_server("--hooks-http", receiver.url)
    source = tmp_path / "a.bin"
    source.write_bytes(b"x" * 1000)
    tus = client.TusClient(server.url)
    with source.open("rb") as stream:
        uploader = tus.uploader(file_stream=stream, chunk_size=1024 * 1024, retries=0)
        with pytest.raises(TusCommunicationError) as caught:
            uploader.upload()
    assert caught.value.status_code == 403
    assert json.loads(caught.value.response_content) == {"error": "quota exceeded"}


def test_python_hook(make_server: MakeServer, tmp_path: Path) -> None:
    log = tmp_path / "hooks.jsonl"
    server = make_server(
        "--hooks-python", "tests.ops.pyhooks:Hooks",
        "--hooks-enabled-events", "pre-create,post-create,post-finish",
        TUSKIT_TEST_HOOK_LOG=str(log),
    )  # fmt: skip
    refused = httpx.post(
        server.url,
        headers={**TUS, "Upload-Length": "3", "Upload-Metadata": "filename Zm9yYmlkZGVuLnR4dA=="},
    )
    assert refused.status_code == 422 and refused.json() == {"error": "name not allowed"}
    url = upload(server.url, b"abc", filename="ok.txt")
    upload_id = url.rsplit("/", 1)[-1]
    head = httpx.head(url, headers=TUS).headers["Upload-Metadata"]
    assert f"checked {base64.b64encode(b'yes').decode()}" in head.split(",")

    def events() -> list[dict[str, object]]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    wait_until(lambda: any(e["Type"] == "post-finish" for e in events()), 10, "post-finish")
    seen = [(e["Type"], e["Event"]["Upload"]["ID"]) for e in events()]  # type: ignore[index]
    assert seen[0][0] == "pre-create"  # the refused one
    assert sorted(seen[1:]) == sorted(
        [("pre-create", upload_id), ("post-create", upload_id), ("post-finish", upload_id)]
    )
