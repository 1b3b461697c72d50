"""The resumable-uploads (IETF draft) service as the outer app mounts it."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from tuskit.gen.http.cors import cors_middleware
from tuskit.gen.http.ietf.server import make_routes, send_routing_error

from ..asgi import Mount
from ..engine import Engine
from .service import IetfOptions, IetfService


def mount(
    *,
    path: str = "/uploads",
    behind_proxy: bool = False,
    cors_origins: Sequence[str] = ("*",),
    progress_interval: float = 2.0,
) -> Mount:
    """The draft's uploads under `path` (no trailing slash)."""
    options = IetfOptions(
        base_path=path + "/", behind_proxy=behind_proxy, progress_interval=progress_interval
    )

    def bind(engine: Engine) -> Sequence[BaseRoute]:
        return make_routes(IetfService(engine, options), base_path=path)

    return Mount(
        name="ietf",
        path=path,
        bind=bind,
        routing_error=send_routing_error,
        cors=cors_middleware(list(cors_origins)),
    )
