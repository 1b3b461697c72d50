"""The one command: start each target per scenario and round, measure, report.

    .venv/bin/python -m bench --rounds 3        # full run (~3-5 minutes)
    .venv/bin/python -m bench --smoke           # tiny sizes, proves it runs (under a minute)

Each (round, scenario, target) starts a fresh server (so VmHWM is that scenario's peak),
runs the scenario, stops the server by PID and deletes its data. Targets alternate order
between rounds. Writes results.json, report.md and chart.png into --out.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

from bench import procstat, report, scale
from bench.client import build_loadgen
from bench.preload import MARKER as PRELOAD_MARKER
from bench.preload import StateArgs, clear_state, preload
from bench.s3 import S3Bench
from bench.scenarios import SMOKE, Scenario, ScenarioError, Sizes, build_scenarios
from bench.sessions import SessionsBench
from bench.targets import (
    NODE_CACHE,
    REPO,
    RunningTarget,
    TargetSpec,
    TargetUnavailable,
    all_targets,
)

DEFAULT_OUT = REPO / "bench" / "results"
DEFAULT_TARGETS = "ours,sink,tus-node"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="rounds per scenario (default 3)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, one round: proves it runs")
    p.add_argument("--targets", default=DEFAULT_TARGETS, help="comma list of targets")
    p.add_argument("--scenarios", default="", help="comma list (default: all)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report directory")
    p.add_argument("--python-client", action="store_true", help="do not use the C loadgen")
    p.add_argument(
        "--ours-cmd", default=str(REPO / ".venv" / "bin" / "upload"), help="our server's binary"
    )
    p.add_argument("--ours-args", default="", help="extra flags for our server, e.g. '--store s3'")
    p.add_argument(
        "--preload", type=int, default=0, metavar="N",
        help="compare our server with N records (written straight into its state store: "
        "SQLite, or --state in --ours-args) against an empty one: start-up, head, small, sweep",
    )  # fmt: skip
    p.add_argument(
        "--preload-dir", type=Path, default=None,
        help="keep the preloaded data dir here and reuse it (default: removed after the run)",
    )  # fmt: skip
    p.add_argument(
        "--ready-timeout", type=float, default=900.0,
        help="with --preload: how long a start may take before the target is skipped",
    )  # fmt: skip
    p.add_argument(
        "--crash", action="store_true",
        help="with --preload: start the preloaded server as after a kill -9 (it owes the "
        "background orphan sweep) instead of after a clean stop",
    )  # fmt: skip
    p.add_argument(
        "--recovery-timeout", type=float, default=600.0,
        help="with --preload: wait this long for the log line that background recovery "
        "finished (0: do not wait, for servers that recover before serving)",
    )  # fmt: skip
    return p.parse_args(argv)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def _node_info() -> str:
    if shutil.which("node") is None:
        return "absent"
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    pkg = NODE_CACHE / "node_modules" / "@tus" / "server" / "package.json"
    tus = json.loads(pkg.read_text())["version"] if pkg.exists() else "not installed"
    return f"node {node.stdout.strip()}, @tus/server {tus}"


def _start_s3(
    args: argparse.Namespace,
    scenarios: list[Scenario],
    names: list[str],
    res: report.Results,
    scratch: Path,
    sizes: Sizes,
) -> S3Bench | None:
    """SeaweedFS for the s3 scenario (once per run), or None with the reason in the report."""
    if not any(sc.name == "s3" for sc in scenarios):
        return None
    s3 = S3Bench(args.ours_cmd, shlex.split(args.ours_args), scratch, sizes)
    if "ours" not in names:
        why = "the s3 scenario compares our server (target ours, not selected) with boto3"
    elif "ours" in res.skipped:
        why = f"our server is unavailable: {res.skipped['ours']}"
    else:
        try:
            s3.start()
        except TargetUnavailable as e:
            why = str(e)
        else:
            res.labels.update(S3Bench.labels)
            res.info["s3"] = s3.info()
            return s3
    res.skipped["ours-s3"] = why
    print(f"SKIP s3: {why}", flush=True)
    return None


def _start_sessions(
    args: argparse.Namespace, scenarios: list[Scenario], names: list[str],
    res: report.Results, scratch: Path, sizes: Sizes,
) -> SessionsBench | None:  # fmt: skip
    """The sessions scenario's runner (SeaweedFS when `weed` is there), or None with why."""
    if not any(sc.name == "sessions" for sc in scenarios):
        return None
    why = ""
    if "ours" not in names:
        why = "the sessions scenario runs our server (target ours, not selected)"
    elif "ours" in res.skipped:
        why = f"our server is unavailable: {res.skipped['ours']}"
    if why:
        res.skipped["sessions-disk"] = why
        print(f"SKIP sessions: {why}", flush=True)
        return None
    bench = SessionsBench(args.ours_cmd, shlex.split(args.ours_args), scratch, sizes)
    bench.start()
    res.labels.update(SessionsBench.labels)
    res.info["sessions"] = bench.info()
    return bench


