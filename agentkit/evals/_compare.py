"""A report set against a baseline: per case and model, what broke, what got fixed, what stayed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._report import CaseChange, Change, Comparison

if TYPE_CHECKING:
    from ._report import CaseRun, EvalReport

__all__ = ["compare"]


def compare(report: EvalReport, baseline: EvalReport) -> Comparison:
    """`report` against `baseline` (see `EvalReport.compare`)."""
    same_model = len(report.models) == 1 and len(baseline.models) == 1
    changes: list[CaseChange] = []
    rates: dict[str, tuple[float | None, float]] = {}
    for model in report.models:
        old_model = baseline.models[0] if same_model else model
        now_runs = _by_case(report.runs, model)
        old_runs = _by_case(baseline.runs, old_model)
        for case in [*report.cases, *(c for c in baseline.cases if c not in report.cases)]:
            now, old = now_runs.get(case), old_runs.get(case)
            if now is None and old is None:
                continue
            changes.append(
                CaseChange(
                    case=case, model=model, change=_change(old, now), before=_tally(old), now=_tally(now)
                )
            )
        old_summary = baseline.summaries.get(old_model) if old_model in baseline.models else None
        rates[model] = (old_summary.pass_rate if old_summary else None, report.summaries[model].pass_rate)
    return Comparison(changes=changes, pass_rates=rates)


def _by_case(runs: list[CaseRun], model: str) -> dict[str, list[CaseRun]]:
    out: dict[str, list[CaseRun]] = {}
    for run in runs:
        if run.model == model:
            out.setdefault(run.case, []).append(run)
    return out


def _change(old: list[CaseRun] | None, now: list[CaseRun] | None) -> Change:
    if old is None:
        return "new"
    if now is None:
        return "gone"
    was, is_ = all(r.passed for r in old), all(r.passed for r in now)
    if was == is_:
        return "still passing" if is_ else "still failing"
    return "fixed" if is_ else "broke"


def _tally(runs: list[CaseRun] | None) -> str:
    return f"{sum(r.passed for r in runs)}/{len(runs)}" if runs else ""
