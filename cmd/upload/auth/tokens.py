"""Checking bearer tokens with PyJWT: an HS256 secret and/or the keys of a JWKS file.

Verified tokens are remembered (up to 4,096, until their `exp`), so a client sending the
same token on every PATCH and HEAD pays for one signature check, not one per request.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jwt

ASYMMETRIC = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
_MEMORY = 4096


class InvalidToken(Exception):
    """Missing, malformed, expired or wrongly signed; the message is safe to log (it
    never contains the token)."""


def load_jwks(path: str | Path) -> jwt.PyJWKSet:
    """The key set in `path`; ValueError with a one-line reason if unusable."""
    try:
        text = Path(path).read_text()
        return jwt.PyJWKSet.from_json(text)
    except (OSError, ValueError, jwt.PyJWTError) as exc:
        raise ValueError(f"cannot use JWKS file {path}: {exc}") from None


class TokenVerifier:
    """Decodes a token into its claims, or raises InvalidToken."""

    def __init__(
        self,
        *,
        secret: str = "",
        jwks: jwt.PyJWKSet | None = None,
        audience: str = "",
        issuer: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret and jwks is None:
            raise ValueError("a token verifier needs a secret or a JWKS")
        self.secret = secret
        self.jwks = jwks
        self.audience = audience or None
        self.issuer = issuer or None
        self.clock = clock
        self._known: OrderedDict[str, tuple[dict[str, Any], float]] = OrderedDict()

    def claims(self, token: str) -> dict[str, Any]:
        known = self._known.get(token)
        if known is not None and known[1] > self.clock():
            return known[0]
        claims = self._decode(token)
        exp = claims.get("exp")
        until = float(exp) if isinstance(exp, int | float) else self.clock() + 300
        self._known[token] = (claims, until)
        if len(self._known) > _MEMORY:
            self._known.popitem(last=False)
        return claims

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            key, algorithms = self._key(header)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.audience,
                issuer=self.issuer,
                # `aud` is checked when an audience is configured (then it is required).
                options={
                    "require": ["aud"] if self.audience else [],
                    "verify_aud": self.audience is not None,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"{type(exc).__name__}: {exc}") from None
        return claims

    def _key(self, header: dict[str, Any]) -> tuple[Any, Sequence[str]]:
        alg = str(header.get("alg", ""))
        if alg == "HS256" and self.secret:
            return self.secret, ["HS256"]
        if self.jwks is None or alg not in ASYMMETRIC:
            raise InvalidToken(f"tokens signed with {alg!r} are not accepted")
        kid = header.get("kid")
        keys = [k for k in self.jwks.keys if kid is None or k.key_id == kid]
        if len(keys) != 1:
            raise InvalidToken("no single key in the JWKS matches the token's kid")
        return keys[0].key, [alg]


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
