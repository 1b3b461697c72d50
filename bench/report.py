"""Markdown report, console table and PNG chart from the medians of the rounds."""

from __future__ import annotations

import platform
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench.scenarios import Scenario

# metric key -> (column header, format)
METRICS: dict[str, tuple[str, str]] = {
    "throughput_mib_s": ("MiB/s", "{:.0f}"),
    "cpu_s_per_gib": ("server CPU s/GiB", "{:.2f}"),
    "peak_rss_mib": ("peak RSS MiB", "{:.1f}"),
    "client_cpu_s_per_gib": ("client CPU s/GiB", "{:.2f}"),
    "uploads_s": ("uploads/s", "{:.0f}"),
    "requests_s": ("requests/s", "{:.0f}"),
    "server_cpu_us_per_op": ("server CPU us/op", "{:.0f}"),
    "client_cpu_us_per_op": ("client CPU us/op", "{:.1f}"),
    "client_capacity_s": ("client ops per CPU-s", "{:.0f}"),
    "rss_first_mib": ("RSS first MiB", "{:.1f}"),
    "rss_last_mib": ("RSS last MiB", "{:.1f}"),
    "rss_growth": ("RSS growth", "{:.2f}x"),
    "boto3_cpu_s_per_gib": ("boto3 process CPU s/GiB", "{:.2f}"),
    "weed_cpu_s_per_gib": ("SeaweedFS CPU s/GiB", "{:.2f}"),
    "ratio_vs_boto3": ("vs boto3 (median of per-round ratios)", "{:.2f}x"),
    "startup_s": ("start to first answer s", "{:.2f}"),
    "first_head_s": ("start to first HEAD s", "{:.2f}"),
    "recovery_s": ("start to recovery done s", "{:.2f}"),
    "rss_mib": ("RSS MiB", "{:.1f}"),
    "startup_cpu_s": ("server CPU s", "{:.2f}"),
    "sweep_ms": ("one sweep ms", "{:.1f}"),
    "sweep_cpu_ms": ("sweep CPU ms", "{:.1f}"),
    "sweep_expired": ("expired", "{:.0f}"),
    "ratio_vs_tus": ("vs tus big upload, same store (median of per-round ratios)", "{:.2f}x"),
}


@dataclass
class Results:
    """Everything a run produced; ``rounds[scenario][target]`` is one metrics dict per round."""

    labels: dict[str, str]  # target name -> label, in run order
    scenarios: list[Scenario]
    rounds: dict[str, dict[str, list[dict[str, float]]]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    info: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, list[str]] = field(default_factory=dict)  # target -> Tus-Extension

    def median(self, scenario: str, target: str, metric: str) -> float | None:
        values = [r[metric] for r in self.rounds.get(scenario, {}).get(target, []) if metric in r]
        return statistics.median(values) if values else None

    def ran(self, scenario: str) -> list[str]:
        return [t for t in self.labels if self.rounds.get(scenario, {}).get(t)]

    def metric_keys(self, scenario: str) -> list[str]:
        keys: list[str] = []
        for runs in self.rounds.get(scenario, {}).values():
            for r in runs:
                keys += [k for k in r if k not in keys]
        return sorted(keys, key=lambda k: k.startswith("ratio_"))  # ratios last, else as found


def _fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    return METRICS.get(metric, (metric, "{:.3g}"))[1].format(value)


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def scenario_table(res: Results, sc: Scenario) -> list[str]:
    keys = res.metric_keys(sc.name)
    heads = [METRICS.get(k, (k, ""))[0] for k in keys]
    ratios = sc.ratios if sc.throughput is not None else ()
    ratio_heads = [head for _, head in ratios]
    lines = [
        "| target | " + " | ".join(heads + ratio_heads) + " |",
        "|---" * (1 + len(heads) + len(ratio_heads)) + "|",
    ]
    for t in res.ran(sc.name):
        cells = [_fmt(k, res.median(sc.name, t, k)) for k in keys]
        if sc.throughput is not None:
            mine = res.median(sc.name, t, sc.throughput)
            cells += [_ratio(mine, res.median(sc.name, b, sc.throughput)) for b, _ in ratios]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return lines


