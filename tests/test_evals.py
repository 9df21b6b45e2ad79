"""`agentkit.evals` in code: each evaluator scores runs of test doubles exactly, repeats and models, the
judge through a double answering JSON, errors that do not end the eval, reports and baselines."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import Agent, AssistantMessage, Message, UserError, tool
from agentkit.evals import (
    Case,
    CaseRun,
    Check,
    Contains,
    Dataset,
    Equals,
    EvalReport,
    Evaluated,
    EvaluatorResult,
    JsonSchema,
    LLMJudge,
    MaxCostUsd,
    MaxRequests,
    MaxSeconds,
    NoError,
    Regex,
    ToolCalled,
    ToolNotCalled,
)
from agentkit.testing import FunctionModel, RequestInfo, last_user_text, tool_call_response
from agentkit.usage import Usage


@tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


def adder(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
    """Calls `add` for "What is A + B?", then answers with the sum; answers other prompts as they are."""
    if info.tool_results:
        return f"The sum is {info.tool_results[0].content}."
    text = last_user_text(messages)
    if text.startswith("What is"):
        a, _, b = text.removeprefix("What is ").rstrip("?").split()
        return tool_call_response("add", {"a": int(a), "b": int(b)})
    if text == "boom":
        raise RuntimeError("the model broke")
    return text


def sum_agent(function: Any = adder, name: str = "double") -> Agent[None, str]:
    return Agent(FunctionModel(function, model_name=name), tools=[add])


def results_of(report: EvalReport, case: str) -> dict[str, tuple[bool, str | None]]:
    run = next(r for r in report.runs if r.case == case)
    return {r.name: (r.passed, r.reason) for r in run.results}


def test_each_built_in_evaluator_scores_a_run_exactly() -> None:
    case = Case(
        name="sum",
        prompt="What is 2 + 3?",
        expected_output="The sum is 5.",
        evaluators=[
            Equals(),
            Contains(text="SUM IS", ignore_case=True),
            Contains(text="SUM IS"),
            Regex(pattern=r"sum is \d+\.$"),
            ToolCalled(tool="add", args={"a": 2}),
            ToolCalled(tool="add", args={"a": 7}),
            ToolCalled(tool="add", count=2),
            ToolNotCalled(tool="add", args={"b": 4}),
            MaxRequests(limit=1),
            MaxCostUsd(limit=1.0),
            MaxSeconds(limit=60),
            NoError(),
        ],
    )
    report = Dataset(cases=[case]).evaluate_sync(sum_agent())
    (run,) = report.runs
    assert run.output == "The sum is 5." and run.error is None and run.usage.requests == 2
    assert [(r.name, r.passed, r.reason) for r in run.results] == [
        ("equals", True, None),
        ("contains", True, None),
        ("contains", False, "'SUM IS' not in 'The sum is 5.'"),
        ("regex", True, None),
        ("tool_called", True, None),
        ("tool_called", False, 'add({"a": 7}) called 0 time(s), expected at least once (tools called: add)'),
        ("tool_called", False, "add called 1 time(s), expected 2 time(s) (tools called: add)"),
        ("tool_not_called", True, None),
        ("max_requests", False, "2 requests > 1"),
        ("max_cost_usd", True, None),
        ("max_seconds", True, None),
        ("no_error", True, None),
    ]
    assert not run.passed
    summary = report.summaries["double"]
    assert (summary.runs, summary.passed, summary.requests, summary.errors) == (1, 0, 2.0, 0)


class City(BaseModel):
    name: str
    population: int


def test_structured_output_equals_json_and_validates_against_a_schema() -> None:
    agent: Agent[None, City] = Agent(
        FunctionModel(lambda m, i: '{"name": "Oslo", "population": 709000}'),
        output_type=City,
        output_mode="prompted",
    )
    schema = {"type": "object", "required": ["name"], "properties": {"population": {"type": "integer"}}}
    strict = {"type": "object", "properties": {"population": {"type": "string"}}}
    case = Case(
        name="oslo",
        prompt="Oslo?",
        expected_output={"name": "Oslo", "population": 709000},
        evaluators=[
            Equals(),
            Equals(value={"name": "Bergen"}),
            JsonSchema(schema=schema),
            JsonSchema(schema=strict),
            Contains(text='"population": 709000'),
        ],
    )
    report = Dataset(cases=[case]).evaluate_sync(agent)
    assert report.runs[0].output == {"name": "Oslo", "population": 709000}
    assert [(r.passed, r.reason) for r in report.runs[0].results] == [
        (True, None),
        (False, "expected {'name': 'Bergen'}, got City(name='Oslo', population=709000)"),
        (True, None),
        (False, "population: 709000 is not of type 'string'"),
        (True, None),
    ]


def test_json_schema_on_text_output_parses_it_first() -> None:
    schema = {"type": "array"}
    dataset = Dataset(
        cases=[Case(name="list", prompt="[1, 2]"), Case(name="text", prompt="not json")],
        evaluators=[JsonSchema(schema=schema)],
    )
    report = dataset.evaluate_sync(sum_agent())
    assert results_of(report, "list") == {"json_schema": (True, None)}
    assert results_of(report, "text") == {"json_schema": (False, "the output is not JSON: Expecting value")}
    with pytest.raises(UserError, match="json_schema is not a valid JSON Schema"):
        JsonSchema(schema={"type": 5})
    with pytest.raises(UserError, match="not a valid regular expression"):
        Regex(pattern="(")


def test_a_run_that_raises_is_a_failed_run_with_its_error_and_the_eval_goes_on() -> None:
    dataset = Dataset(
        cases=[Case(name="bad", prompt="boom"), Case(name="good", prompt="fine")],
        evaluators=[NoError(), Contains(text="fine"), MaxRequests(limit=5)],
    )
    report = dataset.evaluate_sync(sum_agent())
    bad = next(r for r in report.runs if r.case == "bad")
    assert bad.error == "RuntimeError: the model broke"
    assert bad.output is None and not bad.passed
    assert results_of(report, "bad") == {
        "no_error": (False, "RuntimeError: the model broke"),
        "contains": (False, "'fine' not in None"),
        "max_requests": (True, None),
    }
    assert next(r for r in report.runs if r.case == "good").passed
    assert report.summaries["double"].errors == 1
    assert report.pass_rate == 0.5


async def test_misuse_is_raised_and_cancels_the_other_runs() -> None:
    started: list[str] = []

    async def answer(messages: list[Message], info: RequestInfo) -> str:
        started.append(last_user_text(messages))
        if last_user_text(messages) == "misuse":
            raise UserError("No API key")
        await asyncio.sleep(30)
        return "late"

    dataset = Dataset(cases=[Case(name="slow", prompt="slow"), Case(name="misuse", prompt="misuse")])
    with pytest.raises(UserError, match="No API key"):
        await asyncio.wait_for(dataset.evaluate(sum_agent(answer)), 10)
    assert started == ["slow", "misuse"]


def test_a_failed_run_keeps_its_transcript_and_usage_for_the_evaluators() -> None:
    agent = Agent(
        FunctionModel(lambda m, i: tool_call_response("add", "not json"), model_name="m"),
        tools=[add],
        max_turns=1,
    )
    case = Case(
        name="sum",
        prompt="What is 2 + 3?",
        evaluators=[ToolCalled(tool="add"), ToolCalled(tool="add", args={"a": 2}), MaxRequests(limit=1)],
    )
    report = Dataset(cases=[case]).evaluate_sync(agent)
    (run,) = report.runs
    assert run.error is not None and run.error.startswith("UsageLimitExceeded: ")
    assert run.usage.requests == 1
    assert [r.passed for r in run.results] == [True, False, True]


def test_tool_calls_of_a_transcript_with_arguments_that_are_not_json() -> None:
    from agentkit import ToolCall
    from agentkit.evals._evaluators import tool_calls

    broken = ToolCall(id="1", name="add", arguments="{oops")
    fine = ToolCall(id="2", name="add", arguments="")
    assert tool_calls([AssistantMessage(tool_calls=[broken, fine])]) == [(broken, None), (fine, {})]


def test_equals_without_an_expected_output_says_what_is_missing() -> None:
    report = Dataset(cases=[Case(name="x", prompt="hi", evaluators=[Equals(), Contains()])]).evaluate_sync(
        sum_agent()
    )
    assert results_of(report, "x") == {
        "equals": (False, "the evaluator raised UserError: equals with no argument needs the case's expected_output (case 'x')."),
        "contains": (False, "the evaluator raised UserError: contains with no argument needs the case's expected_output (case 'x')."),
    }  # fmt: skip


def test_custom_checks_return_a_bool_a_score_a_reason_or_a_result() -> None:
    async def slow_yes(run: Evaluated) -> bool:
        await asyncio.sleep(0)
        return run.text == "hi"

    def short(run: Evaluated) -> float:
        return 1 / len(run.text)

    def reason(run: Evaluated) -> str:
        return f"too polite: {run.text}"

    def nothing(run: Evaluated) -> None:
        return None

    def result(run: Evaluated) -> EvaluatorResult:
        return EvaluatorResult(name="mine", passed=True, score=0.25, reason="fine")

    def wrong(run: Evaluated) -> Any:
        return ["a list"]

    case = Case(
        name="hi",
        prompt="hi",
        evaluators=[
            Check(function=slow_yes),
            Check(function=short, threshold=0.6),
            short,
            reason,
            nothing,
            result,
            wrong,
        ],
    )
    report = Dataset(cases=[case]).evaluate_sync(sum_agent())
    assert [(r.name, r.passed, r.score, r.reason) for r in report.runs[0].results] == [
        ("slow_yes", True, None, None),
        ("short", False, 0.5, "score 0.5 < 0.6"),
        ("short", True, 0.5, None),
        ("reason", False, None, "too polite: hi"),
        ("nothing", True, None, None),
        ("mine", True, 0.25, "fine"),
        ("wrong", False, None, "the evaluator raised UserError: The check 'wrong' returned a list; return a bool, "
         "a score, a reason (str), None or an EvaluatorResult."),
    ]  # fmt: skip


def test_repeats_give_pass_rate_and_pass_k() -> None:
    calls = {"n": 0}

    def flaky(messages: list[Message], info: RequestInfo) -> str:
        calls["n"] += 1
        return "right" if last_user_text(messages) == "steady" or calls["n"] % 2 else "wrong"

    dataset = Dataset(
        cases=[Case(name="steady", prompt="steady"), Case(name="flaky", prompt="flaky")],
        evaluators=[Check(function=lambda run: run.output == "right", name="right")],
    )
    report = dataset.evaluate_sync(sum_agent(flaky), repeat=4, concurrency=1)
    summary = report.summaries["double"]
    assert (summary.runs, summary.passed, summary.cases, summary.cases_passed_every_time) == (8, 6, 2, 1)
    assert summary.pass_rate == 0.75 and summary.pass_all_k == 0.5
    assert sorted(r.repeat for r in report.runs if r.case == "flaky") == [0, 1, 2, 3]
    assert report.case_passed("steady", "double") is True
    assert report.case_passed("flaky", "double") is False
    assert report.case_passed("absent", "double") is None
    lines = _printed(report)
    assert lines[:3] == ["              double", "pass rate     75% (6/8)", "pass^4        50% (1/2)"]
    assert lines[-2:] == [
        "FAIL flaky #2 [double]: right: returned False",
        "FAIL flaky #4 [double]: right: returned False",
    ]


def _printed(report: EvalReport) -> list[str]:
    import io

    out = io.StringIO()
    report.print(file=out)
    return out.getvalue().splitlines()


async def test_models_side_by_side_and_concurrency_is_bounded() -> None:
    running = {"now": 0, "most": 0}

    def by_model(name: str) -> FunctionModel:
        async def answer(messages: list[Message], info: RequestInfo) -> str:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
            await asyncio.sleep(0.01)
            running["now"] -= 1
            return f"{name} says {last_user_text(messages)}"

        return FunctionModel(answer, model_name=name)

    agent = sum_agent()
    dataset = Dataset(
        cases=[Case(name=f"c{i}", prompt=f"p{i}") for i in range(4)],
        evaluators=[Contains(text="big says")],
    )
    report = await dataset.evaluate(
        agent, models=[by_model("big"), by_model("small")], repeat=2, concurrency=3
    )
    assert report.models == ["big", "small"]
    assert running["most"] == 3
    assert len(report.runs) == 16
    assert {r.model: r.answered_by for r in report.runs} == {"big": "big", "small": "small"}
    assert report.summaries["big"].pass_rate == 1.0 and report.summaries["small"].pass_rate == 0.0
    assert _printed(report)[0].split() == ["big", "small"]
    assert agent.model.model_name == "double"  # the agent itself is unchanged
    with pytest.raises(UserError, match="given twice"):
        await dataset.evaluate(agent, models=[by_model("big"), by_model("big")])
    with pytest.raises(UserError, match="at least 1"):
        await dataset.evaluate(agent, repeat=0)


async def test_model_ids_are_resolved_once_and_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    import agentkit.evals._run as run_module

    made: list[FunctionModel] = []
    closed: list[str] = []

    class Closing(FunctionModel):
        async def aclose(self) -> None:
            closed.append(self.model_name)

    def infer(model: Any) -> Any:
        if isinstance(model, str):
            made.append(Closing(lambda m, i: "ok", model_name=model))
            return made[-1]
        return model

    monkeypatch.setattr(run_module, "infer_model", infer)
    dataset = Dataset(cases=[Case(name="a", prompt="x"), Case(name="b", prompt="y")])
    report = await dataset.evaluate(sum_agent(), models="vendor/one")
    assert report.models == ["vendor/one"] and len(made) == 1 and len(made[0].requests) == 2
    assert closed == ["vendor/one"]


async def test_cancelling_keeps_the_finished_runs_and_closes_the_models() -> None:
    finished: list[CaseRun] = []

    async def answer(messages: list[Message], info: RequestInfo) -> str:
        if last_user_text(messages) != "quick":
            await asyncio.sleep(30)
        return "done"

    dataset = Dataset(cases=[Case(name="quick", prompt="quick"), Case(name="slow", prompt="slow")])
    first = asyncio.Event()

    def on_run(run: CaseRun) -> None:
        finished.append(run)
        first.set()

    task = asyncio.create_task(dataset.evaluate(sum_agent(answer), on_run=on_run))
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [r.case for r in finished] == ["quick"]


def judge_double(verdicts: list[dict[str, Any] | str], prompts: list[str]) -> FunctionModel:
    def answer(messages: list[Message], info: RequestInfo) -> str:
        prompts.append(last_user_text(messages))
        verdict = verdicts.pop(0)
        return verdict if isinstance(verdict, str) else json.dumps(verdict)

    return FunctionModel(answer, model_name="judge")


def test_llm_judge_gives_a_verdict_its_cost_counted_apart() -> None:
    prompts: list[str] = []
    judge = judge_double(
        [
            {"passed": True, "score": 0.9, "reason": "Correct sum."},
            {"passed": True, "score": 0.4, "reason": "Right but curt."},
        ],
        prompts,
    )
    case = Case(
        name="sum",
        prompt="What is 2 + 3?",
        expected_output="5",
        evaluators=[
            LLMJudge(rubric="The answer gives the right sum.", model=judge),
            LLMJudge(rubric="Polite.", model=judge, threshold=0.5),
        ],
    )
    report = Dataset(cases=[case]).evaluate_sync(sum_agent())
    (run,) = report.runs
    assert [(r.name, r.passed, r.score, r.reason) for r in run.results] == [
        ("llm_judge", True, 0.9, "Correct sum."),
        ("llm_judge", False, 0.4, "Right but curt."),
    ]
    asked = json.loads(prompts[0])
    assert asked == {
        "rubric": "The answer gives the right sum.",
        "task": "What is 2 + 3?",
        "tool_calls": [{"tool": "add", "arguments": {"a": 2, "b": 3}}],
        "answer": "The sum is 5.",
        "expected_answer": "5",
    }
    judged = run.judge_usage
    assert judged.requests == 2 and judged.total_tokens > 0
    assert run.usage.requests == 2  # the run's own usage holds no judge request
    assert run.to_dict()["judge_cost_usd"] == judged.cost_usd
    assert report.summaries["double"].judge_cost_usd == judged.cost_usd
    assert _printed(report)[8].split()[:4] == ["judge", "(total)", "2", "req,"]


def test_a_judge_that_cannot_answer_fails_its_check_and_says_why() -> None:
    judge = judge_double(["no idea", "still no idea", "nope", "never"], [])
    case = Case(name="x", prompt="boom", evaluators=[LLMJudge(rubric="Anything.", model=judge)])
    report = Dataset(cases=[case]).evaluate_sync(sum_agent())
    (result,) = report.runs[0].results
    assert not result.passed and result.reason is not None
    assert result.reason.startswith("the judge failed: UnexpectedModelBehavior")
    assert result.usage is not None and result.usage.requests == 3


def test_the_judge_model_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import agentkit.evals._judge as judge_module

    asked: list[Any] = []
    monkeypatch.setattr(judge_module, "infer_model", lambda model: asked.append(model) or "resolved")
    judge = LLMJudge(rubric="r")
    assert judge.judge_model() == "resolved" and judge.judge_model() == "resolved"
    assert asked == [None]


def test_datasets_and_cases_refuse_bad_input() -> None:
    with pytest.raises(UserError, match="at least one case"):
        Dataset(cases=[])
    with pytest.raises(UserError, match="Two cases are named 'a'"):
        Dataset(cases=[Case(name="a", prompt="x"), Case(name="a", prompt="y")])
    with pytest.raises(UserError, match="needs a name"):
        Case(name="", prompt="x")
    with pytest.raises(UserError, match="needs a prompt"):
        Case(name="a", prompt=" ")
    with pytest.raises(UserError, match="not int"):
        Dataset(cases=[Case(name="a", prompt="x")], evaluators=[3])  # type: ignore[list-item]
    with pytest.raises(UserError, match="Check needs a function"):
        Check(function=3)  # type: ignore[arg-type]


def test_report_json_round_trip_and_comparison_with_a_baseline() -> None:
    def run(case: str, passed: bool, model: str = "m", repeat: int = 0) -> CaseRun:
        return CaseRun(
            case=case,
            model=model,
            repeat=repeat,
            output="x",
            usage=Usage(requests=1, input_tokens=3, output_tokens=2, cost_usd=0.5),
            seconds=float(repeat + 1),
            results=[EvaluatorResult(name="check", passed=passed, reason=None if passed else "no")],
        )

    old = EvalReport(
        runs=[run("a", True), run("b", False), run("c", True), run("gone", True)],
        models=["m"],
        cases=["a", "b", "c", "gone"],
    )
    old = EvalReport.from_json(old.to_json())
    assert [r.passed for r in old.runs] == [True, False, True, True]
    assert old.runs[0].usage.cost_usd == 0.5
    new = EvalReport(
        runs=[run("a", False, "n"), run("b", True, "n"), run("c", True, "n"), run("new", True, "n")],
        models=["n"],
        cases=["a", "b", "c", "new"],
    )
    comparison = new.compare(old)  # one model each: matched by case name
    assert [(c.case, c.change, c.before, c.now) for c in comparison.changes] == [
        ("a", "broke", "1/1", "0/1"),
        ("b", "fixed", "0/1", "1/1"),
        ("c", "still passing", "1/1", "1/1"),
        ("new", "new", "", "1/1"),
        ("gone", "gone", "1/1", ""),
    ]
    assert [c.case for c in comparison.regressions] == ["a"] and [c.case for c in comparison.fixed] == ["b"]
    assert comparison.pass_rates == {"n": (0.75, 0.75)}
    assert comparison.to_dict()["regressions"] == 1
    import io

    out = io.StringIO()
    comparison.print(file=out)
    assert out.getvalue().splitlines() == [
        "REGRESSION: a [n] 1/1 -> 0/1",
        "fixed: b [n] 0/1 -> 1/1",
        "new: new [n] - -> 1/1",
        "gone: gone [n] 1/1 -> -",
        "pass rate [n]: 75% -> 75%",
        "1 regression(s), 1 fixed",
    ]
    two = EvalReport(runs=[run("a", True, "m"), run("a", True, "k")], models=["m", "k"], cases=["a"])
    both = two.compare(old)  # several models: matched by model too
    assert [(c.model, c.case, c.change) for c in both.changes] == [
        ("m", "a", "still passing"),
        ("m", "b", "gone"),
        ("m", "c", "gone"),
        ("m", "gone", "gone"),
        ("k", "a", "new"),
    ]
    assert both.pass_rates == {"m": (0.75, 1.0), "k": (None, 1.0)}
    with pytest.raises(UserError, match="not an evaluation report"):
        EvalReport.from_json('{"runs": 3}')


def test_summary_figures_and_an_empty_report() -> None:
    runs = [
        CaseRun(
            case="a", model="m", repeat=i, seconds=float(i + 1), usage=Usage(requests=i, cost_usd=0.00001)
        )
        for i in range(10)
    ]
    summary = EvalReport(runs=runs, models=["m"], cases=["a"], repeat=10).summaries["m"]
    assert summary.mean_seconds == 5.5 and summary.p90_seconds == 9.0 and summary.requests == 4.5
    assert summary.to_dict()["pass_all_k"] == 1.0
    empty = EvalReport(runs=[], models=["m"], cases=["a"], interrupted=True)
    assert empty.pass_rate == 0.0 and empty.summaries["m"].pass_rate == 0.0
    assert empty.summaries["m"].pass_all_k == 0.0 and empty.summaries["m"].p90_seconds == 0.0
    assert _printed(empty)[-1] == "interrupted: 0 runs finished"
    assert "$1.00e-05" in _printed(EvalReport(runs=runs, models=["m"], cases=["a"]))[6]


def test_attachments_go_with_the_prompt(tmp_path: Path) -> None:
    from agentkit import ImagePart, TextPart

    seen: list[Any] = []

    def answer(messages: list[Message], info: RequestInfo) -> str:
        seen.append(messages[-1].content)
        return "a chart"

    image = ImagePart(url="https://example.com/chart.png")
    report = Dataset(cases=[Case(name="img", prompt="What is this?", attachments=[image])]).evaluate_sync(
        sum_agent(answer)
    )
    assert report.runs[0].passed
    assert seen == [[TextPart(text="What is this?"), image]]


def test_an_eval_recorded_in_a_cassette_replays_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/evals.md: runs are ordinary runs, so a cassette replays an eval (the judge's requests too)."""
    from agentkit.testing import LoopbackServer, cassette

    def responder(body: dict[str, Any]) -> Any:
        if "You grade" in body["messages"][0]["content"]:
            return tool_call_response("final_result", {"passed": True, "score": 1.0, "reason": "Fine."})
        last = body["messages"][-1]
        if last["role"] == "tool":
            return f"The sum is {last['content']}."
        return tool_call_response("add", {"a": 2, "b": 3})

    dataset = Dataset(
        cases=[
            Case(name=f"sum{i}", prompt="What is 2 + 3?", evaluators=[Contains(text="5")]) for i in range(2)
        ],
        evaluators=[LLMJudge(rubric="Gives the sum.")],
    )
    recording = tmp_path / "eval.json"
    with LoopbackServer([responder] * 6) as server:
        monkeypatch.setenv("AGENTKIT_BASE_URL", server.base_url)
        monkeypatch.setenv("AGENTKIT_API_KEY", "test-key")
        with cassette(recording):
            recorded = dataset.evaluate_sync(Agent(tools=[add]), concurrency=1)
    assert len(server.requests) == 6
    with cassette(recording, mode="replay"):  # the server is gone
        replayed = dataset.evaluate_sync(Agent(tools=[add]), concurrency=1)
    assert [r.to_dict()["results"] for r in replayed.runs] == [r.to_dict()["results"] for r in recorded.runs]
    assert [r.output for r in replayed.runs] == ["The sum is 5."] * 2
    assert all(r.passed for r in replayed.runs) and replayed.runs[0].judge_usage.requests == 1


def test_each_run_of_a_case_is_a_span_holding_the_run_and_the_judge() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from agentkit import instrumentation

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    judge = judge_double([{"passed": True, "score": 1.0, "reason": "ok"}], [])
    dataset = Dataset(
        cases=[Case(name="sum", prompt="What is 2 + 3?"), Case(name="bad", prompt="boom")],
        evaluators=[Contains(text="5")],
    )
    dataset.cases[0].evaluators.append(LLMJudge(rubric="r", model=judge))
    instrumentation.configure(tracer_provider=provider)
    try:
        dataset.evaluate_sync(sum_agent(), concurrency=1)
    finally:
        instrumentation.configure()
    spans = exporter.get_finished_spans()
    cases = {s.name: s for s in spans if s.name.startswith("eval_case")}
    assert set(cases) == {"eval_case sum", "eval_case bad"}
    sum_span = cases["eval_case sum"]
    assert dict(sum_span.attributes or {}) == {
        "agentkit.eval.case": "sum", "agentkit.eval.model": "double", "agentkit.eval.repeat": 0, "agentkit.eval.passed": True,
    }  # fmt: skip
    assert (cases["eval_case bad"].attributes or {})["agentkit.eval.error"] == "RuntimeError: the model broke"
    runs = [s for s in spans if s.name.startswith("invoke_agent")]
    assert len(runs) == 3  # two runs and the judge's
    in_sum = [s for s in runs if s.parent is not None and s.parent.span_id == sum_span.context.span_id]
    assert len(in_sum) == 2


EVALS_PUBLIC = [
    "EVALUATOR_NAMES", "Case", "CaseChange", "CaseFileError", "CaseRun", "Check", "CheckFunction", "CheckResult", "Comparison", "Contains",
    "Dataset", "Equals", "EvalReport", "Evaluated", "Evaluator", "EvaluatorResult", "JsonSchema", "LLMJudge", "MaxCostUsd",
    "MaxRequests", "MaxSeconds", "ModelSummary", "NoError", "Regex", "RunListener", "ToolCalled", "ToolNotCalled", "Verdict",
]  # fmt: skip


def test_the_public_names_of_agentkit_evals_are_locked() -> None:
    import agentkit.evals

    assert sorted(agentkit.evals.__all__) == sorted(EVALS_PUBLIC)
    assert all(hasattr(agentkit.evals, name) for name in EVALS_PUBLIC)
