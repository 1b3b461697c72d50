"""The session service as the outer app mounts it: generated routes, CORS, error format."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from tuskit.gen.http.cors import cors_middleware
from tuskit.gen.http.sessions.server import make_routes, send_routing_error

from ..asgi import Mount
from ..engine import Engine
from ..engine.assembly import AssemblyOptions
from .service import SessionOptions, SessionService


def mount(
    *,
    path: str = "/attachment",
    behind_proxy: bool = False,
    cors_origins: Sequence[str] = ("*",),
    chunk_size: int = 8 * 1024 * 1024,
    expire_after: float = 24 * 3600.0,
) -> Mount:
    """Sessions under `path` (no trailing slash)."""
    options = SessionOptions(base_path=path + "/", behind_proxy=behind_proxy)
    assembly = AssemblyOptions(part_size=chunk_size, expire_after=expire_after)

    def bind(engine: Engine) -> Sequence[BaseRoute]:
        service = SessionService(engine, engine.assemblies(assembly), options)
        return make_routes(service, base_path=path)

    return Mount(
        name="sessions",
        path=path,
        bind=bind,
        routing_error=send_routing_error,
        cors=cors_middleware(list(cors_origins)),
    )
