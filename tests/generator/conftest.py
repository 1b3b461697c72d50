"""Helpers for generator tests: fixture designs, generated packages, a real uvicorn server."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import uvicorn

from tusgen.dsl import API
from tusgen.render import generate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def load_fixture(name: str) -> ModuleType:
    """A fixture design module from tests/generator/fixtures (loaded by path)."""
    mod_name = f"tusgen_fixture_{name}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, HERE / "fixtures" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    spec.loader.exec_module(module)
    return module


def fixture_command(name: str) -> str:
    return f"tusgen generate tests/generator/fixtures/{name}.py --out tests/golden/{name}"


def generate_package(api: API, parent: Path, package: str, command: str) -> Path:
    """Generate `api` into parent/package and make it importable as `package`."""
    out = parent / package
    generate(api, out, command=command)
    if str(parent) not in sys.path:
        sys.path.insert(0, str(parent))
    importlib.invalidate_caches()
    return out


def import_generated(package: str, service: str) -> dict[str, Any]:
    return {
        "service": importlib.import_module(f"{package}.{service}.service"),
        "errors": importlib.import_module(f"{package}.{service}.errors"),
        "server": importlib.import_module(f"{package}.http.{service}.server"),
        "client": importlib.import_module(f"{package}.http.{service}.client"),
    }


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run `app` under uvicorn on an ephemeral 127.0.0.1 port; yields the base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.01)
        assert server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        loop.close()
