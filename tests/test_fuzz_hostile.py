"""Fuzz: random hostile replies and random hostile tool results (`hostile.py`), seeded and bounded.

Every run ends in an answer (each tool error in it read by the model: a request followed it), or in an
`AgentRunError` carrying the transcript and usage; never in another exception. Both ways the transcript writes
as JSON. Through `ScriptedModel` and through the real `AsyncOpenAI` client against the loopback server,
streamed and not. Then 1,000 such tasks through `agentkit batch` (in-process, the loopback server answering):
one line per task, and a resume redoes only the failed ones.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hostile
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

from agentkit import (
    Agent,
    AgentRunError,
    AssistantMessage,
    Message,
    ModelAPIError,
    ToolCall,
    ToolMessage,
    UserMessage,
    instrumentation,
    messages_to_json,
)
from agentkit.cli import ExitCode, main
from agentkit.models.openai import OpenAIChatModel
from agentkit.models.profiles import LOCAL, ModelProfile
from agentkit.result import RunResult
from agentkit.testing import HTTPError, LoopbackServer, ScriptedModel

MODEL = "google/gemini-2.0-flash-001"
SCRIPTED_RUNS = 300
"""Runs per mode through `ScriptedModel` (each a fresh seed)."""
LOOPBACK_RUNS = 40
"""Runs per mode through the SDK and the loopback server."""
BATCH_TASKS = 1000

Script = list[AssistantMessage | str | BaseException | HTTPError]


def script_for(seed: int, *, loopback: bool, turns: int = 4) -> Script:
    """The replies of run `seed`: up to `turns` hostile turns then an answer; one run in ten fails at the
    endpoint."""
    rng = random.Random(seed)
    script: Script = list(hostile.hostile_script(rng, turns=turns))
    if rng.random() < 0.1:
        failure = HTTPError(status=400, message="bad") if loopback else ModelAPIError("bad", status_code=400)
        script.insert(rng.randrange(len(script)), failure)
    return script


def check(seed: int, outcome: RunResult[Any] | BaseException) -> str:
    """Assert the run ended as it must; returns how (`answer` or the error's type)."""
    if isinstance(outcome, BaseException):
        assert isinstance(outcome, AgentRunError), f"seed {seed}: {type(outcome).__name__}: {outcome!r}"
        assert outcome.usage is not None, f"seed {seed}: no usage"
        messages: list[Message] = outcome.messages
        how = type(outcome).__name__
    else:
        messages = outcome.messages
        text = outcome.output if isinstance(outcome.output, str) else outcome.output.text
        assert text.startswith("done"), f"seed {seed}: {outcome.output!r}"
        last_answer = max(i for i, m in enumerate(messages) if isinstance(m, AssistantMessage))
        # every tool error was read: a request followed it (the last turn's answers are a final result's)
        unread = [m for m in messages[last_answer:] if isinstance(m, ToolMessage) and m.is_error]
        assert not unread, f"seed {seed}: a tool error the model never read"
        answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
        calls = {c.id for m in messages if isinstance(m, AssistantMessage) for c in m.tool_calls}
        assert calls == answered, f"seed {seed}: calls without an answer: {calls - answered}"
        how = "answer"
    assert isinstance(messages[0], UserMessage) and messages[0].content == f"run {seed}", f"seed {seed}"
    for message in messages:
        if isinstance(message, ToolMessage):
            message.content.encode("utf-8")  # lone surrogates were replaced
    json.loads(messages_to_json(messages))
    return how


async def run_one(agent: Agent[None, Any], seed: int, *, stream: bool) -> RunResult[Any] | BaseException:
    try:
        if not stream:
            return await agent.run(f"run {seed}")
        async with agent.run_stream(f"run {seed}") as events:
            async for _ in events:
                pass
        return events.result
    except Exception as exc:
        return exc


@pytest.mark.parametrize(
    ("stream", "profile"),
    [(False, None), (True, None), (False, LOCAL)],
    ids=["run", "stream", "local-traced"],
)
async def test_hostile_replies_and_results_through_scripted_models(
    stream: bool, profile: ModelProfile | None
) -> None:
    """`local-traced`: the local model's profile (its grounding checker reads every call's arguments) with
    tracing on and content captured (the spans decode and record every call's arguments and result)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    if profile is not None:
        instrumentation.configure(tracer_provider=provider, capture_content=True)
    started = time.perf_counter()
    endings: dict[str, int] = {}
    try:
        for seed in range(SCRIPTED_RUNS):
            script = script_for(seed, loopback=False) + ["done"] * 3  # the checker may question an answer
            model = ScriptedModel(script, profile=profile)  # type: ignore[arg-type]
            outcome = await run_one(Agent(model, tools=hostile.TOOLS), seed, stream=stream)
            how = check(seed, outcome)
            endings[how] = endings.get(how, 0) + 1
    finally:
        instrumentation.configure()
    assert endings.get("answer", 0) > SCRIPTED_RUNS // 3, endings
    assert endings.get("UnexpectedModelBehavior", 0) and endings.get("ModelAPIError", 0), endings
    assert time.perf_counter() - started < 60
    if profile is not None:
        runs = [s for s in exporter.get_finished_spans() if s.name.startswith("invoke_agent")]
        assert len(runs) == SCRIPTED_RUNS


class Answer(BaseModel):
    text: str
    count: int = 0
    score: float = 0.0


def structured_script(seed: int) -> Script:
    """Hostile turns whose calls are sometimes the final-result tool's, then a valid final result."""
    rng = random.Random(seed)
    script: Script = []
    for turn in range(rng.randint(1, 3)):
        reply = hostile.hostile_reply(rng, turn)
        calls = [
            dataclasses.replace(c, name="final_result") if rng.random() < 0.5 else c for c in reply.tool_calls
        ]
        script.append(dataclasses.replace(reply, tool_calls=calls))
    final = ToolCall(id="end", name="final_result", arguments='{"text": "done", "count": 1}')
    return [*script, AssistantMessage(tool_calls=[final])]


@pytest.mark.parametrize("stream", [False, True], ids=["run", "stream"])
async def test_hostile_final_results(stream: bool) -> None:
    """The final-result tool's arguments are as hostile as any call's; streamed, the partial output is
    validated as each piece arrives."""
    endings: dict[str, int] = {}
    for seed in range(SCRIPTED_RUNS):
        model = ScriptedModel(structured_script(seed))  # type: ignore[arg-type]
        agent = Agent(model, tools=hostile.TOOLS, output_type=Answer)
        how = check(seed, await run_one(agent, seed, stream=stream))
        endings[how] = endings.get(how, 0) + 1
    assert endings.get("answer", 0) > SCRIPTED_RUNS // 3, endings


def responder(scripts: Callable[[str], Script]) -> Callable[[dict[str, Any]], Any]:
    """The loopback server's answer to a request: the next reply of the run its first message names."""

    def answer(body: dict[str, Any]) -> Any:
        messages = body["messages"]
        turn = sum(m["role"] == "assistant" for m in messages)
        script = scripts(messages[0]["content"])
        return script[turn] if turn < len(script) else "done"

    return answer


@pytest.mark.parametrize("stream", [False, True], ids=["run", "stream"])
async def test_hostile_replies_and_results_through_the_sdk(stream: bool) -> None:
    scripts = {f"run {seed}": script_for(seed, loopback=True) for seed in range(LOOPBACK_RUNS)}
    endings: dict[str, int] = {}
    with LoopbackServer([responder(scripts.__getitem__)] * 1000) as server:
        model = OpenAIChatModel(MODEL, base_url=server.base_url, api_key="test-key")
        try:
            for seed in range(LOOPBACK_RUNS):
                outcome = await run_one(Agent(model, tools=hostile.TOOLS), seed, stream=stream)
                how = check(seed, outcome)
                endings[how] = endings.get(how, 0) + 1
        finally:
            await model.aclose()
    assert endings.get("answer", 0) > LOOPBACK_RUNS // 3, endings
    for body in server.bodies:  # every request went out, lone surrogates sent as U+FFFD
        json.dumps(body).encode("utf-8")


def task_script(prompt: str) -> Script:
    return script_for(int(prompt.removeprefix("run ")), loopback=True, turns=2)


def test_a_batch_of_hostile_tasks_finishes_and_a_resume_redoes_only_the_failed(
    tmp_path: Path, server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks, out = tmp_path / "tasks.jsonl", tmp_path / "out.jsonl"
    lines = [json.dumps({"id": seed, "prompt": f"run {seed}"}) for seed in range(BATCH_TASKS)]
    tasks.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tools = str(Path(hostile.__file__))
    args = ["batch", str(tasks), "--out", str(out), "--tools", tools, "--concurrency", "8", "--json-summary"]
    server.add(*[responder(task_script)] * 20_000)
    started = time.perf_counter()
    code = main(args)
    elapsed = time.perf_counter() - started
    summary = json.loads(capsys.readouterr().out)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in records) == list(range(BATCH_TASKS))  # one line per task
    failed = {r["id"] for r in records if r["error"] is not None}
    assert all(r["output"].startswith("done") for r in records if r["error"] is None)
    assert {r["error"]["type"] for r in records if r["error"]} <= {"ModelAPIError", "UnexpectedModelBehavior"}
    assert 0 < len(failed) < BATCH_TASKS // 2
    assert code == ExitCode.RUN_FAILED and summary["failed"] == len(failed)
    assert elapsed < 120, f"{BATCH_TASKS} tasks took {elapsed:.1f} s"  # ~32 s measured at load 7 on 2 cores

    before = len(server.requests)
    assert main(args) == ExitCode.RUN_FAILED
    resumed = {int(r.body["messages"][0]["content"].removeprefix("run ")) for r in server.requests[before:]}
    assert resumed == failed  # none that finished
    assert json.loads(capsys.readouterr().out)["answered_before"] == BATCH_TASKS - len(failed)
    assert len(out.read_text(encoding="utf-8").splitlines()) == BATCH_TASKS + len(failed)
