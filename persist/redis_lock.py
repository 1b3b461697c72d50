"""One writer per upload across server instances: a renewed lease in Redis.

- The lock is `<prefix>lock:<id>` set with `SET NX PX lease` to a random token. While it
  is held a background task renews it every `lease / 3` (compare-and-PEXPIRE), so a
  crashed instance (no renewals) blocks an upload for at most one lease. Release is a
  compare-and-delete Lua script: a holder whose lease ran out never deletes a successor's
  lock. If a renewal finds the lease gone, the holder is asked to release at once.
- Release requests across instances: a waiter publishes the `Release` kind on
  `<prefix>release:<id>` (then again every `ask_interval` while it waits, because a
  holder may only just be subscribing). Each locker keeps one pub/sub connection with a
  pattern subscription `<prefix>release:*`, confirmed before the first lock is handed
  out, and calls the `on_release_request` of its local holder of that id.
- Within one instance waiters first queue on a `ProcessLocker`, so only one task per id
  polls Redis and same-process release requests are direct calls.
- Waiters poll `SET NX` every `poll_interval`; LockTimeout after `timeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from .locks import SharedLocker, _ask, poll_for_lock
from .protocols import HeldLock, Release, ReleaseRequest

log = logging.getLogger(__name__)

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


FENCE_MARGIN = 0.2  # of the lease: a holder with less left records nothing more


class RedisLocker(SharedLocker[tuple[str, float]]):
    """Locker across instances sharing a Redis; the client must use `decode_responses=True`."""

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str = "tus:",
        *,
        lease: float = 10.0,
        poll_interval: float = 0.05,
        ask_interval: float = 0.25,
    ) -> None:
        if lease <= 0 or poll_interval <= 0 or ask_interval <= 0:
            raise ValueError("lease, poll_interval and ask_interval must be positive")
        self.client = client
        self.prefix = prefix
        self.lease = lease
        self.poll_interval = poll_interval
        self.ask_interval = ask_interval
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        super().__init__()
        self._held: dict[str, _RedisHeld] = {}
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()

    @classmethod
    def from_url(cls, url: str, prefix: str = "tus:", **options: float) -> RedisLocker:
        return cls(aioredis.Redis.from_url(url, decode_responses=True), prefix, **options)

    def lock_key(self, upload_id: str) -> str:
        return f"{self.prefix}lock:{upload_id}"

    def release_channel(self, upload_id: str) -> str:
        return f"{self.prefix}release:{upload_id}"

    def _hold(
        self,
        upload_id: str,
        taken: tuple[str, float],
        local: HeldLock,
        on_release_request: ReleaseRequest,
    ) -> HeldLock:
        token, sent_at = taken
        held = _RedisHeld(self, upload_id, token, local, on_release_request, sent_at)
        self._held[upload_id] = held
        return held

    async def busy(self, upload_id: str) -> bool:
        """Held by any instance right now (one EXISTS); the optional LockProbe capability."""
        return upload_id in self._held or bool(await self.client.exists(self.lock_key(upload_id)))

    async def _take(
        self, upload_id: str, deadline: float, ask: Release | None
    ) -> tuple[str, float]:
        """The token, and when the winning SET was sent: the lease runs from no earlier."""
        key, token = self.lock_key(upload_id), secrets.token_hex(16)
        lease_ms = max(1, int(self.lease * 1000))
        sent_at = 0.0

        async def try_set() -> bool:
            nonlocal sent_at
            sent_at = time.monotonic()
            return bool(await self.client.set(key, token, nx=True, px=lease_ms))

        await poll_for_lock(
            try_set,
            (lambda: self.client.publish(self.release_channel(upload_id), ask.value))
            if ask is not None
            else None,
            deadline=deadline,
            poll_interval=self.poll_interval,
            ask_interval=self.ask_interval,
            what=f"lock on {upload_id} not released in time (other instance)",
        )
        return token, sent_at

    async def _listen(self) -> None:
        """Subscribe once (confirmed) and start dispatching release requests."""
        if self._listener is not None:
            return
        async with self._start_lock:
            if self._listener is not None:
                return
            pubsub = self.client.pubsub()
            await pubsub.psubscribe(f"{self.prefix}release:*")
            for _ in range(100):  # wait for the confirmation, bounded
                msg = await pubsub.get_message(timeout=0.1)
                if msg is not None and msg.get("type") == "psubscribe":
                    break
            else:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
                raise ConnectionError("no psubscribe confirmation from Redis")
            self._pubsub = pubsub
            self._listener = asyncio.get_running_loop().create_task(
                self._dispatch(pubsub), name="redis-lock-release-requests"
            )

    async def _dispatch(self, pubsub: PubSub) -> None:
        while True:
            try:
                msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("release-request subscription failed; retrying")
                await asyncio.sleep(1.0)
                continue
            if msg is None or msg.get("type") != "pmessage":
                continue
            upload_id = str(msg["channel"])[len(self.prefix) + len("release:") :]
            held = self._held.get(upload_id)
            if held is not None:
                _ask(held.on_release_request, held.upload_id, _kind(str(msg["data"])))

    async def close(self) -> None:
        """Release every lock still held, stop listening; the client stays open."""
        for held in list(self._held.values()):
            await held.release()
        task, self._listener = self._listener, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            await pubsub.aclose()  # type: ignore[no-untyped-call]


def _kind(text: str) -> Release:
    try:
        return Release(text)
    except ValueError:
        return Release.STOP  # an older server published the id: its only meaning was "stop"


class _RedisHeld:
    def __init__(
        self,
        locker: RedisLocker,
        upload_id: str,
        token: str,
        local: HeldLock,
        on_release_request: ReleaseRequest,
        sent_at: float,
    ) -> None:
        self.locker = locker
        self.upload_id = upload_id
        self.token: str | None = token
        self.local = local
        self.on_release_request = on_release_request
        self.lost = False
        self.valid_until = sent_at + locker.lease  # monotonic; moved by every renewal
        self._renewer = asyncio.get_running_loop().create_task(
            self._renew_loop(), name=f"redis-lock-renew-{upload_id}"
        )

    async def _renew_loop(self) -> None:
        key = self.locker.lock_key(self.upload_id)
        lease_ms = max(1, int(self.locker.lease * 1000))
        while self.token is not None:
            await asyncio.sleep(self.locker.lease / 3)
            sent_at = time.monotonic()
            try:
                ok = await self.locker._renew(keys=[key], args=[self.token, lease_ms])
            except Exception:
                log.exception("renewing the lock on %s failed", self.upload_id)
                if not self.still_held():
                    self._give_up("could not be renewed in time")
                    return
                continue
            if ok:
                self.valid_until = sent_at + self.locker.lease
            else:
                self._give_up("was lost")
                return

    def still_held(self) -> bool:
        """Held for sure: not lost, and the lease has a safety margin left (a save that
        starts now finishes before another instance could take the lock)."""
        if self.token is None or self.lost:
            return False
        return time.monotonic() < self.valid_until - self.locker.lease * FENCE_MARGIN

    def _give_up(self, why: str) -> None:
        self.lost = True
        log.warning("lease on %s %s; asking the holder to stop", self.upload_id, why)
        _ask(self.on_release_request, self.upload_id, Release.STOP)

    def stop_renewing(self) -> None:
        """Stop the lease renewal (tests simulate a crashed holder with it)."""
        self._renewer.cancel()

    async def release(self) -> None:
        token, self.token = self.token, None
        if token is None:
            return
        self._renewer.cancel()
        if self.locker._held.get(self.upload_id) is self:
            del self.locker._held[self.upload_id]
        try:
            await self.locker._release(keys=[self.locker.lock_key(self.upload_id)], args=[token])
        finally:
            await self.local.release()
