"""Ratios and the printed tables for `run.py`. Only the standard library is imported here.

Every ratio is `agentkit / other` of a cost (time or bytes), so below 1 means agentkit costs less; the
"x raw" columns are `framework / raw`, the price of a framework over the hand-written loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

AGENTKIT = "agentkit"
RAW = "raw"
PEERS = ("pydantic-ai", "openai-agents")

GOALS = {
    "streaming first delta x raw": 1.10,
    "streaming run x raw": 1.15,
    "streaming run x faster peer": 0.50,
    "default run_sync x raw": 1.15,
    "default run_sync x faster peer": 0.50,
}
"""Targets agentkit is held to (upper bounds on its ratios); the ratios themselves are measured."""


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def ratios(values: dict[str, float | None], *, subject: str = AGENTKIT) -> dict[str, float | None]:
    """`subject / other` for each other framework that has a value."""
    return {
        f"{subject}/{name}": ratio(values.get(subject), value)
        for name, value in values.items()
        if name != subject
    }


def fmt_time_us(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:.2f} s"
    if value >= 1e3:
        return f"{value / 1e3:.2f} ms"
    return f"{value:.1f} µs"


def fmt_s(value: float | None) -> str:
    return "-" if value is None else fmt_time_us(value * 1e6)


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1 << 20:
        return f"{value / (1 << 20):.1f} MiB"
    if value >= 1 << 10:
        return f"{value / (1 << 10):.1f} KiB"
    return f"{value:.0f} B"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def table(headers: list[str], rows: Iterable[list[str]], *, left: int = 2) -> str:
    """A plain-text table; the first `left` columns are aligned left, the rest right."""
    rows = [list(map(str, row)) for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    align = ["<" if i < left else ">" for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(f"{c:{a}{w}}" for c, a, w in zip(cells, align, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _spread(summary: dict[str, float], fmt: Any) -> str:
    return f"{fmt(summary['p10'])} - {fmt(summary['p90'])}"


def compute_ratios(results: dict[str, Any], frameworks: list[str]) -> dict[str, Any]:
    """All the ratios of the report, keyed like the results."""
    out: dict[str, Any] = {}
    overhead = results.get("overhead", {})
    out["overhead"] = {
        scenario: ratios(
            {fw: overhead[fw][scenario]["run_us"]["median"] for fw in frameworks if fw in overhead}
        )
        for scenario in ("2turn", "10turn")
        if overhead
    }
    parallel = results.get("parallel", {})
    out["parallel"] = {
        kind: ratios(
            {fw: parallel[fw][kind]["tool_phase_ms"]["median"] for fw in frameworks if fw in parallel}
        )
        for kind in ("pause_sync", "pause_async")
        if parallel
    }
    schema = results.get("schema", {})
    out["schema"] = {
        "build_per_tool": ratios(
            {fw: schema[fw]["build_per_tool_us"]["median"] for fw in frameworks if fw in schema}
        ),
        "sent_tools_bytes": ratios({fw: schema[fw]["sent_tools_bytes"] for fw in frameworks if fw in schema}),
    }
    conc = results.get("concurrency", {})
    out["concurrency"] = {
        "total_s": ratios({fw: conc[fw]["total_s"]["median"] for fw in frameworks if fw in conc}),
        "peak_rss_per_run": ratios(
            {fw: conc[fw]["peak_rss_per_run_bytes"] for fw in frameworks if fw in conc}
        ),
    }
    stream = results.get("streaming", {})
    out["streaming"] = {
        metric: standing({fw: stream[fw][key]["median"] for fw in frameworks if fw in stream})
        for metric, key in (("first_delta", "first_delta_us"), ("run", "run_us"))
        if stream
    }
    default = results.get("default_path", {})
    out["default_path"] = {
        style: standing({fw: default[fw][style]["run_us"]["median"] for fw in frameworks if fw in default})
        for style in ("run_sync", "run")
        if default
    }
    cold = results.get("coldstart", {})
    medians = {label: case["in_process_s"]["median"] for label, case in cold.items()}
    out["coldstart"] = {
        "import agentkit / import openai": ratio(
            medians.get("import agentkit"), medians.get("import openai")
        ),
        **{
            f"agentkit/{case['framework']} (import + 1 tool)": ratio(
                medians.get("agentkit: import + 1 tool"), medians[label]
            )
            for label, case in cold.items()
            if case["kind"] == "tool" and case["framework"] != AGENTKIT
        },
    }
    return out


def standing(values: dict[str, float]) -> dict[str, Any]:
    """agentkit against every other framework, against raw, and against the faster of the peers."""
    peers = {name: values[name] for name in PEERS if name in values}
    faster = min(peers, key=peers.__getitem__) if peers else None
    return {
        **ratios(values),
        "agentkit x raw": ratio(values.get(AGENTKIT), values.get(RAW)),
        "faster peer": faster,
        "agentkit x faster peer": ratio(values.get(AGENTKIT), peers.get(faster) if faster else None),
    }


def goal_line(what: str, value: float | None, goal: str, *, peer: str | None = None) -> str:
    """`agentkit ...: 1.04x raw (goal <= 1.10x: met)`, for one measured ratio and its goal in `GOALS`."""
    bound = GOALS[goal]
    verdict = "-" if value is None else ("met" if value <= bound else "NOT met")
    against = f"the faster peer ({peer})" if peer else "raw"
    return f"{what}: {fmt_ratio(value)} {against} (goal <= {bound:.2f}x: {verdict})"


def _vs(values: dict[str, float], fw: str) -> tuple[str, str]:
    """The "x raw" and "agentkit/x" cells for one framework's row."""
    x_raw = "" if fw == RAW else fmt_ratio(ratio(values.get(fw), values.get(RAW)))
    agentkit = "" if fw == AGENTKIT else fmt_ratio(ratio(values.get(AGENTKIT), values.get(fw)))
    return x_raw, agentkit


