"""Settings -> hook transports, the blocking-hook gate, sinks, outbox, recorder, relay."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tuskit.persist.model import UploadInfo

from ..engine import Engine
from ..settings import Settings
from .gate import BLOCKING, HookGate, Tally
from .outboxes import open_outbox
from .python import PythonHook
from .recorder import POST_HOOKS, Recorder
from .relay import Relay
from .relay import Tally as DeliveryTally
from .sinks import HookSink, Sink
from .transport import HookTransport

log = logging.getLogger("tuskit.upload.hooks")


def transports(settings: Settings) -> list[HookTransport]:
    """Python first (in-process, cheap), then HTTP."""
    found: list[HookTransport] = []
    if settings.hooks_python:
        found.append(PythonHook.load(settings.hooks_python, timeout=settings.hooks_http_timeout))
    if settings.hooks_http:
        from .http import HttpHook  # httpx only for servers with HTTP hooks

        found.append(
            HttpHook(
                settings.hooks_http,
                timeout=settings.hooks_http_timeout,
                retries=settings.hooks_http_retries,
                backoff=settings.hooks_http_backoff,
                max_response=settings.hooks_http_max_response,
                forward_headers=settings.hooks_http_forward_headers,
            )
        )
    return found


async def brokers(settings: Settings) -> list[Sink]:
    """Connected broker sinks; ConnectionError (one line, no credentials) if unreachable."""
    found: list[Sink] = []
    if settings.events_nats:
        from .nats import NatsSink

        found.append(
            await NatsSink.connect(
                settings.events_nats,
                subject=settings.events_nats_subject,
                stream=settings.events_nats_stream,
            )
        )
    if settings.events_amqp:
        from .amqp import AmqpSink

        try:
            found.append(
                await AmqpSink.connect(settings.events_amqp, exchange=settings.events_amqp_exchange)
            )
        except BaseException:
            for sink in found:
                await sink.close()
            raise
    return found


def lease_for(settings: Settings) -> float:
    """How long a claimed event is reserved: enough for one delivery (cut off at half of
    it); after a crash, the entries a dead process had claimed wait this long."""
    return max(10.0, 4 * settings.hooks_http_timeout)


@dataclass
class Hooks:
    """The running hook machinery of one process."""

    transports: list[HookTransport]
    gate: HookGate | None = None
    recorder: Recorder | None = None
    relay: Relay | None = None
    sinks: list[Sink] = field(default_factory=list)

    async def stop(self) -> None:
        if self.relay is not None:
            await self.relay.stop()  # closes the sinks
        if self.recorder is not None:
            await self.recorder.drain()
            await self.recorder.outbox.close()
        for transport in self.transports:
            await transport.close()


async def start_hooks(
    settings: Settings,
    engine: Engine,
    *,
    tally: Tally,
    delivered: DeliveryTally,
    on_depth: Callable[[int], None],
    remove_rejected: Callable[[UploadInfo], Awaitable[None]],
) -> Hooks | None:
    """Add the gate and the recorder to `engine`, start the relay; None if nothing is set."""
    found = transports(settings)
    enabled = settings.hooks_enabled_events
    broker_sinks = await brokers(settings)
    if not found and not broker_sinks:
        return None
    hooks = Hooks(found)
    if found and any(h in enabled for h in BLOCKING):
        remove = remove_rejected if settings.hooks_pre_finish_rejected == "remove" else None
        hooks.gate = HookGate(found, enabled, remove_rejected=remove, tally=tally)
        engine.events.add_gate(hooks.gate)
    sinks: list[Sink] = [HookSink(t) for t in found] + broker_sinks
    sinks_for = {
        hook: [s.name for s in sinks if not isinstance(s, HookSink) or s.transport.handles(hook)]
        for hook in POST_HOOKS.values()
        if hook in enabled
    }
    if any(sinks_for.values()):
        outbox = await open_outbox(settings)
        hooks.relay = Relay(
            outbox,
            {s.name: s for s in sinks},
            max_backoff=settings.outbox_max_backoff,
            lease=lease_for(settings),
            tally=delivered,
            on_depth=on_depth,
        )
        hooks.recorder = Recorder(
            outbox,
            sinks_for,
            progress_interval=settings.progress_hooks_interval,
            on_written=hooks.relay.wake,
        )
        engine.events.subscribe(hooks.recorder)
        hooks.relay.start()
        hooks.sinks = sinks
    else:
        for sink in broker_sinks:
            await sink.close()
    return hooks
