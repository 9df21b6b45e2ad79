"""Evals: a set of cases run against an agent, scored, repeated, compared across models and against a
baseline. Built only from `Agent.run` and `RunResult`; `agentkit eval` runs a case file from the command line.

```python
from agentkit.evals import Case, Contains, Dataset, ToolCalled

dataset = Dataset(cases=[Case(name="sum", prompt="What is 2 + 3?", evaluators=[Contains(text="5")])])
report = dataset.evaluate_sync(agent, repeat=3, models=["google/gemini-2.0-flash-001", "local"])
report.print()
```

- `Case`, `Dataset` (`Dataset.from_file(path)`: YAML with `pip install 'agentkit[evals]'`, or JSON).
- Evaluators: `Equals`, `Contains`, `Regex`, `JsonSchema`, `ToolCalled`, `ToolNotCalled`, `MaxRequests`,
  `MaxCostUsd`, `MaxSeconds`, `NoError`, `LLMJudge`; `Check(function=...)` (or a plain function) for your own.
- `EvalReport` (runs, summaries, `print()`, `to_json()`, `from_json()`, `compare(baseline)` -> `Comparison`).

docs/evals.md has the case-file schema and the command.
"""

from __future__ import annotations

from ._dataset import EVALUATOR_NAMES, Case, Dataset
from ._evaluators import (
    Check,
    CheckFunction,
    CheckResult,
    Contains,
    Equals,
    Evaluated,
    Evaluator,
    EvaluatorResult,
    JsonSchema,
    MaxCostUsd,
    MaxRequests,
    MaxSeconds,
    NoError,
    Regex,
    ToolCalled,
    ToolNotCalled,
)
from ._judge import LLMJudge, Verdict
from ._report import CaseChange, CaseRun, Comparison, EvalReport, ModelSummary
from ._run import RunListener
from ._source import CaseFileError

__all__ = [
    "EVALUATOR_NAMES",
    "Case",
    "CaseChange",
    "CaseFileError",
    "CaseRun",
    "Check",
    "CheckFunction",
    "CheckResult",
    "Comparison",
    "Contains",
    "Dataset",
    "Equals",
    "EvalReport",
    "Evaluated",
    "Evaluator",
    "EvaluatorResult",
    "JsonSchema",
    "LLMJudge",
    "MaxCostUsd",
    "MaxRequests",
    "MaxSeconds",
    "ModelSummary",
    "NoError",
    "Regex",
    "RunListener",
    "ToolCalled",
    "ToolNotCalled",
    "Verdict",
]
