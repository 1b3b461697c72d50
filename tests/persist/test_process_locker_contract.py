"""ProcessLocker passes the locker contract and forgets ids nobody holds."""

from __future__ import annotations

import pytest

from tuskit.persist.locks import ProcessLocker
from tuskit.persist.protocols import LockTimeout

from .persist_contract import LockerContract

pytestmark = pytest.mark.anyio


@pytest.fixture
def locker() -> ProcessLocker:
    return ProcessLocker()


class TestProcessLocker(LockerContract):
    async def test_no_state_left_after_release_or_timeout(self, locker: ProcessLocker) -> None:
        held = await locker.acquire("a", timeout=1, on_release_request=lambda _: None)
        with pytest.raises(LockTimeout):
            await locker.acquire("a", timeout=0.05, on_release_request=lambda _: None)
        assert locker.held() == 1
        await held.release()
        assert locker.held() == 0

    async def test_failing_callback_does_not_break_waiter(self, locker: ProcessLocker) -> None:
        def boom(kind: object) -> None:
            raise RuntimeError("holder bug")

        held = await locker.acquire("b", timeout=1, on_release_request=boom)
        with pytest.raises(LockTimeout):
            await locker.acquire("b", timeout=0.05, on_release_request=lambda _: None)
        await held.release()
