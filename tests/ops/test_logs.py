"""One log line per request, text or JSON, proxy-aware, with no secret anywhere in the
captured output (tokens, the JWT secret, S3 keys, hook credentials)."""

from __future__ import annotations

import json
import time

import httpx
import jwt
import pytest

from .conftest import MakeServer
from .helpers import TUS, create, patch
from .receiver import Receiver

pytestmark = [pytest.mark.timeout(120)]

SECRET = "jwt-secret-that-must-not-leak-0123456789"
S3_ACCESS = "AKIAMUSTNOTLEAK0001"
S3_SECRET = "s3-secret-key-must-not-leak-0123456789"


def _token(sub: str) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time()) + 600}, SECRET, "HS256")


def test_json_lines_one_per_request_and_no_secrets(
    make_server: MakeServer, receiver: Receiver
) -> None:
    hook_url = receiver.url.replace("http://", "http://hookuser:hookpass-must-not-leak@")
    server = make_server(
        "--log-format", "json", "--behind-proxy", "--hooks-http", hook_url,
        "--hooks-http-forward-headers", "Authorization,Cookie",
        UPLOAD_AUTH_JWT_SECRET=SECRET, UPLOAD_S3_ACCESS_KEY=S3_ACCESS,
        UPLOAD_S3_SECRET_KEY=S3_SECRET,
    )  # fmt: skip
    token = _token("dave")
    auth = {"Authorization": f"Bearer {token}", "Cookie": "session=cookie-must-not-leak"}
    created = create(server.url, 4, {**auth, "X-Forwarded-For": "203.0.113.7, 10.0.0.1"})
    url = created.headers["Location"]
    upload_id = url.rsplit("/", 1)[-1]
    assert patch(url, 0, b"abcd", auth).status_code == 204
    assert (
        httpx.head(url + "?token=query-must-not-leak", headers={**TUS, **auth}).status_code == 200
    )
    assert (
        httpx.head(
            url, headers={**TUS, "Authorization": "Bearer bad-token-must-not-leak"}
        ).status_code
        == 401
    )
    receiver.wait_for("post-finish")
    assert all(h.headers["Authorization"].startswith("Basic ") for h in receiver.hits)
    assert server.stop() == 0
    text = server.log()
    secrets = (token, SECRET, S3_ACCESS, S3_SECRET, "hookpass-must-not-leak")
    for secret in (*secrets, "cookie-must-not-leak", "query-must-not-leak", "bad-token-must"):
        assert secret not in text, f"{secret[:12]}... leaked into the log"

    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = [x for x in lines if x["logger"] == "tuskit.access" and x["method"] != "OPTIONS"]
    assert [(a["method"], a["status"]) for a in access] == [
        ("POST", 201), ("PATCH", 204), ("HEAD", 200), ("HEAD", 401),
    ]  # fmt: skip
    first = access[0]
    assert first["remote_addr"] == "203.0.113.7"  # --behind-proxy: the client, not the proxy
    assert first["upload_id"] == upload_id and first["protocol"] == "tus"
    assert first["path"] == "/files/" and isinstance(first["duration_ms"], float)
    assert access[1]["bytes_in"] == 4 and access[1]["upload_id"] == upload_id
    assert access[2]["remote_addr"] == "127.0.0.1"
    assert all(line["level"] in ("info", "warning", "error") for line in lines)


def test_text_lines_and_no_proxy_trust_by_default(make_server: MakeServer) -> None:
    server = make_server()
    created = create(server.url, 0, {"X-Forwarded-For": "198.51.100.9"})
    upload_id = created.headers["Location"].rsplit("/", 1)[-1]
    server.stop()
    access = [
        x for x in server.log().splitlines() if " tuskit.access: " in x and "OPTIONS" not in x
    ]
    assert len(access) == 1
    assert "127.0.0.1 POST /files/ 201 in=0 out=0 " in access[0]
    assert f"id={upload_id} protocol=tus" in access[0]
    assert "198.51.100.9" not in access[0]