def render_overhead(data: dict[str, Any], frameworks: list[str]) -> str:
    rows = []
    for scenario, title in (("2turn", "2 turns, 1 tool call"), ("10turn", "10 turns, 9 tool calls")):
        medians = {fw: data[fw][scenario]["run_us"]["median"] for fw in frameworks if fw in data}
        for index, fw in enumerate(fw for fw in frameworks if fw in data):
            s = data[fw][scenario]["run_us"]
            over = None if RAW not in medians else s["median"] - medians[RAW]
            rows.append(
                [
                    "" if index else title,
                    fw,
                    fmt_time_us(s["median"]),
                    _spread(s, fmt_time_us),
                    fmt_time_us(s["iqr"]),
                    str(s["n"]),
                    fmt_time_us(data[fw][scenario]["per_turn_us"]),
                    "" if fw == RAW or over is None else ("+" if over >= 0 else "-") + fmt_time_us(abs(over)),
                    *_vs(medians, fw),
                ]
            )
    headers = ["scenario", "framework", "median", "p10 - p90", "IQR", "n", "per turn", "over raw", "x raw"]
    return table([*headers, "agentkit/x"], rows)


def render_coldstart(data: dict[str, Any]) -> str:
    rows = []
    import_openai = data.get("import openai", {}).get("in_process_s", {}).get("median")
    tool_medians = {
        case["framework"]: case["in_process_s"]["median"] for case in data.values() if case["kind"] == "tool"
    }
    for label, case in data.items():
        s = case["in_process_s"]
        median = s["median"]
        vs_openai = (
            ""
            if case["kind"] != "import" or label == "import openai"
            else fmt_ratio(ratio(median, import_openai))
        )
        agentkit = ""
        if case["kind"] == "tool" and case["framework"] != AGENTKIT:
            agentkit = fmt_ratio(ratio(tool_medians.get(AGENTKIT), median))
        rows.append(
            [
                label,
                fmt_s(median),
                _spread(s, fmt_s),
                fmt_s(case["process_wall_s"]["median"]),
                str(s["n"]),
                vs_openai,
                agentkit,
            ]
        )
    headers = ["case", "in-process median", "p10 - p90", "process wall", "n", "x import openai", "agentkit/x"]
    return table(headers, rows, left=1)


def render_parallel(data: dict[str, Any], frameworks: list[str]) -> str:
    rows = []
    for kind, title in (("pause_sync", "8 sync tools"), ("pause_async", "8 async tools")):
        medians = {fw: data[fw][kind]["tool_phase_ms"]["median"] for fw in frameworks if fw in data}
        for index, fw in enumerate(fw for fw in frameworks if fw in data):
            d = data[fw][kind]
            s = d["tool_phase_ms"]
            rows.append(
                [
                    "" if index else title,
                    fw,
                    fmt_s(s["median"] / 1e3),
                    _spread({k: v / 1e3 for k, v in s.items()}, fmt_s),
                    str(s["n"]),
                    f"+{d['over_floor_ms']:.1f} ms",
                    f"{d['x_floor']:.2f}x",
                    fmt_s(d["run_ms"]["median"] / 1e3),
                    *_vs(medians, fw),
                ]
            )
    headers = ["tools", "framework", "tool phase", "p10 - p90", "n", "over 200 ms", "x floor", "whole run"]
    return table([*headers, "x raw", "agentkit/x"], rows)


