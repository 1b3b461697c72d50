"""Lock waits, release requests and store failures, measured around the stores.

The engine knows nothing of metrics; these wrap the store objects' own methods (on the
instance, so the engine's capability checks see exactly what the store offers) before
the engine is built. Expected refusals (`StoreError`: exists, not found, lock timeout)
are not failures; anything else is counted by backend and logged with the upload id.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tuskit.persist.composer import StoreComposer
from tuskit.persist.model import UploadInfo
from tuskit.persist.protocols import HeldLock, LockTimeout, StoreError

from .metrics import Metrics

log = logging.getLogger("tuskit.upload.stores")

# Not `get`: it is on every request's path (a wrapper costs ~1 us of a ~30 us HEAD), and a
# state store that fails reads fails writes too; failed reads show as 5xx answers.
_STATE_OPS = ("create", "save", "mark", "expired", "finals_waiting_on", "purge_tombstones")
_BYTE_OPS = ("create", "open_writer", "durable_size", "delete", "concatenate")


def _upload_id(args: tuple[Any, ...]) -> str:
    first = args[0] if args else None
    if isinstance(first, UploadInfo):
        return first.id
    return first if isinstance(first, str) else "-"


def _count_failures(
    target: object, operations: tuple[str, ...], backend: str, metrics: Metrics
) -> None:
    for name in operations:
        method = getattr(target, name, None)
        if method is None:
            continue

        def wrap(method: Callable[..., Awaitable[Any]], name: str) -> Callable[..., Awaitable[Any]]:
            @functools.wraps(method)
            async def counted(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await method(*args, **kwargs)
                except StoreError:
                    raise
                except Exception as exc:
                    metrics.store_error(backend, name)
                    log.error(
                        "%s store: %s failed for upload %s: %r",
                        backend,
                        name,
                        _upload_id(args),
                        exc,
                    )
                    raise

            return counted

        try:
            setattr(target, name, wrap(method, name))
        except AttributeError:  # a slotted store: leave it unmeasured
            log.debug("cannot instrument %s.%s", type(target).__name__, name)


def instrument_stores(
    stores: StoreComposer, metrics: Metrics, *, bytes_backend: str, state_backend: str
) -> None:
    """Count failures of the byte and state stores and time the locker's waits."""
    _count_failures(stores.metadata, _STATE_OPS, state_backend, metrics)
    _count_failures(stores.byte_store, _BYTE_OPS, bytes_backend, metrics)
    _time_locks(stores, metrics)


def _time_locks(stores: StoreComposer, metrics: Metrics) -> None:
    locker = stores.locker
    acquire = locker.acquire

    async def timed(upload_id: str, **options: Any) -> HeldLock:
        """`acquire` with its options passed through as they are (they are the locker's
        business); only the holder's release callback is counted on the way."""
        callback: Callable[..., None] | None = options.get("on_release_request")
        if callback is not None:

            def release_requested(*why: Any) -> None:
                metrics.release_requests.inc()
                callback(*why)

            options["on_release_request"] = release_requested
        started = time.perf_counter()
        try:
            return await acquire(upload_id, **options)
        except LockTimeout:
            metrics.lock_timeouts.inc()
            raise
        finally:
            metrics.lock_wait.observe(time.perf_counter() - started)

    try:
        setattr(locker, "acquire", timed)  # noqa: B010  # an instance attribute, on purpose
    except AttributeError:
        log.debug("cannot instrument %s.acquire", type(locker).__name__)
