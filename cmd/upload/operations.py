"""Wiring for production operations: metrics, request logs, JWT auth, hooks and events.

Built in two steps around the engine: `Operations(settings)` before the app (the metrics
mount must exist when the mounts are laid out), `start(engine)` once the stores are
open (gates, listeners, the outbox relay, and the per-request wrapper around every
mount). Everything here reaches the engine through its event seam only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.types import ASGIApp

from tuskit.persist.model import UploadInfo, UploadState

from .asgi import Mount
from .engine import Engine, EventType
from .hooks.recorder import Collect
from .observe import endpoint
from .observe.events import UploadCounter
from .observe.instrument import instrument_stores
from .observe.metrics import Metrics
from .observe.middleware import Observe
from .observe.record import Batch, Consumer
from .observe.requestlog import RequestLog
from .observe.requeststats import FastRequestMetrics
from .settings import Settings

if TYPE_CHECKING:
    from .hooks.setup import Hooks

log = logging.getLogger("tuskit.upload")

UNWATCHED = frozenset({endpoint.NAME, "health"})
"""Mounts without request metrics or log lines: scrapes and load-balancer probes, every
few seconds each, would drown the requests that matter."""


def state_backend(settings: Settings) -> str:
    state = settings.state
    if state.startswith(("redis://", "rediss://", "unix://")):
        return "redis"
    if state.startswith(("postgresql://", "postgres://")):
        return "postgresql"
    return "sqlite"


class Operations:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics() if settings.metrics else None
        consumers: list[Consumer] = []
        if self.metrics is not None and not self.metrics.request_metrics.immediate:
            consumers.append(self.metrics.request_metrics)
        if settings.log_requests:
            consumers.append(RequestLog(settings.log_format, behind_proxy=settings.behind_proxy))
        self.batch = Batch(consumers) if consumers else None
        if self.metrics is not None and isinstance(
            self.metrics.request_metrics, FastRequestMetrics
        ):
            self.metrics.request_metrics.pending = self.batch  # a scrape counts it first
        self.hooks: Hooks | None = None  # set by start() when hooks or brokers are configured
        self._engine: Engine | None = None

    def mounts(self) -> list[Mount]:
        if self.metrics is None:
            return []
        return [endpoint.mount(self.metrics, self.settings.metrics_path)]

    async def start(self, engine: Engine) -> None:
        settings = self.settings
        self._engine = engine
        metrics = self.metrics
        if metrics is not None:
            instrument_stores(
                engine.stores, metrics,
                bytes_backend=settings.store, state_backend=state_backend(settings),
            )  # fmt: skip
            engine.events.subscribe(UploadCounter(metrics))
        if settings.auth_jwt_secret or settings.auth_jwt_jwks:
            # Imported only when used: PyJWT loads cryptography (resident memory per worker).
            from .auth.owner import OwnerGate
            from .auth.tokens import TokenVerifier, load_jwks

            verifier = TokenVerifier(
                secret=settings.auth_jwt_secret,
                jwks=load_jwks(settings.auth_jwt_jwks) if settings.auth_jwt_jwks else None,
                audience=settings.auth_jwt_audience,
                issuer=settings.auth_jwt_issuer,
            )
            engine.events.add_gate(
                OwnerGate(
                    verifier,
                    engine.stores.metadata.get,
                    claim=settings.auth_jwt_owner_claim,
                    metadata_key=settings.auth_jwt_owner_key,
                )
            )
        from .hooks.setup import start_hooks

        self.hooks = await start_hooks(
            settings,
            engine,
            tally=metrics.hook_called if metrics else _ignore3,
            delivered=metrics.delivered if metrics else _ignore2,
            on_depth=metrics.set_outbox_depth if metrics else _ignore1,
            remove_rejected=self._remove_rejected,
        )

    def wrap(self, mount: Mount, stack: ASGIApp) -> ASGIApp:
        """Per request: events stored before the answer, then metrics and the log line."""
        if mount.name in UNWATCHED:
            return stack
        hooks = self.hooks
        if hooks is not None and hooks.recorder is not None:
            stack = Collect(stack, hooks.recorder)
        if self.metrics is not None or self.batch is not None:
            stack = Observe(
                stack, mount.name, mount.path,
                metrics=self.metrics.request_metrics if self.metrics else None,
                batch=self.batch,
            )  # fmt: skip
        return stack

    async def _remove_rejected(self, info: UploadInfo) -> None:
        """A pre-finish rejection with `--hooks-pre-finish-rejected remove`: tombstone,
        then bytes (the engine's order for termination)."""
        engine = self._engine
        assert engine is not None
        await engine.stores.metadata.mark(info.id, UploadState.TERMINATED, engine.clock())
        if engine.stores.terminator is not None:
            await engine.stores.terminator.delete(info)
        engine.events.emit(EventType.TERMINATED, info, engine.clock())
        log.info("upload %s removed after its pre-finish hook rejected it", info.id)

    async def stop(self) -> None:
        if self.hooks is not None:
            await self.hooks.stop()
            self.hooks = None
        if self.batch is not None:
            self.batch.flush()
        if self.metrics is not None:
            self.metrics.close()


def _ignore1(a: int) -> None:
    return None


def _ignore2(a: str, b: str) -> None:
    return None


def _ignore3(a: str, b: str, c: str) -> None:
    return None