def render_schema(data: dict[str, Any], frameworks: list[str]) -> str:
    rows = []
    build = {fw: data[fw]["build_per_tool_us"]["median"] for fw in frameworks if fw in data}
    size = {fw: data[fw]["sent_tools_bytes"] for fw in frameworks if fw in data}
    for fw in frameworks:
        if fw not in data:
            continue
        d = data[fw]
        s = d["build_per_tool_us"]
        rows.append(
            [
                fw,
                fmt_time_us(s["median"]),
                _spread(s, fmt_time_us),
                fmt_time_us(d["first_build_us"]),
                f"{d['sent_tools_bytes']:,}",
                f"{d['first_request_bytes']:,}",
                "" if fw == AGENTKIT else fmt_ratio(ratio(build.get(AGENTKIT), build[fw])),
                "" if fw == AGENTKIT else fmt_ratio(ratio(size.get(AGENTKIT), size[fw])),
            ]
        )
    headers = ["framework", "build/tool", "p10 - p90", "1st build (10)", "tools bytes", "1st request"]
    return table([*headers, "agentkit/x build", "agentkit/x bytes"], rows, left=1)


def render_concurrency(data: dict[str, Any], frameworks: list[str]) -> str:
    rows = []
    totals = {fw: data[fw]["total_s"]["median"] for fw in frameworks if fw in data}
    memory = {fw: data[fw]["peak_rss_per_run_bytes"] for fw in frameworks if fw in data}
    for fw in frameworks:
        if fw not in data:
            continue
        d = data[fw]
        s = d["total_s"]
        rows.append(
            [
                fw,
                str(d["runs"]),
                fmt_s(s["median"]),
                f"{fmt_s(s['min'])} - {fmt_s(s['max'])}",
                str(s["n"]),
                f"{d['runs_per_s']:,.0f}",
                fmt_bytes(d["peak_rss_per_run_bytes"]),
                fmt_bytes(d.get("traced_peak_per_run_bytes")),
                *_vs(totals, fw),
                "" if fw == AGENTKIT else fmt_ratio(ratio(memory.get(AGENTKIT), memory[fw])),
            ]
        )
    headers = ["framework", "runs", "total", "min - max", "n", "runs/s", "peak RSS/run", "traced/run"]
    return table([*headers, "x raw", "agentkit/x time", "agentkit/x mem"], rows, left=1)


def render_streaming(data: dict[str, Any], frameworks: list[str]) -> str:
    rows = []
    present = [fw for fw in frameworks if fw in data]
    first = {fw: data[fw]["first_delta_us"]["median"] for fw in present}
    whole = {fw: data[fw]["run_us"]["median"] for fw in present}
    for fw in present:
        f, w = data[fw]["first_delta_us"], data[fw]["run_us"]
        x_raw_first, vs_first = _vs(first, fw)
        x_raw_whole, vs_whole = _vs(whole, fw)
        rows.append(
            [
                fw,
                fmt_time_us(f["median"]),
                _spread(f, fmt_time_us),
                fmt_time_us(w["median"]),
                _spread(w, fmt_time_us),
                str(w["n"]),
                f"{data[fw]['deltas_per_run']:g}",
                x_raw_first,
                x_raw_whole,
                vs_first,
                vs_whole,
            ]
        )
    headers = ["framework", "first delta", "p10 - p90", "whole run", "p10 - p90", "n", "deltas"]
    lines = [table([*headers, "x raw 1st", "x raw run", "agentkit/x 1st", "agentkit/x run"], rows, left=1)]
    if AGENTKIT in first:
        f_stand, w_stand = standing(first), standing(whole)
        lines += [
            goal_line("agentkit first delta", f_stand["agentkit x raw"], "streaming first delta x raw"),
            goal_line("agentkit whole run", w_stand["agentkit x raw"], "streaming run x raw"),
            goal_line(
                "agentkit whole run",
                w_stand["agentkit x faster peer"],
                "streaming run x faster peer",
                peer=w_stand["faster peer"],
            ),
        ]
    return "\n".join(lines)


def render_default_path(data: dict[str, Any], frameworks: list[str]) -> str:
    rows = []
    present = [fw for fw in frameworks if fw in data]
    for style, title in (("run_sync", "run_sync(), no event loop"), ("run", "await run()")):
        medians = {fw: data[fw][style]["run_us"]["median"] for fw in present}
        for index, fw in enumerate(present):
            s = data[fw][style]["run_us"]
            rows.append(
                [
                    "" if index else title,
                    fw,
                    fmt_time_us(s["median"]),
                    _spread(s, fmt_time_us),
                    fmt_time_us(s["iqr"]),
                    str(s["n"]),
                    fmt_time_us(data[fw][style]["first_run_us"]),
                    *_vs(medians, fw),
                ]
            )
    headers = ["call", "framework", "median", "p10 - p90", "IQR", "n", "1st run", "x raw", "agentkit/x"]
    lines = [table(headers, rows)]
    if AGENTKIT in present:
        sync = standing({fw: data[fw]["run_sync"]["run_us"]["median"] for fw in present})
        lines += [
            goal_line("agentkit run_sync", sync["agentkit x raw"], "default run_sync x raw"),
            goal_line(
                "agentkit run_sync",
                sync["agentkit x faster peer"],
                "default run_sync x faster peer",
                peer=sync["faster peer"],
            ),
        ]
    return "\n".join(lines)
