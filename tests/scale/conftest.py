"""Scale-out store tests: async on asyncio; each service fixture skips (or fails in CI)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


from .seaweed import seaweed  # noqa: E402, F401  (session fixture: one SeaweedFS per run)
