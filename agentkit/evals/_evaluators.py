"""Evaluators: what a run of a case is checked against. Each is given the finished run (`Evaluated`) and
returns an `EvaluatorResult` (passed, a score, the reason).

Built in: `Equals`, `Contains`, `Regex`, `JsonSchema`, `ToolCalled`, `ToolNotCalled`, `MaxRequests`,
`MaxCostUsd`, `MaxSeconds`, `NoError` (here) and `LLMJudge` (`_judge`); `Check` makes one of a function.
"""

from __future__ import annotations

import inspect
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from ..exceptions import UserError
from ..messages import AssistantMessage, Message, ToolCall
from ..usage import Usage

if TYPE_CHECKING:
    from ._dataset import Case

__all__ = [
    "Check",
    "CheckFunction",
    "CheckResult",
    "Contains",
    "Equals",
    "Evaluated",
    "Evaluator",
    "EvaluatorResult",
    "JsonSchema",
    "MaxCostUsd",
    "MaxRequests",
    "MaxSeconds",
    "NoError",
    "Regex",
    "ToolCalled",
    "ToolNotCalled",
    "as_evaluator",
    "output_text",
    "tool_calls",
]


@dataclass(kw_only=True, frozen=True)
class EvaluatorResult:
    """What one evaluator said about one run."""

    name: str
    """The evaluator, as the case file names it (`contains`, `llm_judge`...) or the function's name."""
    passed: bool
    score: float | None = None
    """A score in [0, 1] when the evaluator gives one (the judge, a custom function returning a number)."""
    reason: str | None = None
    """Why it failed (or what the judge said)."""
    usage: Usage | None = None
    """What the evaluator itself spent on a model (the judge), counted apart from the run's usage."""


@dataclass(kw_only=True)
class Evaluated:
    """A finished run of a case, as evaluators see it."""

    case: Case
    output: Any
    """The run's output (`None` when the run raised)."""
    messages: list[Message]
    """The run's transcript (up to the failure when it raised)."""
    usage: Usage
    seconds: float
    """Wall-clock seconds the run took."""
    error: str | None = None
    """`"ExceptionType: message"` when the run raised."""
    model: str = ""
    """The model the case ran on (the id given to `models=`, or the agent's model's name)."""

    @property
    def text(self) -> str:
        """The output as text: itself when it is a string, else its JSON."""
        return output_text(self.output)


CheckResult = Union[bool, float, int, str, None, EvaluatorResult]
"""What a `Check` function returns: `True`/`False`; a score in [0, 1] (passes at the check's threshold);
a string (a failure, and its reason); `None` (passed); or an `EvaluatorResult`."""


CheckFunction = Callable[["Evaluated"], Union[CheckResult, Awaitable[CheckResult]]]
"""A function of the run that `Check` (and `Dataset`/`Case` evaluator lists) take as an evaluator."""


class Evaluator(ABC):
    """An evaluator: subclass it and write `evaluate`, or give a function to `Check`."""

    name: str = "evaluator"
    """How results and reports name it."""

    @abstractmethod
    async def evaluate(self, run: Evaluated) -> EvaluatorResult:
        """Judge one finished run."""

    def _result(
        self, passed: bool, reason: str | None = None, *, score: float | None = None
    ) -> EvaluatorResult:
        return EvaluatorResult(name=self.name, passed=passed, score=score, reason=None if passed else reason)


@dataclass(kw_only=True)
class Check(Evaluator):
    """A custom evaluator from a function of the `Evaluated` run (sync or async) returning a `CheckResult`."""

    function: CheckFunction
    name: str = ""
    """Defaults to the function's name."""
    threshold: float = 0.5
    """A returned score passes when at least this."""

    def __post_init__(self) -> None:
        if not callable(self.function):
            raise UserError(f"Check needs a function of the run, not {type(self.function).__name__}.")
        self.name = self.name or getattr(self.function, "__name__", "check")

    async def evaluate(self, run: Evaluated) -> EvaluatorResult:
        value = self.function(run)
        if inspect.isawaitable(value):
            value = await value
        if isinstance(value, EvaluatorResult):
            return value
        if value is None or isinstance(value, bool):
            return self._result(value is not False, "returned False")
        if isinstance(value, (int, float)):
            score = float(value)
            return self._result(score >= self.threshold, f"score {score:g} < {self.threshold:g}", score=score)
        if isinstance(value, str):
            return self._result(False, value)
        raise UserError(
            f"The check {self.name!r} returned a {type(value).__name__}; return a bool, a score, a reason "
            "(str), None or an EvaluatorResult."
        )


