"""The lean CORS middleware generated `cors_middleware()` factories configure."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .server import send_body

_SAFELISTED_HEADERS = ("Accept", "Accept-Language", "Content-Language", "Content-Type")
_PREFLIGHT_VARY = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
    "Access-Control-Request-Private-Network"
)


class CorsMiddleware:
    """A lean CORS policy (what Starlette's CORSMiddleware does, without its per-request
    cost): requests without an `Origin` header pass through untouched; a preflight
    (OPTIONS + Origin + Access-Control-Request-Method) is answered here, 200 or 400 for
    a disallowed origin, method or header; other requests from an allowed origin get
    Access-Control-Allow-Origin (`*` when every origin is allowed and no credentials),
    the exposed headers and, when origins are restricted, `Vary: Origin`. Disallowed
    origins get no CORS headers.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allow_origins: Iterable[str] = (),
        allow_methods: Iterable[str] = ("GET",),
        allow_headers: Iterable[str] = (),
        expose_headers: Iterable[str] = (),
        max_age: int = 600,
        allow_credentials: bool = False,
    ) -> None:
        self.app = app
        origins = list(allow_origins)
        self._all_origins = "*" in origins
        self._origins = frozenset(o.encode("latin-1") for o in origins if o != "*")
        self._methods = frozenset(m.upper() for m in allow_methods)
        allowed = sorted({*_SAFELISTED_HEADERS, *allow_headers})
        self._headers = frozenset(h.lower() for h in allowed)
        self._explicit = not self._all_origins or allow_credentials
        self._vary = not self._all_origins
        simple: list[tuple[bytes, bytes]] = []
        if not self._explicit:
            simple.append((b"access-control-allow-origin", b"*"))
        if allow_credentials:
            simple.append((b"access-control-allow-credentials", b"true"))
        expose = list(expose_headers)
        if expose:
            simple.append((b"access-control-expose-headers", ", ".join(expose).encode("latin-1")))
        self._simple = tuple(simple)
        preflight: list[tuple[bytes, bytes]] = [(b"vary", _PREFLIGHT_VARY.encode("latin-1"))]
        if not self._explicit:
            preflight.append((b"access-control-allow-origin", b"*"))
        preflight.append(
            (b"access-control-allow-methods", ", ".join(allow_methods).encode("latin-1"))
        )
        preflight.append((b"access-control-max-age", str(max_age).encode("latin-1")))
        preflight.append((b"access-control-allow-headers", ", ".join(allowed).encode("latin-1")))
        if allow_credentials:
            preflight.append((b"access-control-allow-credentials", b"true"))
        self._preflight = tuple(preflight)

    def allowed(self, origin: bytes) -> bool:
        return self._all_origins or origin in self._origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin: bytes | None = None
        request_method: bytes | None = None
        request_headers: bytes | None = None
        for key, value in scope["headers"]:
            if key == b"origin":
                origin = value
            elif key == b"access-control-request-method":
                request_method = value
            elif key == b"access-control-request-headers":
                request_headers = value
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and request_method is not None:
            await self._answer_preflight(send, origin, request_method, request_headers)
            return
        if not self.allowed(origin):
            if self._vary:
                await self.app(scope, receive, _vary_sender(send, []))
            else:
                await self.app(scope, receive, send)
            return
        extra = list(self._simple)
        if self._explicit:
            extra.append((b"access-control-allow-origin", origin))
        wrapped = _vary_sender(send, extra) if self._vary else _adder(send, extra)
        await self.app(scope, receive, wrapped)

    async def _answer_preflight(
        self, send: Send, origin: bytes, method: bytes, requested: bytes | None
    ) -> None:
        headers = list(self._preflight)
        failures: list[str] = []
        if self.allowed(origin):
            if self._explicit:
                headers.append((b"access-control-allow-origin", origin))
        else:
            failures.append("origin")
        if method.decode("latin-1") not in self._methods:
            failures.append("method")
        if requested is not None:
            for name in requested.decode("latin-1").lower().split(","):
                if name.strip() not in self._headers:
                    failures.append("headers")
                    break
        status, text = (400, "Disallowed CORS " + ", ".join(failures)) if failures else (200, "OK")
        headers.append((b"content-type", b"text/plain; charset=utf-8"))
        await send_body(send, status, headers, text.encode(), False)


def _adder(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    return wrapped


def _vary_sender(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = []
            vary = b"Origin"
            for key, value in message.get("headers", ()):
                if key.lower() == b"vary":
                    vary = value + b", Origin"
                else:
                    headers.append((key, value))
            headers += extra
            headers.append((b"vary", vary))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped
