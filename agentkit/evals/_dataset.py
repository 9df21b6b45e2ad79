"""`Case` and `Dataset`: the cases an agent is evaluated on, built in code or read from a case file (whose
schema is checked here, each error naming its line)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import UserError
from ..messages import ContentPart, DocumentPart, ImagePart, TextPart
from ._evaluators import (
    CheckFunction,
    Contains,
    Equals,
    Evaluator,
    JsonSchema,
    MaxCostUsd,
    MaxRequests,
    MaxSeconds,
    NoError,
    Regex,
    ToolCalled,
    ToolNotCalled,
    as_evaluator,
)
from ._judge import LLMJudge
from ._source import Source, Where, read_source

if TYPE_CHECKING:
    from ..agent import Agent
    from ..models import Model
    from ._report import EvalReport
    from ._run import RunListener

__all__ = ["EVALUATOR_NAMES", "Case", "Dataset"]


@dataclass(kw_only=True)
class Case:
    """One task, and what its answer is checked against."""

    name: str
    """Unique within its dataset: reports and baselines match cases by name."""
    prompt: str
    attachments: list[ContentPart] = field(default_factory=list)
    """Images and documents sent with the prompt."""
    expected_output: Any = None
    """What `Equals()` and `Contains()` with no argument compare to; shown to an `LLMJudge`."""
    evaluators: Sequence[Evaluator | CheckFunction] = field(default_factory=list)
    """This case's evaluators, applied after the dataset's (functions are made `Check`s)."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise UserError("A case needs a name (a non-empty string).")
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise UserError(f"Case {self.name!r} needs a prompt (non-empty text).")
        self.evaluators = [as_evaluator(e) for e in self.evaluators]

    def content(self) -> str | list[ContentPart]:
        """What the agent is given: the prompt, with the attachments when there are any."""
        return [TextPart(text=self.prompt), *self.attachments] if self.attachments else self.prompt


@dataclass(kw_only=True)
class Dataset:
    """Cases and the evaluators applied to every one of them.

    Evaluators are `Evaluator`s or functions of the `Evaluated` run (made into `Check`s).
    """

    cases: list[Case]
    evaluators: Sequence[Evaluator | CheckFunction] = field(default_factory=list)
    """Applied to every case (functions are made `Check`s)."""

    def __post_init__(self) -> None:
        self.cases = list(self.cases)
        if not self.cases:
            raise UserError("A dataset needs at least one case.")
        names = [case.name for case in self.cases]
        if duplicate := next((n for n in names if names.count(n) > 1), None):
            raise UserError(f"Two cases are named {duplicate!r}; case names must be unique.")
        self.evaluators = [as_evaluator(e) for e in self.evaluators]

    @classmethod
    def from_file(cls, path: str | Path) -> Dataset:
        """The dataset in a case file: YAML (`.yaml`/`.yml`, needs `pip install 'agentkit[evals]'`) or JSON.

        Image and document paths in it are relative to the file's folder.

        Raises:
            CaseFileError: The file cannot be read or parsed, or does not follow the schema (docs/evals.md);
                the message names the line and what to fix.
        """
        return _build(read_source(path), Path(path).parent)

    async def evaluate(
        self,
        agent: Agent[Any, Any],
        *,
        repeat: int = 1,
        concurrency: int = 4,
        models: Sequence[Model | str] | None = None,
        on_run: RunListener | None = None,
    ) -> EvalReport:
        """Run every case on `agent` `repeat` times (per model of `models`, or on the agent's own model), at
        most `concurrency` runs at once, and score the runs; a run that raises is a failed run with its error.

        `on_run` is called with each `CaseRun` as it finishes (a progress display, or keeping what finished
        when the evaluation is cancelled).

        Raises:
            UserError: Misuse every run would meet (no API key, a bad setting, `repeat` or `concurrency` under
                1, a model given twice); the other runs are cancelled.
        """
        from ._run import evaluate

        return await evaluate(
            self, agent, repeat=repeat, concurrency=concurrency, models=models, on_run=on_run
        )

    def evaluate_sync(
        self,
        agent: Agent[Any, Any],
        *,
        repeat: int = 1,
        concurrency: int = 4,
        models: Sequence[Model | str] | None = None,
        on_run: RunListener | None = None,
    ) -> EvalReport:
        """`evaluate()` for code without an event loop."""
        from .._support.sync import run_sync

        return run_sync(
            self.evaluate(agent, repeat=repeat, concurrency=concurrency, models=models, on_run=on_run)
        )