def checksum_cost(res: Results) -> list[str]:
    """What a sha256 Upload-Checksum on every PATCH adds (big-sha256 minus big)."""
    lines = [
        "| target | verifies checksums (Tus-Extension) | added server CPU s/GiB "
        "| throughput change |",
        "|---|---|---|---|",
    ]
    for t in res.ran("big-sha256"):
        plain = res.median("big", t, "cpu_s_per_gib")
        summed = res.median("big-sha256", t, "cpu_s_per_gib")
        tp0 = res.median("big", t, "throughput_mib_s")
        tp1 = res.median("big-sha256", t, "throughput_mib_s")
        verifies = "yes" if "checksum" in res.extensions.get(t, []) else "no (header ignored)"
        added = f"{summed - plain:+.2f}" if plain is not None and summed is not None else "-"
        change = f"{(tp1 / tp0 - 1) * 100:+.0f}%" if tp0 and tp1 is not None else "-"
        lines.append(f"| {t} | {verifies} | {added} | {change} |")
    return lines


def goals(res: Results) -> list[str]:
    """The issue's targets for our server, checked on the medians."""

    def m(sc: str, t: str, k: str) -> float | None:
        return res.median(sc, t, k)

    def check(ok: bool | None) -> str:
        return "n/a" if ok is None else ("PASS" if ok else "FAIL")

    def ratio_ok(a: float | None, b: float | None, want: float, above: bool) -> bool | None:
        if a is None or not b:
            return None
        return a / b >= want if above else a / b <= want

    big = ("throughput_mib_s", "cpu_s_per_gib")
    peak = m("big", "ours", "peak_rss_mib")
    growth = m("memory", "ours", "rss_growth")
    s3 = m("s3", "ours-s3", "ratio_vs_boto3")
    sessions_s3 = m("sessions", "sessions-s3", "ratio_vs_boto3")
    tus_cpu = m("big", "ours", big[1])
    rows = [
        ("big: throughput >= 0.95x sink", ratio_ok(
            m("big", "ours", big[0]), m("big", "sink", big[0]), 0.95, True)),
        ("big: CPU per GiB <= 1.15x sink", ratio_ok(
            m("big", "ours", big[1]), m("big", "sink", big[1]), 1.15, False)),
        ("big: peak RSS <= 64 MiB", None if peak is None else peak <= 64),
        ("small: uploads/s >= 2x @tus/server", ratio_ok(
            m("small", "ours", "uploads_s"), m("small", "tus-node", "uploads_s"), 2.0, True)),
        ("HEAD: requests/s >= 3x @tus/server", ratio_ok(
            m("head", "ours", "requests_s"), m("head", "tus-node", "requests_s"), 3.0, True)),
        ("memory: RSS growth <= 1.20x", None if growth is None else growth <= 1.20),
        ("s3: throughput >= 0.8x boto3 multipart (same SeaweedFS)",
         None if s3 is None else s3 >= 0.8),
        ("sessions: session upload on SeaweedFS >= 0.9x boto3 multipart (same parts)",
         None if sessions_s3 is None else sessions_s3 >= 0.9),
        ("stream-post: CPU per GiB <= 1.15x tus big", ratio_ok(
            m("stream-post", "ours", big[1]), tus_cpu, 1.15, False)),
        ("stream-get: CPU per GiB <= 1.15x tus big", ratio_ok(
            m("stream-get", "ours", big[1]), tus_cpu, 1.15, False)),
    ]  # fmt: skip
    return ["| goal (ours) | result |", "|---|---|"] + [
        f"| {name} | {check(ok)} |" for name, ok in rows
    ]


def preload_goals(res: Results, preloaded: str) -> list[str]:
    """Issue 15's targets for a store with many records, against the empty store."""

    def m(sc: str, t: str, k: str) -> float | None:
        return res.median(sc, t, k)

    def check(ok: bool | None) -> str:
        return "n/a" if ok is None else ("PASS" if ok else "FAIL")

    def within(sc: str, key: str) -> bool | None:
        full, empty = m(sc, preloaded, key), m(sc, "ours", key)
        return None if full is None or not empty else full / empty >= 1 / 1.2

    first = m("startup", preloaded, "first_head_s") or m("startup", preloaded, "startup_s")
    rss, rss0 = m("startup", preloaded, "rss_mib"), m("startup", "ours", "rss_mib")
    sweep = m("sweep", preloaded, "sweep_ms")
    rows = [
        (f"start-up: first answer with {preloaded} < 5 s", None if first is None else first < 5),
        ("start-up: RSS within 1.2x the empty store's",
         None if rss is None or not rss0 else rss / rss0 <= 1.2),
        ("HEAD: requests/s within 1.2x the empty store's", within("head", "requests_s")),
        ("small: uploads/s within 1.2x the empty store's", within("small", "uploads_s")),
        ("one sweep with nothing due < 100 ms", None if sweep is None else sweep < 100),
    ]  # fmt: skip
    return ["| goal (ours) | result |", "|---|---|"] + [
        f"| {name} | {check(ok)} |" for name, ok in rows
    ]


