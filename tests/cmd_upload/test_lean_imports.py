"""The upload server never loads FastAPI or httpx: each costs resident memory in every
worker (FastAPI ~16 MiB, measured) and neither is on its request path."""

from __future__ import annotations

import subprocess
import sys


def test_the_server_imports_neither_fastapi_nor_httpx() -> None:
    code = (
        "import sys, tuskit.upload.main, tuskit.upload.app;"
        "print(sorted(m for m in ('fastapi', 'httpx') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_make_router_still_gives_a_fastapi_router() -> None:
    from fastapi import APIRouter, FastAPI

    from tuskit.gen.http.tus.server import make_router, make_routes
    from tuskit.gen.tus.service import METHOD_NAMES

    async def unused(*args: object) -> None:
        raise AssertionError("routes are only built here, never called")

    Nothing = type("Nothing", (), dict.fromkeys(METHOD_NAMES, unused))

    router = make_router(Nothing(), base_path="/files")  # type: ignore[arg-type]
    assert isinstance(router, APIRouter)
    paths = {r.path for r in router.routes}  # type: ignore[attr-defined]
    assert paths == {r.path for r in make_routes(Nothing(), base_path="/files")}  # type: ignore[arg-type]
    FastAPI().include_router(router)
