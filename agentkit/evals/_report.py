"""What an evaluation gives back: a `CaseRun` per case × model × repeat, a `ModelSummary` per model, the
`EvalReport` holding both (JSON both ways), and `Comparison`, a report set against a baseline."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Literal

from ..usage import Usage
from ._evaluators import EvaluatorResult

__all__ = ["CaseChange", "CaseRun", "Comparison", "EvalReport", "ModelSummary"]

REPORT_VERSION = 1


@dataclass(kw_only=True)
class CaseRun:
    """One run of one case on one model, and what the evaluators said."""

    case: str
    model: str
    """The model the case ran on: the id given to `models=`, or the agent's model's name."""
    repeat: int = 0
    """Which of the `repeat` runs (from 0)."""
    output: Any = None
    """The output as JSON values (`None` when the run raised)."""
    error: str | None = None
    """`"ExceptionType: message"` when the run raised (the run then failed)."""
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    answered_by: str | None = None
    """The model name the endpoint reported in its last answer."""
    results: list[EvaluatorResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No error, and every evaluator passed."""
        return self.error is None and all(r.passed for r in self.results)

    @property
    def judge_usage(self) -> Usage:
        """What the evaluators (judges) spent, apart from the run."""
        total = Usage()
        for result in self.results:
            if result.usage is not None:
                total.add(result.usage)
        return total

    def to_dict(self) -> dict[str, Any]:
        usage = asdict(self.usage)
        usage["total_tokens"] = self.usage.total_tokens
        return {
            "case": self.case,
            "model": self.model,
            "repeat": self.repeat,
            "passed": self.passed,
            "output": self.output,
            "error": self.error,
            "usage": usage,
            "judge_cost_usd": self.judge_usage.cost_usd,
            "seconds": round(self.seconds, 4),
            "answered_by": self.answered_by,
            "results": [
                {"name": r.name, "passed": r.passed, "score": r.score, "reason": r.reason}
                for r in self.results
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseRun:
        usage = {k: v for k, v in data.get("usage", {}).items() if k in Usage.__dataclass_fields__}
        return cls(
            case=data["case"],
            model=data["model"],
            repeat=data.get("repeat", 0),
            output=data.get("output"),
            error=data.get("error"),
            usage=Usage(**usage),
            seconds=data.get("seconds", 0.0),
            answered_by=data.get("answered_by"),
            results=[EvaluatorResult(**r) for r in data.get("results", [])],
        )


@dataclass(kw_only=True, frozen=True)
class ModelSummary:
    """One model's figures over the runs of an evaluation."""

    model: str
    runs: int
    passed: int
    cases: int
    cases_passed_every_time: int
    """Cases all of whose repeats passed (pass^k)."""
    mean_seconds: float
    p90_seconds: float
    requests: float
    """Per run, on average; likewise `tokens` and `cost_usd`."""
    tokens: float
    cost_usd: float
    judge_requests: int
    """Total requests of judges (`LLMJudge`), apart from the runs'."""
    judge_cost_usd: float
    """Total spent by judges, apart from the runs."""
    errors: int

    @property
    def pass_rate(self) -> float:
        """Passed runs over runs."""
        return self.passed / self.runs if self.runs else 0.0

    @property
    def pass_all_k(self) -> float:
        """pass^k: cases whose every repeat passed, over cases."""
        return self.cases_passed_every_time / self.cases if self.cases else 0.0

    @classmethod
    def of(cls, model: str, runs: list[CaseRun]) -> ModelSummary:
        cases: dict[str, bool] = {}
        for run in runs:
            cases[run.case] = cases.get(run.case, True) and run.passed
        seconds = sorted(run.seconds for run in runs)
        count = len(runs) or 1
        return cls(
            model=model,
            runs=len(runs),
            passed=sum(run.passed for run in runs),
            cases=len(cases),
            cases_passed_every_time=sum(cases.values()),
            mean_seconds=sum(seconds) / count,
            p90_seconds=_percentile(seconds, 0.9),
            requests=sum(run.usage.requests for run in runs) / count,
            tokens=sum(run.usage.total_tokens for run in runs) / count,
            cost_usd=sum(run.usage.cost_usd for run in runs) / count,
            judge_requests=sum(run.judge_usage.requests for run in runs),
            judge_cost_usd=sum(run.judge_usage.cost_usd for run in runs),
            errors=sum(run.error is not None for run in runs),
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "pass_rate": self.pass_rate, "pass_all_k": self.pass_all_k}


def _percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted `values` (0 for none)."""
    if not values:
        return 0.0
    return values[max(0, math.ceil(fraction * len(values)) - 1)]


@dataclass(kw_only=True)
class EvalReport:
    """The runs of an evaluation, per case × model × repeat, with a summary per model."""

    runs: list[CaseRun]
    models: list[str]
    """The models, in the order given."""
    cases: list[str]
    """The case names, in the dataset's order."""
    repeat: int = 1
    interrupted: bool = False
    """The evaluation was stopped (Ctrl-C, cancelled) before every run finished: `runs` holds those that did."""

    @property
    def summaries(self) -> dict[str, ModelSummary]:
        """Per model, in order."""
        return {m: ModelSummary.of(m, [r for r in self.runs if r.model == m]) for m in self.models}

    @property
    def pass_rate(self) -> float:
        """Passed runs over all runs, every model together."""
        return sum(r.passed for r in self.runs) / len(self.runs) if self.runs else 0.0

    def case_passed(self, case: str, model: str) -> bool | None:
        """Whether every run of `case` on `model` passed; `None` when it has none."""
        runs = [r for r in self.runs if r.case == case and r.model == model]
        return all(r.passed for r in runs) if runs else None

    def ordered_runs(self) -> list[CaseRun]:
        """The runs by model, then case (in the given orders), then repeat."""
        return sorted(
            self.runs, key=lambda r: (self.models.index(r.model), self.cases.index(r.case), r.repeat)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "models": self.models,
            "cases": self.cases,
            "repeat": self.repeat,
            "interrupted": self.interrupted,
            "summary": {m: s.to_dict() for m, s in self.summaries.items()},
            "runs": [r.to_dict() for r in self.ordered_runs()],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as one JSON object: `version`, `models`, `cases`, `repeat`, `interrupted`, a `summary`
        per model, and every run (docs/evals.md shows its fields)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, text: str | bytes) -> EvalReport:
        """A report written by `to_json()` (a baseline).

        Raises:
            UserError: The text is not such a report.
        """
        from ..exceptions import UserError

        try:
            data = json.loads(text)
            return cls(
                runs=[CaseRun.from_dict(r) for r in data["runs"]],
                models=list(data["models"]),
                cases=list(data["cases"]),
                repeat=int(data.get("repeat", 1)),
                interrupted=bool(data.get("interrupted", False)),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise UserError(f"not an evaluation report written by --json / to_json(): {exc!r}") from None

    def compare(self, baseline: EvalReport) -> Comparison:
        """What changed since `baseline`, case by case and per model (runs are matched by case name and
        model; when each report has a single model, by case name alone, so a new model compares with the
        old one)."""
        from ._compare import compare

        return compare(self, baseline)

    def print(self, *, file: IO[str] | None = None) -> None:
        """The summary table (models side by side) and the failed runs, as plain text."""
        from ._text import report_lines

        out = file or sys.stdout
        for line in report_lines(self):
            print(line, file=out)


Change = Literal["broke", "fixed", "still passing", "still failing", "new", "gone"]


@dataclass(kw_only=True, frozen=True)
class CaseChange:
    """One case on one model, then and now."""

    case: str
    model: str
    change: Change
    before: str
    """Its runs passed in the baseline, as `passed/runs` (empty when it was not there)."""
    now: str

    @property
    def is_regression(self) -> bool:
        """It passed in the baseline and fails now."""
        return self.change == "broke"


@dataclass(kw_only=True, frozen=True)
class Comparison:
    """A report set against a baseline."""

    changes: list[CaseChange]
    pass_rates: dict[str, tuple[float | None, float]]
    """Per model of the new report: the baseline's pass rate (`None` when it had no such model) and now."""

    @property
    def regressions(self) -> list[CaseChange]:
        """Cases that passed in the baseline and fail now."""
        return [c for c in self.changes if c.is_regression]

    @property
    def fixed(self) -> list[CaseChange]:
        """Cases that failed in the baseline and pass now."""
        return [c for c in self.changes if c.change == "fixed"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "regressions": len(self.regressions),
            "fixed": len(self.fixed),
            "pass_rates": {m: {"baseline": b, "now": n} for m, (b, n) in self.pass_rates.items()},
            "changes": [asdict(c) for c in self.changes],
        }

    def print(self, *, file: IO[str] | None = None) -> None:
        """What got better and worse, as plain text."""
        from ._text import comparison_lines

        out = file or sys.stdout
        for line in comparison_lines(self):
            print(line, file=out)