def _rounds(
    res: report.Results, rounds: int, scenarios: list[Scenario], names: list[str],
    specs: dict[str, TargetSpec], scratch: Path, sizes: Sizes, loadgen: Path | None,
    runners: dict[str, S3Bench | SessionsBench],
) -> None:  # fmt: skip
    for rnd in range(rounds):
        order = names if rnd % 2 == 0 else names[::-1]
        for sc in scenarios:
            if sc.own_runner:
                runner = runners.get(sc.name)
                if runner is not None:
                    try:
                        got = runner.run_round(rnd, sc)
                    except Exception as e:  # boto3/botocore errors included: report, go on
                        msg = f"round {rnd + 1} {sc.name}: {type(e).__name__}: {e}"
                        res.failures.append(msg)
                        print("FAIL " + msg, flush=True)
                    else:
                        for name, metrics in got.items():
                            res.rounds.setdefault(sc.name, {}).setdefault(name, []).append(metrics)
                continue
            for name in order:
                if name in res.skipped or (sc.targets and name not in sc.targets):
                    continue
                procstat.quiet_disk()
                try:
                    target = RunningTarget(specs[name], scratch)
                except TargetUnavailable as e:
                    res.skipped[name] = f"{e} (not answering OPTIONS: skipped)"
                    print(f"SKIP {name}: {res.skipped[name]}", flush=True)
                    continue
                res.extensions[name] = target.extensions
                t0 = time.monotonic()
                try:
                    metrics = sc.run(target, sizes, loadgen)
                except (ScenarioError, OSError, subprocess.SubprocessError, ValueError) as e:
                    msg = f"round {rnd + 1} {sc.name} {name}: {type(e).__name__}: {e}"
                    res.failures.append(msg + f" [server log: {target.log_tail()}]")
                    print("FAIL " + msg, flush=True)
                    continue
                finally:
                    target.stop()
                res.rounds.setdefault(sc.name, {}).setdefault(name, []).append(metrics)
                shown = ", ".join(f"{k}={report._fmt(k, v)}" for k, v in metrics.items())
                print(f"round {rnd + 1} {sc.name:<10} {name:<8} {time.monotonic() - t0:5.1f}s "
                      f"{shown}", flush=True)  # fmt: skip


