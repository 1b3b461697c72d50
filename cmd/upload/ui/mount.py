"""The upload page as the outer app mounts it: the page at its exact path(s) and its files
under `<page>_ui/`, so the page at `/` never answers (or hides the 404 of) other paths."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence

from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from ..asgi import Mount
from ..engine import Engine
from .assets import IMMUTABLE, NO_CACHE, STATIC, UPPY, Asset, from_file, uppy_version
from .page import PageConfig, render
from .respond import send_asset, send_redirect, send_routing_error

OWN_FILES = ("upload.js", "upload.css")
UPPY_FILES = ("uppy.min.js", "uppy.min.css", "LICENSE")
Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Asgi:
    """A raw ASGI endpoint (Starlette treats plain functions as request -> response)."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._handler(scope, receive, send)


@functools.cache
def site(config: PageConfig) -> dict[str, Asset]:
    """URL path below the page -> asset; built once per process (gzip takes ~50 ms)."""
    version = uppy_version()
    found = {"": Asset.of(render(config, version), "text/html; charset=utf-8", NO_CACHE)}
    for name in OWN_FILES:
        found[f"_ui/{name}"] = from_file(STATIC / name, NO_CACHE)
    for name in UPPY_FILES:  # the version is in the URL: cache for a year
        found[f"_ui/uppy-{version}/{name}"] = from_file(UPPY / name, IMMUTABLE)
    return found


def _serve(asset: Asset) -> _Asgi:
    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        await send_asset(scope, send, asset)

    return _Asgi(handler)


def mount(
    *,
    path: str = "/",
    tus_path: str | None = "/files/",
    ietf_path: str | None = "/uploads/",
    max_size: int | None = None,
) -> Mount:
    """The page at `path` (one slash each side), uploading to `tus_path` / `ietf_path`
    (None: not served)."""
    config = PageConfig(path, tus_path, ietf_path, max_size)
    exact = (path,) if path == "/" else (path, path.rstrip("/"))

    def bind(engine: Engine) -> Sequence[BaseRoute]:
        routes: list[BaseRoute] = [
            Route(path + below, _serve(asset), methods=["GET", "HEAD"])
            for below, asset in site(config).items()
        ]
        if path != "/":  # /app -> app/, so the page's relative URLs resolve below it
            last = path.rstrip("/").rsplit("/", 1)[-1] + "/"

            async def redirect(scope: Scope, receive: Receive, send: Send) -> None:
                await send_redirect(scope, send, last)

            routes.append(Route(path.rstrip("/"), _Asgi(redirect), methods=["GET", "HEAD"]))
        return routes

    return Mount(
        name="ui",
        path=path + "_ui",
        exact=exact,
        bind=bind,
        routing_error=send_routing_error,
        shown=path,
        redirect_slashes=False,  # `/_ui/upload.js/` is a 404 with the page's headers
    )