def as_evaluator(value: Evaluator | CheckFunction) -> Evaluator:
    """`value` itself, or a `Check` of a function."""
    if isinstance(value, Evaluator):
        return value
    if callable(value):
        return Check(function=value)
    raise UserError(
        f"An evaluator must be an Evaluator or a function of the run, not {type(value).__name__}."
    )


def output_text(output: Any) -> str:
    """`output` as text: a string as is, anything else as JSON (pydantic models and dataclasses included)."""
    if isinstance(output, str):
        return output
    from pydantic_core import to_jsonable_python

    return json.dumps(to_jsonable_python(output), ensure_ascii=False)


def _expected(run: Evaluated, value: Any, what: str) -> Any:
    if value is not None:
        return value
    if run.case.expected_output is None:
        raise UserError(f"{what} with no argument needs the case's expected_output (case {run.case.name!r}).")
    return run.case.expected_output


@dataclass(kw_only=True)
class Equals(Evaluator):
    """The output equals `value` (the case's `expected_output` when `None`): as text, ends stripped, when
    `value` is a string; as JSON values otherwise."""

    value: Any = None
    name: str = "equals"

    async def evaluate(self, run: Evaluated) -> EvaluatorResult:
        expected = _expected(run, self.value, "equals")
        if isinstance(expected, str):
            passed = run.output is not None and run.text.strip() == expected.strip()
        else:
            from pydantic_core import to_jsonable_python

            passed = to_jsonable_python(run.output) == expected
        return self._result(passed, f"expected {_short(expected)}, got {_short(run.output)}")


@dataclass(kw_only=True)
class Contains(Evaluator):
    """The output (as text) contains `text` (the case's `expected_output` when `None`)."""

    text: str | None = None
    ignore_case: bool = False
    name: str = "contains"

    async def evaluate(self, run: Evaluated) -> EvaluatorResult:
        needle = str(_expected(run, self.text, "contains"))
        haystack = run.text if run.output is not None else ""
        if self.ignore_case:
            needle, haystack = needle.casefold(), haystack.casefold()
        return self._result(needle in haystack, f"{_short(needle)} not in {_short(run.output)}")


@dataclass(kw_only=True)
class Regex(Evaluator):
    """The output (as text) matches `pattern` somewhere (`re.search`)."""

    pattern: str
    ignore_case: bool = False
    name: str = "regex"
    _compiled: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            self._compiled = re.compile(self.pattern, re.IGNORECASE if self.ignore_case else 0)
        except re.error as exc:
            raise UserError(f"regex {self.pattern!r} is not a valid regular expression: {exc}") from None

    async def evaluate(self, run: Evaluated) -> EvaluatorResult:
        found = run.output is not None and self._compiled.search(run.text) is not None
        return self._result(found, f"/{self.pattern}/ does not match {_short(run.output)}")


@dataclass(kw_only=True)
class JsonSchema(Evaluator):
    """The output validates against the JSON Schema `schema` (a text output is parsed as JSON first)."""

    schema: dict[str, Any]
    name: str = "json_schema"

    def __post_init__(self) -> None:
        import jsonschema

        try:
            jsonschema.validators.validator_for(self.schema).check_schema(self.schema)
        except jsonschema.SchemaError as exc:
            raise UserError(f"json_schema is not a valid JSON Schema: {exc.message}") from None

    async def evaluate(self, run: Evaluated) -> EvaluatorResult:
        import jsonschema
        from pydantic_core import to_jsonable_python

        value: Any = to_jsonable_python(run.output)
        if isinstance(run.output, str):
            try:
                value = json.loads(run.output)
            except json.JSONDecodeError as exc:
                return self._result(False, f"the output is not JSON: {exc.msg}")
        error = jsonschema.validators.validator_for(self.schema)(self.schema).iter_errors(value)
        first = next(iter(error), None)
        if first is None:
            return self._result(True)
        where = "/".join(str(p) for p in first.absolute_path)
        return self._result(False, f"{where + ': ' if where else ''}{first.message}")


