"""Running a dataset: every case × model × repeat as an ordinary `agent.run`, at most `concurrency` at once,
each run scored by the dataset's and the case's evaluators. A run or an evaluator that raises gives a failed
result carrying the error; it never ends the evaluation, except misuse (`UserError`: a missing API key, a bad
setting), which every run would meet: it is raised, and the other runs are cancelled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import AgentRunError, UserError
from ..instrumentation import _tracer
from ..messages import AssistantMessage, Message
from ..models import Model, infer_model
from ..usage import Usage
from ._evaluators import CheckFunction, Evaluated, Evaluator, EvaluatorResult, as_evaluator
from ._report import CaseRun, EvalReport

if TYPE_CHECKING:
    from ..agent import Agent
    from ._dataset import Case, Dataset

__all__ = ["RunListener", "evaluate"]

RunListener = Callable[[CaseRun], None]
"""Called with each `CaseRun` as it finishes."""


async def evaluate(
    dataset: Dataset,
    agent: Agent[Any, Any],
    *,
    repeat: int,
    concurrency: int,
    models: Sequence[Model | str] | None,
    on_run: RunListener | None,
) -> EvalReport:
    """See `Dataset.evaluate`."""
    if repeat < 1 or concurrency < 1:
        raise UserError(f"repeat and concurrency must be at least 1, not {repeat} and {concurrency}.")
    targets, owned = _targets(agent, models)
    runs: list[CaseRun] = []
    semaphore = asyncio.Semaphore(concurrency)

    async def one(case: Case, label: str, model: Model | None, index: int) -> None:
        async with semaphore:
            run = await run_case(agent, case, dataset.evaluators, model=model, label=label, repeat=index)
        runs.append(run)
        if on_run is not None:
            on_run(run)

    tasks = [
        asyncio.ensure_future(one(case, label, model, index))
        for label, model in targets
        for case in dataset.cases
        for index in range(repeat)
    ]
    try:
        await asyncio.gather(*tasks)
    except BaseException:  # misuse (UserError), or cancelled: the other runs stop too
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        for model in owned:
            await model.aclose()
    return EvalReport(
        runs=runs,
        models=[label for label, _ in targets],
        cases=[c.name for c in dataset.cases],
        repeat=repeat,
    )


def _targets(
    agent: Agent[Any, Any], models: Sequence[Model | str] | None
) -> tuple[list[tuple[str, Model | None]], list[Model]]:
    """(label, model to pass to `run`) per model, and the models made here from ids (closed at the end)."""
    if models is not None and isinstance(models, str):
        models = [models]
    if not models:
        return [(agent.model.model_name, None)], []
    targets: list[tuple[str, Model | None]] = []
    owned: list[Model] = []
    for given in models:
        model = infer_model(given)
        if isinstance(given, str):
            owned.append(model)
        label = given if isinstance(given, str) else model.model_name
        if label in [t[0] for t in targets]:
            raise UserError(f"The model {label!r} is given twice; give each model once.")
        targets.append((label, model))
    return targets, owned


async def run_case(
    agent: Agent[Any, Any],
    case: Case,
    shared: Sequence[Evaluator | CheckFunction],
    *,
    model: Model | None,
    label: str,
    repeat: int,
) -> CaseRun:
    """One run of `case`, scored: inside an `eval_case {name}` span when tracing is on (the run's and the
    judge's spans nest under it)."""
    tracer = _tracer()
    if tracer is None:
        return await _run_case(agent, case, shared, model=model, label=label, repeat=repeat)
    attributes: dict[str, str | int] = {
        "agentkit.eval.case": case.name,
        "agentkit.eval.model": label,
        "agentkit.eval.repeat": repeat,
    }
    with tracer.start_as_current_span(f"eval_case {case.name}", attributes=attributes) as span:
        run = await _run_case(agent, case, shared, model=model, label=label, repeat=repeat)
        span.set_attribute("agentkit.eval.passed", run.passed)
        if run.error is not None:
            span.set_attribute("agentkit.eval.error", run.error)
        return run


async def _run_case(
    agent: Agent[Any, Any],
    case: Case,
    shared: Sequence[Evaluator | CheckFunction],
    *,
    model: Model | None,
    label: str,
    repeat: int,
) -> CaseRun:
    from pydantic_core import to_jsonable_python

    output: Any = None
    messages: list[Message] = []
    usage = Usage()
    error: str | None = None
    started = time.perf_counter()
    try:
        result = await agent.run(case.content(), model=model)
        output, messages, usage = result.output, result.messages, result.usage
    except UserError:
        raise  # misuse (a missing API key, a bad setting): not the case's failure, and every run would fail
    except Exception as exc:
        error = _error_text(exc)
        if isinstance(exc, AgentRunError):
            messages, usage = exc.messages, exc.usage or Usage()
    seconds = time.perf_counter() - started
    evaluated = Evaluated(
        case=case, output=output, messages=messages, usage=usage, seconds=seconds, error=error, model=label
    )
    results = [await _score(as_evaluator(e), evaluated) for e in [*shared, *case.evaluators]]
    return CaseRun(
        case=case.name,
        model=label,
        repeat=repeat,
        output=to_jsonable_python(output, fallback=str),
        error=error,
        usage=usage,
        seconds=seconds,
        answered_by=_answered_by(messages),
        results=results,
    )


async def _score(evaluator: Evaluator, run: Evaluated) -> EvaluatorResult:
    try:
        return await evaluator.evaluate(run)
    except Exception as exc:
        return EvaluatorResult(
            name=evaluator.name, passed=False, reason=f"the evaluator raised {_error_text(exc)}"
        )


def _error_text(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _answered_by(messages: list[Message]) -> str | None:
    for message in reversed(messages):
        if isinstance(message, AssistantMessage) and message.model_name:
            return message.model_name
    return None