# The case file ------------------------------------------------------------------------------------------

_TOP_KEYS = ("cases", "evaluators")
_CASE_KEYS = ("name", "prompt", "images", "documents", "expected_output", "evaluators")


def _build(source: Source, folder: Path) -> Dataset:
    data = source.data
    if not isinstance(data, dict):
        raise source.error("the file must hold a mapping with a `cases` list (see docs/evals.md)", ())
    _known_keys(source, data, (), _TOP_KEYS)
    evaluators = _evaluators(source, data.get("evaluators"), ("evaluators",))
    cases = data.get("cases")
    if not isinstance(cases, list) or not cases:
        raise source.error("`cases` must be a non-empty list of cases", ("cases",) if "cases" in data else ())
    built: list[Case] = []
    for index, case in enumerate(cases):
        where: Where = ("cases", index)
        built.append(_case(source, case, where, folder))
        if built[-1].name in [c.name for c in built[:-1]]:
            raise source.error(
                f"a second case named {built[-1].name!r}; case names must be unique", (*where, "name")
            )
    return Dataset(cases=built, evaluators=evaluators)


def _known_keys(source: Source, mapping: dict[Any, Any], where: Where, allowed: Sequence[str]) -> None:
    for key in mapping:
        if key not in allowed:
            raise source.error(f"unknown key {key!r} (allowed: {', '.join(allowed)})", (*where, str(key)))


def _case(source: Source, case: Any, where: Where, folder: Path) -> Case:
    if not isinstance(case, dict):
        raise source.error("a case must be a mapping with `name` and `prompt`", where)
    _known_keys(source, case, where, _CASE_KEYS)
    for key in ("name", "prompt"):
        value = case.get(key)
        if not isinstance(value, str) or not value.strip():
            at = (*where, key) if key in case else where
            raise source.error(f"`{key}` is required: non-empty text", at)
    attachments: list[ContentPart] = []
    for key in ("images", "documents"):
        attachments += _attachments(
            source, case.get(key), (*where, key), folder, documents=key == "documents"
        )
    return Case(
        name=case["name"],
        prompt=case["prompt"],
        attachments=attachments,
        expected_output=case.get("expected_output"),
        evaluators=_evaluators(source, case.get("evaluators"), (*where, "evaluators")),
    )


def _attachments(
    source: Source, value: Any, where: Where, folder: Path, *, documents: bool
) -> list[ContentPart]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise source.error("must be a list of file paths or http(s) URLs", where)
    parts: list[ContentPart] = []
    for index, item in enumerate(value):
        try:
            if item.startswith(("http://", "https://")):
                parts.append(DocumentPart.from_url(item) if documents else ImagePart(url=item))
            else:
                path = folder / item
                parts.append(DocumentPart.from_path(path) if documents else ImagePart.from_path(path))
        except UserError as exc:
            raise source.error(str(exc), (*where, index)) from None
    return parts


def _evaluators(source: Source, value: Any, where: Where) -> list[Evaluator]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise source.error('must be a list of evaluators, such as `- contains: "5"`', where)
    return [_file_evaluator(source, item, (*where, index)) for index, item in enumerate(value)]


def _file_evaluator(source: Source, item: Any, where: Where) -> Evaluator:
    """`- name: argument` (or a bare `- name` for those that need none) as an `Evaluator`."""
    if isinstance(item, str):
        name, argument, at = item, None, where
    elif isinstance(item, dict) and len(item) == 1:
        name, argument = next(iter(item.items()))
        at = (*where, str(name))
    else:
        raise source.error('an evaluator is one `name: argument` pair, such as `- contains: "5"`', where)
    builder = _BUILDERS.get(name)
    if builder is None:
        raise source.error(f"unknown evaluator {name!r} (known: {', '.join(EVALUATOR_NAMES)})", where)
    try:
        return builder(argument)
    except (TypeError, ValueError, UserError) as exc:
        raise source.error(str(exc) if at != where else f"{name}: {exc}", at) from None


def _options(
    argument: Any, main: str, allowed: Sequence[str], *, required: Sequence[str] = ()
) -> dict[str, Any]:
    """An argument given as a scalar (`main`'s value) or a mapping of `allowed` keys, as a dict."""
    options = argument if isinstance(argument, dict) else {main: argument}
    unknown = [key for key in options if key not in allowed]
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (allowed: {', '.join(allowed)})")
    missing = [key for key in required if options.get(key) is None]
    if missing:
        raise ValueError(f"`{missing[0]}` is required")
    return dict(options)


def _typed(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{what} must be {_KIND_NAMES.get(kind, 'a number')}, not {value!r}")
    return value


_KIND_NAMES: dict[Any, str] = {str: "text", int: "a whole number", dict: "a mapping"}


def _limit(kind: type | tuple[type, ...]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        value = _typed(value, kind, "the limit")
        if value < 0:
            raise ValueError(f"the limit must be >= 0, not {value!r}")
        return value

    return check


def _contains(argument: Any) -> Evaluator:
    options = _options(argument, "text", ("text", "ignore_case"))
    text = options.get("text")
    return Contains(text=None if text is None else str(text), ignore_case=bool(options.get("ignore_case")))


def _regex(argument: Any) -> Evaluator:
    options = _options(argument, "pattern", ("pattern", "ignore_case"), required=("pattern",))
    return Regex(
        pattern=_typed(options["pattern"], str, "pattern"), ignore_case=bool(options.get("ignore_case"))
    )


def _tool(argument: Any, *, count: bool) -> dict[str, Any]:
    allowed = ("name", "args", "count") if count else ("name", "args")
    options = _options(argument, "name", allowed, required=("name",))
    options["tool"] = _typed(options.pop("name"), str, "name")
    if options.get("args") is not None:
        _typed(options["args"], dict, "args")
    if options.get("count") is not None:
        _limit(int)(options["count"])
    return options


def _judge(argument: Any) -> Evaluator:
    options = _options(argument, "rubric", ("rubric", "model", "threshold"), required=("rubric",))
    if options.get("model") is not None:
        _typed(options["model"], str, "model")
    if options.get("threshold") is not None:
        _typed(options["threshold"], (int, float), "threshold")
    return LLMJudge(
        rubric=_typed(options["rubric"], str, "rubric"), **{k: v for k, v in options.items() if k != "rubric"}
    )


def _no_error(argument: Any) -> Evaluator:
    if argument not in (None, True):
        raise ValueError("takes no argument (write `- no_error`)")
    return NoError()


_BUILDERS: dict[str, Callable[[Any], Evaluator]] = {
    "equals": lambda argument: Equals(value=argument),
    "contains": _contains,
    "regex": _regex,
    "json_schema": lambda argument: JsonSchema(schema=_typed(argument, dict, "the schema")),
    "tool_called": lambda argument: ToolCalled(**_tool(argument, count=True)),
    "tool_not_called": lambda argument: ToolNotCalled(**_tool(argument, count=False)),
    "max_requests": lambda argument: MaxRequests(limit=_limit(int)(argument)),
    "max_cost_usd": lambda argument: MaxCostUsd(limit=_limit((int, float))(argument)),
    "max_seconds": lambda argument: MaxSeconds(limit=_limit((int, float))(argument)),
    "no_error": _no_error,
    "llm_judge": _judge,
}
EVALUATOR_NAMES = tuple(_BUILDERS)
"""The evaluators a case file may name."""
