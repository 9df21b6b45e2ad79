"""Reports as plain text: the summary table (models side by side), the failed runs, and a comparison.
The command line's rich tables show the same rows (`summary_rows`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._report import Comparison, EvalReport, ModelSummary

__all__ = ["comparison_lines", "failure_lines", "report_lines", "summary_rows"]


def _money(value: float) -> str:
    return f"${value:.4f}" if value >= 0.0001 or value == 0 else f"${value:.2e}"


def summary_rows(report: EvalReport) -> list[list[str]]:
    """The summary table: a header row (`""`, then each model), then one row per figure."""
    summaries = list(report.summaries.values())
    k = report.repeat

    def row(label: str, cell: Callable[[ModelSummary], str]) -> list[str]:
        return [label, *(cell(s) for s in summaries)]

    rows = [
        ["", *report.models],
        row("pass rate", lambda s: f"{s.pass_rate:.0%} ({s.passed}/{s.runs})"),
    ]
    if k > 1:
        rows.append(row(f"pass^{k}", lambda s: f"{s.pass_all_k:.0%} ({s.cases_passed_every_time}/{s.cases})"))
    rows += [
        row("mean s", lambda s: f"{s.mean_seconds:.2f}"),
        row("p90 s", lambda s: f"{s.p90_seconds:.2f}"),
        row("requests/run", lambda s: f"{s.requests:.1f}"),
        row("tokens/run", lambda s: f"{s.tokens:.0f}"),
        row("$/run", lambda s: _money(s.cost_usd)),
        row("errors", lambda s: str(s.errors)),
    ]
    if any(s.judge_requests for s in summaries):
        rows.append(row("judge (total)", lambda s: f"{s.judge_requests} req, {_money(s.judge_cost_usd)}"))
    return rows


def failure_lines(report: EvalReport) -> list[str]:
    """One line per failed run: case, model, repeat, and why."""
    lines = []
    for run in report.ordered_runs():
        if run.passed:
            continue
        why = run.error or "; ".join(f"{r.name}: {r.reason}" for r in run.results if not r.passed)
        again = f" #{run.repeat + 1}" if report.repeat > 1 else ""
        lines.append(f"FAIL {run.case}{again} [{run.model}]: {why}")
    return lines


def report_lines(report: EvalReport) -> list[str]:
    """The summary table in aligned columns, then the failed runs."""
    rows = summary_rows(report)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    if report.interrupted:
        lines.append(f"interrupted: {len(report.runs)} runs finished")
    return lines + failure_lines(report)


def comparison_lines(comparison: Comparison) -> list[str]:
    """Each case that changed, then the pass rates before and now."""
    lines = []
    for change in comparison.changes:
        if change.change in ("broke", "fixed", "new", "gone"):
            mark = {"broke": "REGRESSION", "fixed": "fixed", "new": "new", "gone": "gone"}[change.change]
            lines.append(
                f"{mark}: {change.case} [{change.model}] {change.before or '-'} -> {change.now or '-'}"
            )
    for model, (before, now) in comparison.pass_rates.items():
        was = "-" if before is None else f"{before:.0%}"
        lines.append(f"pass rate [{model}]: {was} -> {now:.0%}")
    lines.append(f"{len(comparison.regressions)} regression(s), {len(comparison.fixed)} fixed")
    return lines
