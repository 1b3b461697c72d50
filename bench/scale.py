"""``--preload N``: our server with N records against our server with none, side by side.

Targets: ``ours`` (an empty store: a fresh data dir each start, and for Redis/PostgreSQL a
prefix/schema of its own, cleared before each start) and ``ours-<N>`` (one preloaded data
dir and state, reused by every start; see bench/preload.py). Scenarios:

* ``startup``: process start to the first OPTIONS answer, to the first answered HEAD of a
  preloaded upload, and to the log line saying background recovery finished; RSS and
  peak RSS then, and the server CPU spent up to there;
* ``head`` and ``small``: the usual scenarios, started once recovery has finished;
* ``sweep``: one expiry sweep (`sweep_expired`) run in the bench process against the
  target's stores: wall time and this process's CPU (all of it for SQLite; for Redis and
  PostgreSQL the servers' share is not counted).
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Sequence
from pathlib import Path

from bench import procstat
from bench.preload import Preloaded, StateArgs, clear_state, strip_state_flags
from bench.report import Results, _fmt
from bench.scenarios import Metrics, Scenario, Sizes, run_head, run_small
from bench.targets import RunningTarget, TargetSpec, TargetUnavailable, ours_spec

RECOVERY_DONE = "recovery: done"  # what the server logs once background recovery ends
EMPTY_RATIO = (("ours", "vs empty"),)


def short(n: int) -> str:
    """1000000 -> '1M', 100000 -> '100k'."""
    for unit, size in (("M", 1_000_000), ("k", 1000)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def specs(
    command: str,
    flags: Sequence[str],
    state: StateArgs,
    preloaded: Preloaded,
    data_dir: Path,
    *,
    ready_timeout: float,
    settle_timeout: float,
    crash: bool = False,
) -> list[TargetSpec]:
    """The empty store and the preloaded one, both started the same way; with `crash`,
    every start of the preloaded one follows a (simulated) kill -9, so it owes recovery."""
    rest = strip_state_flags(flags)
    empty_state = state.with_suffix("empty")
    settle = RECOVERY_DONE if settle_timeout > 0 else ""
    probe = f"/files/{preloaded.sample_ids[0]}"
    empty = ours_spec(command, [*rest, *empty_state.flags()], "ours", "tuskit, empty store")
    empty = _with(empty, reset=lambda: clear_state(empty_state), probe_path="/files/none",
                  settle_log=settle, settle_timeout=settle_timeout,
                  ready_timeout=ready_timeout)  # fmt: skip
    name = f"ours-{short(preloaded.records)}"
    full = ours_spec(command, [*rest, *state.flags()], name,
                     f"tuskit, {preloaded.records:,} records")  # fmt: skip
    full = _with(full, data_dir=data_dir, probe_path=probe, settle_log=settle,
                 settle_timeout=settle_timeout, ready_timeout=ready_timeout)  # fmt: skip
    if crash:
        full = _with(full, reset=lambda: leave_crash_marker(data_dir))
    return [empty, full]


def leave_crash_marker(data_dir: Path) -> None:
    """What a server killed with -9 leaves behind: its run marker (persist/runmark.py), for
    a process that no longer exists (a pid above Linux's largest)."""
    from tuskit.persist.runmark import RUNS, current_boot

    runs = data_dir / ".state" / RUNS
    runs.mkdir(parents=True, exist_ok=True)
    (runs / f"{current_boot() or 'unknown'}-{(1 << 22) + 1}").touch()


def _with(spec: TargetSpec, **changes: object) -> TargetSpec:
    from dataclasses import replace

    return replace(spec, **changes)  # type: ignore[arg-type]


def run_startup(target: RunningTarget, _sizes: Sizes, _loadgen: Path | None) -> Metrics:
    mem = target.memory()
    out: Metrics = {
        "startup_s": target.ready_s,
        "rss_mib": mem.rss_bytes / (1 << 20),
        "peak_rss_mib": mem.peak_rss_bytes / (1 << 20),
        "startup_cpu_s": target.cpu_seconds(),
    }
    if target.first_head_s is not None:
        out["first_head_s"] = target.first_head_s
    if target.settled_s is not None:
        out["recovery_s"] = target.settled_s
    return out


def run_sweep(target: RunningTarget, _sizes: Sizes, _loadgen: Path | None) -> Metrics:
    """One expiry sweep over the target's stores, from this process (same code)."""
    from tuskit.upload.main import settings_from_args

    argv = target.spec.argv(target.port, target.data_dir)[1:]
    settings = settings_from_args(argv)
    return asyncio.run(_sweep(settings))


async def _sweep(settings: object) -> Metrics:
    from tuskit.upload.engine.expiry import sweep_expired
    from tuskit.upload.settings import Settings
    from tuskit.upload.stores import open_stores

    assert isinstance(settings, Settings)
    stores = await open_stores(settings)
    try:
        cpu0, t0 = time.process_time(), time.perf_counter()
        report = await sweep_expired(stores, time.time())
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        await stores.close()
    expired = float(len(report.expired))
    return {"sweep_ms": wall * 1000, "sweep_cpu_ms": cpu * 1000, "sweep_expired": expired}


def scenarios(sizes: Sizes) -> list[Scenario]:
    small = f"{sizes.small_count} x {sizes.small_size // 1024} KiB creation-with-upload"
    return [
        Scenario("startup", "process start to first answers, background recovery, memory",
                 None, None, run_startup, ratios=()),
        Scenario("head", f"HEAD for {sizes.head_seconds:g} s, concurrency {sizes.concurrency}",
                 "requests_s", "server_cpu_us_per_op", run_head, ratios=EMPTY_RATIO),
        Scenario("small", f"{small}, concurrency {sizes.concurrency}", "uploads_s",
                 "server_cpu_us_per_op", run_small, ratios=EMPTY_RATIO),
        Scenario("sweep", "one expiry sweep (nothing due), from the bench process", None,
                 None, run_sweep, ratios=()),
    ]  # fmt: skip


def run_rounds(
    res: Results, rounds: int, scenarios: list[Scenario], names: list[str],
    specs: dict[str, TargetSpec], scratch: Path, sizes: Sizes, loadgen: Path | None,
) -> None:  # fmt: skip
    """One server per (round, target), every scenario on it in order: a start with a
    million records is what is measured, and the old code took minutes per start."""
    for rnd in range(rounds):
        for name in names if rnd % 2 == 0 else names[::-1]:
            if name in res.skipped:
                continue
            procstat.quiet_disk()
            try:
                target = RunningTarget(specs[name], scratch)
            except TargetUnavailable as e:
                res.skipped[name] = f"{e} (not answering OPTIONS: skipped)"
                print(f"SKIP {name}: {res.skipped[name]}", flush=True)
                continue
            res.extensions[name] = target.extensions
            try:
                for sc in scenarios:
                    t0 = time.monotonic()
                    try:
                        metrics = sc.run(target, sizes, loadgen)
                    except Exception as e:  # store errors included: report, go on
                        msg = f"round {rnd + 1} {sc.name} {name}: {type(e).__name__}: {e}"
                        res.failures.append(msg + f" [server log: {target.log_tail()}]")
                        print("FAIL " + msg, flush=True)
                        continue
                    res.rounds.setdefault(sc.name, {}).setdefault(name, []).append(metrics)
                    shown = ", ".join(f"{k}={_fmt(k, v)}" for k, v in metrics.items())
                    print(f"round {rnd + 1} {sc.name:<8} {name:<8} "
                          f"{time.monotonic() - t0:6.1f}s {shown}", flush=True)  # fmt: skip
            finally:
                target.stop()


def describe(state: StateArgs, preloaded: Preloaded, flags: Sequence[str]) -> dict[str, str]:
    return {
        "preload": f"{preloaded.records:,} records in {state.describe()}, half finished, half "
        f"halfway, sparse data files; written in {preloaded.seconds:.0f} s",
        "server flags": shlex.join(strip_state_flags(flags)) or "(defaults)",
    }
