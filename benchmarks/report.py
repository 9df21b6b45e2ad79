"""Ratios and the printed tables for `run.py`. Only the standard library is imported here.

Every ratio is `agentkit / other` of a cost (time or bytes), so below 1 means agentkit costs less; the
"x raw" columns are `framework / raw`, the price of a framework over the hand-written loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

AGENTKIT = "agentkit"
RAW = "raw"


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
