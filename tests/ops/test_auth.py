"""JWT helpers on a real server: a bearer token is needed to create, and only the
creator (the token's `sub`) may HEAD, PATCH, GET or DELETE the upload or join it into a
final; HS256 secrets and RS256 keys from a JWKS file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from .conftest import MakeServer
from .helpers import TUS, create, patch

pytestmark = [pytest.mark.timeout(120)]

SECRET = "hs256-test-secret-0123456789abcdef0123"


def hs256(sub: str, **claims: object) -> dict[str, str]:
    token = jwt.encode({"sub": sub, "exp": int(time.time()) + 600, **claims}, SECRET, "HS256")
    return {"Authorization": f"Bearer {token}"}


def test_only_the_creator_uses_an_upload(make_server: MakeServer) -> None:
    server = make_server(UPLOAD_AUTH_JWT_SECRET=SECRET)
    alice, bob = hs256("alice"), hs256("bob")

    anonymous = create(server.url, 6)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    forged = jwt.encode({"sub": "alice"}, "another-secret-of-sufficient-length!", "HS256")
    assert create(server.url, 6, {"Authorization": f"Bearer {forged}"}).status_code == 401
    expired = hs256("alice", exp=int(time.time()) - 10)
    assert create(server.url, 6, expired).status_code == 401

    created = create(server.url, 6, alice, owner="bob")  # a client cannot name the owner
    assert created.status_code == 201
    url = created.headers["Location"]
    for response in (
        httpx.head(url, headers={**TUS, **bob}),
        patch(url, 0, b"abc", bob),
        httpx.get(url, headers=bob),
        httpx.delete(url, headers={**TUS, **bob}),
    ):
        assert response.status_code == 403, response.request.method
    assert httpx.head(url, headers=TUS).status_code == 401
    assert patch(url, 0, b"abcdef", alice).status_code == 204
    head = httpx.head(url, headers={**TUS, **alice})
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "6"
    assert "owner YWxpY2U=" in head.headers["Upload-Metadata"]  # base64("alice")
    assert httpx.get(url, headers=alice).content == b"abcdef"

    partial = httpx.post(
        server.url, headers={**TUS, **alice, "Upload-Length": "1", "Upload-Concat": "partial"}
    ).headers["Location"]
    final = {"Upload-Concat": f"final;{partial}"}
    assert httpx.post(server.url, headers={**TUS, **bob, **final}).status_code == 403
    assert httpx.post(server.url, headers={**TUS, **alice, **final}).status_code == 201
    assert httpx.delete(url, headers={**TUS, **alice}).status_code == 204


def test_rs256_keys_from_a_jwks_file(make_server: MakeServer, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    server = make_server("--auth-jwt-jwks", str(jwks), "--auth-jwt-audience", "uploads")

    def token(**claims: object) -> dict[str, str]:
        body = {"sub": "carol", "aud": "uploads", "exp": int(time.time()) + 600, **claims}
        signed = jwt.encode(body, key, "RS256", headers={"kid": "k1"})
        return {"Authorization": f"Bearer {signed}"}

    created = create(server.url, 3, token())
    assert created.status_code == 201
    url = created.headers["Location"]
    assert patch(url, 0, b"abc", token()).status_code == 204
    assert create(server.url, 3, token(aud="elsewhere")).status_code == 401
    assert create(server.url, 3, hs256("carol")).status_code == 401  # no secret configured