def _preload(
    args: argparse.Namespace, scratch: Path
) -> tuple[list[TargetSpec], dict[str, str], Path, StateArgs]:
    """Write (or reuse) the preloaded store; the two targets that compare it with none."""
    flags = shlex.split(args.ours_args)
    state = StateArgs.from_flags(flags)
    data_dir = (args.preload_dir or scratch / f"preload-{args.preload}-{state.kind}").resolve()
    print(f"preloading {args.preload:,} records into {state.describe()} ...", flush=True)
    loaded = preload(data_dir, args.preload, state)
    print(f"preloaded in {loaded.seconds:.0f} s", flush=True)
    timeouts = {"ready_timeout": args.ready_timeout, "settle_timeout": args.recovery_timeout}
    targets = scale.specs(
        args.ours_cmd, flags, state, loaded, data_dir, crash=args.crash, **timeouts
    )
    info = scale.describe(state, loaded, flags)
    info["preloaded starts"] = (
        "after a kill -9 (recovery owed)"
        if args.crash
        else ("after a clean stop (the first start of a new preload owes a sweep)")
    )
    return targets, info, data_dir, state


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = SMOKE if args.smoke else Sizes()
    rounds = 1 if args.smoke else max(1, args.rounds)
    args.out = args.out.resolve()  # servers started with other working dirs get this path
    scratch = args.out / "tmp"
    preload_info: dict[str, str] = {}
    if args.preload:
        preloaded, preload_info, preload_dir, preload_state = _preload(args, scratch)
        specs = {s.name: s for s in preloaded}
        scenarios = scale.scenarios(sizes)
        if args.targets in (DEFAULT_TARGETS, "ours"):  # the comparison needs both
            args.targets = ",".join(specs)
    else:
        specs = {s.name: s for s in all_targets(args.ours_cmd, shlex.split(args.ours_args))}
        scenarios = build_scenarios(sizes)
    if args.scenarios:
        wanted = args.scenarios.split(",")
        unknown = set(wanted) - {s.name for s in scenarios}
        if unknown:
            raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
        scenarios = [s for s in scenarios if s.name in wanted]

    names = [t for t in args.targets.split(",") if t]
    unknown = set(names) - set(specs)
    if unknown:
        raise SystemExit(f"unknown targets: {', '.join(sorted(unknown))} (have {', '.join(specs)})")

    loadgen = None if args.python_client else build_loadgen()
    if loadgen is None and not args.smoke:
        print("WARNING: Python load client: check the headroom table before trusting ratios")
    res = report.Results(labels={n: specs[n].label for n in names}, scenarios=scenarios)
    res.info.update(report.host_info())
    res.info.update({
        "mode": "smoke" if args.smoke else "full",
        "rounds": str(rounds),
        "load client": "loadgen (C, epoll)" if loadgen else "asyncio (Python fallback)",
        "uvicorn": f"{_version('uvicorn')} (uvloop {_version('uvloop')}, "
                   f"httptools {_version('httptools')}), one worker",
        "node": _node_info(),
        "sizes": ", ".join(f"{k}={v}" for k, v in asdict(sizes).items()),
        **preload_info,
    })  # fmt: skip

    for name in names:
        try:
            specs[name].prepare()
        except TargetUnavailable as e:
            res.skipped[name] = str(e)
            print(f"SKIP {name}: {e}", flush=True)
    res.info["node"] = _node_info()

    started = time.monotonic()
    runners: dict[str, S3Bench | SessionsBench] = {}
    s3 = _start_s3(args, scenarios, names, res, scratch, sizes)
    if s3 is not None:
        runners["s3"] = s3
    try:
        if args.preload:
            scale.run_rounds(res, rounds, scenarios, names, specs, scratch, sizes, loadgen)
        else:
            sessions = _start_sessions(args, scenarios, names, res, scratch, sizes)
            if sessions is not None:
                runners["sessions"] = sessions
            _rounds(res, rounds, scenarios, names, specs, scratch, sizes, loadgen, runners)
    finally:
        for runner in runners.values():
            runner.stop()
    res.info["wall time"] = f"{time.monotonic() - started:.0f} s"
    if args.preload and args.preload_dir is None:
        clear_state(preload_state)
        (preload_dir.parent / f"{preload_dir.name}.{PRELOAD_MARKER}").unlink(missing_ok=True)
    if args.preload:
        clear_state(preload_state.with_suffix("empty"))
    shutil.rmtree(scratch, ignore_errors=True)

    args.out.mkdir(parents=True, exist_ok=True)
    text = report.markdown(res)
    (args.out / "report.md").write_text(text)
    (args.out / "results.json").write_text(
        json.dumps(
            {"info": res.info, "skipped": res.skipped, "failures": res.failures,
             "rounds": res.rounds}, indent=1,
        ) + "\n"
    )  # fmt: skip
    report.chart(res, args.out / "chart.png")
    print()
    print(text)
    print(f"wrote {args.out / 'report.md'}, {args.out / 'chart.png'}, {args.out / 'results.json'}")
    ran_any = any(res.rounds.values())
    return 1 if res.failures or not ran_any else 0