def tool_calls(messages: list[Message]) -> list[tuple[ToolCall, Any]]:
    """Every tool call the model made in `messages`, with its arguments decoded (`None` when not JSON)."""
    calls: list[tuple[ToolCall, Any]] = []
    for message in messages:
        if isinstance(message, AssistantMessage):
            for call in message.tool_calls:
                try:
                    arguments = json.loads(call.arguments or "{}")
                except json.JSONDecodeError:
                    arguments = None
                calls.append((call, arguments))
    return calls


def _subset(expected: Any, actual: Any) -> bool:
    """Whether `actual` has everything `expected` has (mappings compared key by key, deeply)."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and _subset(value, actual[key]) for key, value in expected.items()
        )
    return bool(expected == actual)


def _matching(run: Evaluated, name: str, args: dict[str, Any] | None) -> int:
    return sum(
        1
        for call, arguments in tool_calls(run.messages)
        if call.name == name and (not args or _subset(args, arguments))
    )


def _described(name: str, args: dict[str, Any] | None) -> str:
    return f"{name}({json.dumps(args)})" if args else name


@dataclass(kw_only=True)
class ToolCalled(Evaluator):
    """The model called tool `name` (with at least the arguments in `args`), `count` times exactly when
    given, else at least once."""

    tool: str
    args: dict[str, Any] | None = None
    count: int | None = None
    name: str = "tool_called"

    async def evaluate(self, run: Evaluated) -> EvaluatorResult:
        found = _matching(run, self.tool, self.args)
        passed = found >= 1 if self.count is None else found == self.count
        wanted = "at least once" if self.count is None else f"{self.count} time(s)"
        called = sorted({call.name for call, _ in tool_calls(run.messages)})
        return self._result(
            passed,
            f"{_described(self.tool, self.args)} called {found} time(s), expected {wanted} "
            f"(tools called: {', '.join(called) or 'none'})",
        )


@dataclass(kw_only=True)
class ToolNotCalled(Evaluator):
    """The model never called tool `name` (with at least the arguments in `args`, when given)."""

    tool: str
    args: dict[str, Any] | None = None
    name: str = "tool_not_called"

    async def evaluate(self, run: Evaluated) -> EvaluatorResult:
        found = _matching(run, self.tool, self.args)
        return self._result(found == 0, f"{_described(self.tool, self.args)} called {found} time(s)")


@dataclass(kw_only=True)
class MaxRequests(Evaluator):
    """The run made at most `limit` model requests."""

    limit: int
    name: str = "max_requests"

    async def evaluate(self, run: Evaluated) -> EvaluatorResult:
        used = run.usage.requests
        return self._result(used <= self.limit, f"{used} requests > {self.limit}")


@dataclass(kw_only=True)
class MaxCostUsd(Evaluator):
    """The run cost at most `limit` dollars."""

    limit: float
    name: str = "max_cost_usd"

    async def evaluate(self, run: Evaluated) -> EvaluatorResult:
        used = run.usage.cost_usd
        return self._result(used <= self.limit, f"${used:.6f} > ${self.limit:g}")


@dataclass(kw_only=True)
class MaxSeconds(Evaluator):
    """The run took at most `limit` seconds."""

    limit: float
    name: str = "max_seconds"

    async def evaluate(self, run: Evaluated) -> EvaluatorResult:
        return self._result(run.seconds <= self.limit, f"{run.seconds:.2f}s > {self.limit:g}s")


@dataclass(kw_only=True)
class NoError(Evaluator):
    """The run finished without raising."""

    name: str = "no_error"

    async def evaluate(self, run: Evaluated) -> EvaluatorResult:
        return self._result(run.error is None, run.error)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