def headroom(res: Results) -> list[str]:
    """Is the client fast enough? Sink rate and client capacity vs the slowest real server."""
    lines = [
        "| scenario | sink rate | fastest server rate | sink / server "
        "| client rate per client CPU-s | client capacity / server |",
        "|---|---|---|---|---|---|",
    ]
    for sc, key in (("big", "throughput_mib_s"), ("small", "uploads_s"), ("head", "requests_s")):
        sink = res.median(sc, "sink", key)
        servers = [res.median(sc, t, key) for t in ("ours", "tus-node")]
        best = max((v for v in servers if v is not None), default=None)
        if sc == "big":  # MiB/s the client could push per CPU-second
            per_gib = res.median(sc, "sink", "client_cpu_s_per_gib")
            cap = 1024 / per_gib if per_gib else None
        else:
            cap = res.median(sc, "sink", "client_capacity_s")
        lines.append(
            f"| {sc} | {_fmt(key, sink)} | {_fmt(key, best)} | {_ratio(sink, best)} "
            f"| {_fmt(key, cap)} | {_ratio(cap, best)} |"
        )
    return lines


def markdown(res: Results) -> str:
    out = ["# tus upload benchmark", ""]
    out += [f"- {k}: {v}" for k, v in res.info.items()]
    out += [f"- targets: {', '.join(f'{t} = {label}' for t, label in res.labels.items())}"]
    if res.skipped:
        out += ["", "## Skipped targets", ""]
        out += [f"- **{t}**: {why}" for t, why in res.skipped.items()]
    if res.failures:
        out += ["", "## Failures", ""] + [f"- {f}" for f in res.failures]
    out += ["", "## Results (medians over rounds)", ""]
    for sc in res.scenarios:
        out += [f"### {sc.name}: {sc.title}", "", *scenario_table(res, sc), ""]
    if res.ran("big-sha256"):
        out += ["## Cost of sha256 Upload-Checksum", "", *checksum_cost(res), ""]
    preloaded = [t for t in res.labels if t.startswith("ours-")]
    if res.ran("startup") and preloaded:
        out += ["## Goals", "", *preload_goals(res, preloaded[0]), ""]
        return "\n".join(out)
    out += ["## Goals", "", *goals(res), ""]
    out += ["## Client headroom", ""]
    out += [
        "The load client must not be the bottleneck: the sink (no protocol logic) driven",
        "by the same client should go several times faster than the real servers, and the",
        "client's own CPU per operation says how far it could go on a whole core",
        "(rates: MiB/s for big, uploads/s for small, requests/s for head).",
        "",
    ]
    out += [*headroom(res), ""]
    out += ["![chart](chart.png)", ""]
    return "\n".join(out)


def chart(res: Results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charted = [sc for sc in res.scenarios if sc.throughput and sc.cpu_per_op and res.ran(sc.name)]
    if not charted:
        return
    fig, axes = plt.subplots(2, len(charted), figsize=(3.6 * len(charted), 6.5), squeeze=False)
    colors = {
        "ours": "tab:blue", "sink": "tab:gray", "tus-node": "tab:green",
        "ours-s3": "tab:cyan", "boto3": "tab:purple",
    }  # fmt: skip
    for col, sc in enumerate(charted):
        for row, key in enumerate((sc.throughput, sc.cpu_per_op)):
            assert key is not None
            ax = axes[row][col]
            # a row without the metric (boto3 has no server CPU) is left out, not drawn as 0
            targets = [t for t in res.ran(sc.name) if res.median(sc.name, t, key) is not None]
            values = [res.median(sc.name, t, key) or 0.0 for t in targets]
            ax.bar(targets, values, color=[colors.get(t, "tab:orange") for t in targets])
            ax.set_title(f"{sc.name}: {METRICS.get(key, (key, ''))[0]}", fontsize=9)
            ax.tick_params(axis="x", labelsize=8)
            for i, v in enumerate(values):
                ax.annotate(_fmt(key, v), (i, v), ha="center", va="bottom", fontsize=7)
    fig.suptitle("throughput (top, higher is better) / CPU per operation (bottom, lower is better)",
                 fontsize=10)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def host_info() -> dict[str, str]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return {
        "machine": f"{os.cpu_count()} CPUs ({model or platform.machine()}), "
        f"Linux {platform.release()}",
        "python": platform.python_version(),
    }
