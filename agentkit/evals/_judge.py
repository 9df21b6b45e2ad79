"""`LLMJudge`: a model reads the task, the answer (and the expected one) and a rubric, and gives a verdict:
passed, a score and its reason. Its requests are an ordinary agent run, its usage counted apart."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from ..models import Model, infer_model
from ._evaluators import Evaluated, Evaluator, EvaluatorResult, tool_calls

__all__ = ["JUDGE_INSTRUCTIONS", "LLMJudge", "Verdict"]

JUDGE_INSTRUCTIONS = """\
You grade an AI assistant's answer to a task against a rubric. Read the task, the tools it called, the
answer (and the expected answer when given), then decide strictly whether the answer meets the rubric.
Give `passed`, a `score` from 0 (fails entirely) to 1 (meets it fully), and a one-sentence `reason`."""


class Verdict(BaseModel):
    """The judge's answer."""

    passed: bool
    score: float = Field(ge=0, le=1)
    reason: str


@dataclass(kw_only=True)
class LLMJudge(Evaluator):
    """A model grades the run's output against `rubric`.

    The verdict's `passed` decides (and, with `threshold` set, its score must also reach it). A judge whose
    run fails gives a failed result saying why; its usage (tokens, dollars) is the result's `usage`, which
    reports sum apart from the runs' own.
    """

    rubric: str
    model: Model | str | None = None
    """The judge: a `Model` or model id; `None` for the environment's default (`AGENTKIT_MODEL`)."""
    threshold: float | None = None
    name: str = "llm_judge"
    _model: Model | None = field(default=None, init=False, repr=False)

    def judge_model(self) -> Model:
        """The judge's model, resolved once."""
        if self._model is None:
            self._model = infer_model(self.model)
        return self._model

    async def evaluate(self, run: Evaluated) -> EvaluatorResult:
        from ..agent import Agent
        from ..exceptions import AgentRunError

        judge: Agent[None, Verdict] = Agent(
            self.judge_model(), instructions=JUDGE_INSTRUCTIONS, output_type=Verdict, max_turns=3
        )
        try:
            result = await judge.run(judge_prompt(self.rubric, run))
        except AgentRunError as exc:
            return EvaluatorResult(
                name=self.name,
                passed=False,
                reason=f"the judge failed: {type(exc).__name__}: {exc}",
                usage=exc.usage,
            )
        verdict = result.output
        passed = verdict.passed and (self.threshold is None or verdict.score >= self.threshold)
        return EvaluatorResult(
            name=self.name, passed=passed, score=verdict.score, reason=verdict.reason, usage=result.usage
        )


def judge_prompt(rubric: str, run: Evaluated) -> str:
    """What the judge is asked: the rubric, the task, the tools called, the answer and the expected one."""
    parts: dict[str, Any] = {"rubric": rubric, "task": run.case.prompt}
    calls = [{"tool": call.name, "arguments": arguments} for call, arguments in tool_calls(run.messages)]
    if calls:
        parts["tool_calls"] = calls
    parts["answer"] = run.text if run.error is None else f"(the run failed: {run.error})"
    if run.case.expected_output is not None:
        parts["expected_answer"] = run.case.expected_output
    return json.dumps(parts, indent=2, ensure_ascii=False, default=str)
