"""HTTP/1.1 request trailers for ASGI, so checksum-trailer can work under uvicorn.

ASGI has no request-trailer event. uvicorn's httptools parser reports trailer fields
through the same header callback after the headers are complete; this protocol
keeps them apart and puts them in `scope["extensions"]["http.request.trailers"]`
before the body's last message, where `tusgen.runtime.BodyStream` reads them.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

TRAILERS_KEY = "http.request.trailers"


class TrailerHttpToolsProtocol(HttpToolsProtocol):
    _headers_done = False

    def on_message_begin(self) -> None:
        self._headers_done = False
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._headers_done = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._headers_done:
            super().on_header(name, value)
            return
        extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
        trailers: list[tuple[bytes, bytes]] = extensions.setdefault(TRAILERS_KEY, [])
        trailers.append((name.lower(), value))
