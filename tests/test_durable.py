"""Durable runs on DBOS (`agentkit.durable`): a run killed mid-way resumes in a new process without running a
completed tool again or paying for a completed request again; in-process, a durable run gives what a plain
run gives, its model requests and tool calls recorded as steps."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("dbos")

from dbos import DBOS, SetWorkflowID
from pydantic import BaseModel
from shared_tools import add

from agentkit import (
    Agent,
    AssistantMessage,
    Message,
    ModelRetry,
    RetryPolicy,
    RunContext,
    ToolMessage,
    UsageLimitExceeded,
    UserError,
    tool,
)
from agentkit._run.tool_calls import SubRunFailed, SubRunOutput
from agentkit.durable import DBOSAgent
from agentkit.testing import (
    FunctionModel,
    LoopbackServer,
    RequestInfo,
    ScriptedModel,
    tool_call_response,
    tool_calls_response,
)
from agentkit.toolsets import FunctionToolset, Toolset

ROOT = Path(__file__).resolve().parents[1]
APP = Path(__file__).with_name("durable_app.py")
MODEL = "google/gemini-2.0-flash-001"


# --- a run killed and resumed in a new process ----------------------------------------------------------


def weather_script() -> list[Any]:
    return [
        tool_call_response("first", {"city": "Paris"}, id="call_first"),
        tool_call_response("second", {"city": "Paris"}, id="call_second"),
        "Paris: 21 C and no rain.",
    ]


def start_app(
    mode: str, database: Path, server: LoopbackServer, work: Path, *, idempotent: bool = False
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTKIT_", "OPENROUTER_", "DBOS"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, str(APP), mode, str(database), server.base_url, str(work)]
    command += ["idempotent"] if idempotent else []
    return subprocess.Popen(
        command, env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(app: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = app.communicate(timeout=120)
    assert app.returncode == 0, err
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    return result


def counts(work: Path) -> dict[str, int]:
    """How many times each tool's side effect happened."""
    files = {name: work / f"{name}.count" for name in ("first", "second")}
    return {
        name: len(f.read_text(encoding="utf-8").splitlines()) if f.exists() else 0
        for name, f in files.items()
    }


def keys(work: Path) -> list[str]:
    """The `ctx.idempotency_key` of each start of the second tool."""
    path = work / "second.keys"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def kill_inside_second(mode: str, database: Path, server: LoopbackServer, work: Path, **options: Any) -> None:
    """Start the app and SIGKILL it once the second tool is running."""
    crashing = start_app(mode, database, server, work, **options)
    try:
        wait_for(work / "second.ready", crashing)
    finally:
        crashing.send_signal(signal.SIGKILL)
        crashing.communicate(timeout=60)
    assert crashing.returncode == -signal.SIGKILL


def wait_for(path: Path, app: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert app.poll() is None, app.communicate()[1]
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_a_run_killed_inside_an_idempotent_tool_resumes_and_runs_it_again_with_the_same_key(
    tmp_path: Path,
) -> None:
    plain_dir, durable_dir = tmp_path / "plain", tmp_path / "durable"
    plain_dir.mkdir()
    durable_dir.mkdir()
    with LoopbackServer(weather_script(), model=MODEL) as reference:
        plain = start_app("plain", plain_dir / "dbos.sqlite", reference, plain_dir, idempotent=True)
        expected = finish(plain)
    with LoopbackServer(weather_script(), model=MODEL) as server:
        database = durable_dir / "dbos.sqlite"
        kill_inside_second("crash", database, server, durable_dir, idempotent=True)
        assert counts(durable_dir) == {"first": 1, "second": 0}
        assert len(server.requests) == 2  # the answers asking for the first and the second tool

        resumed = finish(start_app("resume", database, server, durable_dir, idempotent=True))

    assert counts(durable_dir) == {"first": 1, "second": 1} == counts(plain_dir)
    # started twice, with one key: the workflow's id and the call's step
    started = keys(durable_dir)
    assert len(started) == 2 and started[0] == started[1]
    assert started[0].startswith("durable-app-run:")
    assert keys(plain_dir) == started[:1]  # derived from the workflow id and step: the same in any process
    assert len(server.requests) == len(reference.requests) == 3
    assert server.bodies == reference.bodies  # the resumed run sent what the uninterrupted one sent
    assert resumed == expected
    assert resumed["output"] == "Paris: 21 C and no rain."


def test_a_run_killed_inside_a_tool_that_is_not_idempotent_tells_the_model_instead_of_running_it_again(
    tmp_path: Path,
) -> None:
    from agentkit.durable._steps import IN_DOUBT

    with LoopbackServer(weather_script(), model=MODEL) as server:
        database = tmp_path / "dbos.sqlite"
        kill_inside_second("crash-after", database, server, tmp_path)  # after its side effect
        assert counts(tmp_path) == {"first": 1, "second": 1}

        resumed = finish(start_app("resume", database, server, tmp_path))

    assert counts(tmp_path) == {"first": 1, "second": 1}  # not run again
    assert len(keys(tmp_path)) == 1
    told = [m for m in resumed["messages"] if m["role"] == "tool" and m["tool_call_id"] == "call_second"]
    assert [(m["content"], m["is_error"]) for m in told] == [(IN_DOUBT, True)]
    assert "effect of this call is unknown" in IN_DOUBT and "not run again" in IN_DOUBT
    assert "Check whether it did" in IN_DOUBT
    sent = server.bodies[-1]["messages"][-1]  # the request after recovery tells the model so
    assert sent == {"role": "tool", "tool_call_id": "call_second", "name": "second", "content": IN_DOUBT}
    assert len(server.requests) == 3


# --- in-process: DBOS launched on a SQLite file in tmp_path ---------------------------------------------


@pytest.fixture
def dbos(tmp_path: Path) -> Iterator[None]:
    """DBOS is one per process: launched for the test, destroyed after it with its registry (so the next
    test registers its agents' workflows anew)."""
    DBOS(
        config={
            "name": "agentkit-tests",
            "system_database_url": f"sqlite:///{tmp_path / 'dbos.sqlite'}",
            "log_level": "WARNING",
        }
    )
    DBOS.launch()
    try:
        yield
    finally:
        DBOS.destroy(destroy_registry=True)


def adding_script() -> list[Any]:
    return [tool_calls_response([("add", {"a": 1, "b": 2}), ("add", {"a": 3, "b": 4})]), "3 and 7"]


def steps(workflow_id: str) -> list[tuple[str, Any]]:
    """A workflow's recorded steps: name and output."""
    return [(s["function_name"], s["output"]) for s in DBOS.list_workflow_steps(workflow_id)]


async def step_names(workflow_id: str) -> list[str]:
    return [s["function_name"] for s in await DBOS.list_workflow_steps_async(workflow_id)]


def test_a_durable_run_gives_what_a_plain_run_gives(dbos: None) -> None:
    agent = Agent(ScriptedModel(adding_script()), tools=[add], name="adder")
    durable = DBOSAgent(agent)
    plain = agent.run_sync("add", model=ScriptedModel(adding_script()))

    with SetWorkflowID("adder-1"):
        result = durable.run_sync("add")

    assert result.output == plain.output == "3 and 7"
    assert result.messages == plain.messages
    assert result.usage == plain.usage
    assert result.usage.requests == 2 and result.usage.tool_calls == 2
    recorded = steps("adder-1")
    assert [name for name, _ in recorded] == [
        "adder.model.request",
        "adder.tool.add:call_1.started",  # recorded before the call runs
        "adder.tool.add:call_1",
        "adder.tool.add:call_2.started",
        "adder.tool.add:call_2",
        "adder.model.request",
    ]
    assert [output for _, output in recorded[1:5]] == [None, "3", None, "7"]
    assert recorded[5][1] == result.messages[-1]
    assert DBOS.retrieve_workflow("adder-1").get_status().name == durable.workflow_name == "adder.run"


class Sum(BaseModel):  # at module level: the run's result is pickled, and so is its output
    total: int


async def test_async_run_with_structured_output_and_options(dbos: None) -> None:
    model = ScriptedModel(
        [
            tool_calls_response([("add", {"a": 2, "b": 2}), ("deps_of", {})]),
            tool_call_response("final_result", {"total": 4}),
        ]
    )
    seen: list[Any] = []

    @tool
    def deps_of(ctx: RunContext[str]) -> str:
        """The deps."""
        seen.append(ctx.deps)
        return ctx.deps

    durable = DBOSAgent(Agent(tools=[add, deps_of], output_type=Sum, name="summer"))
    with SetWorkflowID("summer-1"):
        result = await durable.run("2+2?", model=model, deps="d", max_turns=3)
    assert result.output == Sum(total=4)
    assert seen == ["d"]
    assert await step_names("summer-1") == [
        "summer.model.request",
        "summer.tool.add:call_1.started",
        "summer.tool.add:call_1",
        "summer.tool.deps_of:call_2.started",
        "summer.tool.deps_of:call_2",
        "summer.model.request",
    ]


def test_a_workflow_id_run_twice_is_not_run_or_paid_for_again(dbos: None) -> None:
    calls: list[int] = []

    @tool
    def effect(n: int) -> str:
        """Do something once.

        Args:
            n: Which.
        """
        calls.append(n)
        return "done"

    model = ScriptedModel([tool_call_response("effect", {"n": 1}), "ok"])
    durable = DBOSAgent(Agent(model, tools=[effect], name="once"))
    with SetWorkflowID("once-1"):
        first = durable.run_sync("go")
    with SetWorkflowID("once-1"):
        again = durable.run_sync("go")
    assert again.messages == first.messages
    assert calls == [1] and len(model.requests) == 2


def test_runs_can_go_through_a_dbos_queue(dbos: None) -> None:
    durable = DBOSAgent(Agent(ScriptedModel(["queued"]), name="queued"))
    DBOS.register_queue("agent-runs", polling_interval_sec=0.05)
    handle = DBOS.enqueue_workflow("agent-runs", durable.workflow, "hi")
    assert handle.get_result().output == "queued"


def test_a_failed_run_carries_its_transcript(dbos: None) -> None:
    model = ScriptedModel(
        [tool_call_response("add", {"a": 1, "b": 1}), tool_call_response("add", {"a": 2, "b": 2})]
    )
    durable = DBOSAgent(Agent(model, tools=[add], name="looper", max_turns=1))
    with SetWorkflowID("looper-1"), pytest.raises(UsageLimitExceeded, match="max_turns=1") as raised:
        durable.run_sync("add")
    assert [m.role for m in raised.value.messages] == ["user", "assistant", "tool"]
    assert raised.value.usage is not None and raised.value.usage.requests == 1
    # the error is recorded too: read back from the database, it keeps the transcript
    with pytest.raises(UsageLimitExceeded) as recorded:
        DBOS.retrieve_workflow("looper-1").get_result()
    assert recorded.value.messages == raised.value.messages


def test_an_agent_tools_step_keeps_the_sub_runs_transcript(dbos: None) -> None:
    writer = Agent(
        ScriptedModel([tool_call_response("add", {"a": 1, "b": 2}), "3"]), name="writer", tools=[add]
    )
    failing = Agent(ScriptedModel([AssistantMessage(content="")] * 3), name="failing")
    calls = tool_calls_response([("writer", {"task": "add"}), ("failing", {"task": "t"})])
    agent = Agent(ScriptedModel([calls, "done"]), name="editor", tools=[writer.as_tool(), failing.as_tool()])
    with SetWorkflowID("editor-1"):
        result = DBOSAgent(agent).run_sync("go")

    answered, failed = (m for m in result.messages if isinstance(m, ToolMessage))
    assert answered.content == "3" and not answered.is_error
    assert answered.transcript is not None and [m.role for m in answered.transcript][-1] == "assistant"
    assert failed.is_error and failed.content.startswith("The failing agent failed:")
    assert failed.transcript is not None and len(failed.transcript) >= 2
    # inside the steps, the sub-runs still count in the caller's usage: 2 requests each for the editor and
    # the writer, and the failing agent's 3 tries
    assert result.usage.requests == 2 + 2 + 3
    calls = [s for s in DBOS.list_workflow_steps("editor-1") if ".tool." in s["function_name"]]
    recorded = [s for s in calls if not s["function_name"].endswith(".started")]
    # the checkpoints are the output as the model reads it with the transcript, and the error with it
    assert recorded[0]["output"] == SubRunOutput(output="3", transcript=answered.transcript)
    assert isinstance(recorded[1]["error"], SubRunFailed)
    assert recorded[1]["error"].transcript == failed.transcript


# Checkpoints as agentkit wrote them before the run part moved into `agentkit._run` (pickle, protocol 4, as
# DBOS records a step's output and error): they name `agentkit._tool_calls`, the classes' old module.
EARLIER_CHECKPOINTS = {
    "SubRunOutput": b"\x80\x04\x95\xa4\x00\x00\x00\x00\x00\x00\x00\x8c\x14agentkit._tool_calls\x94\x8c\x0cSubRunOutput"
    b"\x94\x93\x94)\x81\x94}\x94(\x8c\x06output\x94\x8c\x0242\x94\x8c\ntranscript\x94]\x94\x8c\x11agentkit.messages"
    b"\x94\x8c\x0bUserMessage\x94\x93\x94)\x81\x94}\x94(\x8c\x07content\x94\x8c\x02hi\x94\x8c\x08feedback\x94\x89"
    b"\x8c\x04role\x94\x8c\x04user\x94ubaub.",
    "SubRunFailed": b"\x80\x04\x95\xac\x00\x00\x00\x00\x00\x00\x00\x8c\x14agentkit._tool_calls\x94\x8c\x0cSubRunFailed"
    b"\x94\x93\x94\x8c\x06failed\x94\x85\x94R\x94}\x94(\x8c\x07message\x94h\x03\x8c\ntranscript\x94]\x94\x8c\x11"
    b"agentkit.messages\x94\x8c\x0bUserMessage\x94\x93\x94)\x81\x94}\x94(\x8c\x07content\x94\x8c\x02hi\x94\x8c\x08"
    b"feedback\x94\x89\x8c\x04role\x94\x8c\x04user\x94ubaub.",
    "UnwritableResult": b"\x80\x04\x955\x00\x00\x00\x00\x00\x00\x00\x8c\x14agentkit._tool_calls\x94\x8c\x10"
    b"UnwritableResult\x94\x93\x94\x8c\x01x\x94\x85\x94R\x94.",
}


def test_checkpoints_written_before_the_run_part_moved_still_load() -> None:
    import pickle

    from agentkit import UserMessage
    from agentkit._run.tool_calls import UnwritableResult

    transcript = [UserMessage(content="hi")]
    output = pickle.loads(EARLIER_CHECKPOINTS["SubRunOutput"])
    assert output == SubRunOutput(output="42", transcript=transcript)
    failed = pickle.loads(EARLIER_CHECKPOINTS["SubRunFailed"])
    assert isinstance(failed, SubRunFailed) and str(failed) == "failed" and failed.transcript == transcript
    unwritable = pickle.loads(EARLIER_CHECKPOINTS["UnwritableResult"])
    assert isinstance(unwritable, UnwritableResult) and str(unwritable) == "x"


def test_a_key_the_server_echoes_is_not_recorded(dbos: None, tmp_path: Path) -> None:
    """A 401 body quoting the key: the error DBOS records (pickled) holds it nowhere, in no encoding."""
    from agentkit import ModelAPIError
    from agentkit._support.redact import redact_bytes
    from agentkit.models.openai import OpenAIChatModel
    from agentkit.testing import HTTPError

    key = "sk-durable-v1-" + "9f8e7d6c5b4a3f2e1d0c" * 3
    with LoopbackServer([HTTPError(status=401, message=f"Invalid API key: {key}")]) as server:
        model = OpenAIChatModel(MODEL, base_url=server.base_url, api_key=key)
        durable = DBOSAgent(Agent(model, name="echoed"))
        with SetWorkflowID("echoed-1"), pytest.raises(ModelAPIError):
            durable.run_sync("hi")
    with pytest.raises(ModelAPIError) as recorded:
        DBOS.retrieve_workflow("echoed-1").get_result()
    assert key not in str(recorded.value) and key not in repr(recorded.value.body)
    assert recorded.value.status_code == 401
    for path in tmp_path.glob("dbos.sqlite*"):
        data = path.read_bytes()
        assert redact_bytes(data, [key]) == data, f"a form of the key is in {path.name}"


class Unpicklable(Exception):
    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


def test_tool_failures_are_recorded_as_a_plain_run_words_them(dbos: None) -> None:
    @tool
    def retry() -> str:
        """Ask again."""
        raise ModelRetry("try 42")

    @tool
    def broken() -> str:
        """Fail."""
        raise Unpicklable("bad", extra="x")

    @tool
    def failing() -> str:
        """Fail plainly."""
        raise ValueError("nope")

    @tool(timeout=0.05)
    async def slow() -> str:
        """Too slow."""
        await asyncio.sleep(5)
        return "late"

    @tool
    async def own_timeout() -> str:
        """Its own timeout."""
        raise asyncio.TimeoutError

    names = ["retry", "broken", "failing", "slow", "own_timeout"]

    def script() -> list[Any]:
        return [tool_calls_response([(name, {}) for name in names]), "ok"]

    agent = Agent(ScriptedModel(script()), tools=[retry, broken, failing, slow, own_timeout], name="failer")
    plain = agent.run_sync("go", model=ScriptedModel(script()))
    with SetWorkflowID("failer-1"):
        result = DBOSAgent(agent).run_sync("go")
    contents = [m.content for m in result.messages if m.role == "tool"]
    assert contents == [
        "try 42",
        "The tool raised RuntimeError: Unpicklable: bad",
        "The tool raised ValueError: nope",
        "The tool timed out after 0.05 seconds.",
        "The tool raised TimeoutError: ",
    ]
    plain_contents = [m.content for m in plain.messages if m.role == "tool"]
    assert contents[2:] == plain_contents[2:] and contents[0] == plain_contents[0]
    assert plain_contents[1] == "The tool raised Unpicklable: bad"
    errors = [s["error"] for s in DBOS.list_workflow_steps("failer-1")[2:-1:2]]
    assert [type(e).__name__ for e in errors] == [
        "ModelRetry",
        "RuntimeError",
        "ValueError",
        "ModelRetry",
        "TimeoutError",
    ]


class Started(Toolset):
    def __init__(self) -> None:
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1

    async def get_tools(self, ctx: RunContext[Any]) -> list[Any]:
        return [add]


async def test_toolset_tools_are_steps_and_async_with_keeps_them_started(dbos: None) -> None:
    toolset = Started()
    script = [tool_call_response("add", {"a": 5, "b": 5}), "10"]
    agent = Agent(ScriptedModel(script * 2), toolsets=[toolset, FunctionToolset([])], name="kit")
    durable = DBOSAgent(agent)
    async with durable:
        assert toolset.is_running
        with SetWorkflowID("kit-1"):
            first = await durable.run("add")
        with SetWorkflowID("kit-2"):
            await durable.run("add")
    assert not toolset.is_running and toolset.starts == 1
    assert first.output == "10"
    assert await step_names("kit-1") == [
        "kit.model.request",
        "kit.tool.add:call_1.started",
        "kit.tool.add:call_1",
        "kit.model.request",
    ]


async def test_a_toolset_tool_named_like_an_agent_tool_is_refused_naming_the_toolset(dbos: None) -> None:
    durable = DBOSAgent(Agent(ScriptedModel(["x"]), tools=[add], toolsets=[Started()], name="clash"))
    with SetWorkflowID("clash-1"), pytest.raises(UserError, match="Started supplies a tool named 'add'"):
        await durable.run("add")


async def test_the_step_model_is_the_model_it_wraps_to_the_loop(dbos: None) -> None:
    from agentkit.durable._steps import StepModel

    inner = ScriptedModel(["x"], model_name="openai/gpt-4o")
    model = StepModel(inner, step_name="m.model.request")
    assert (model.model_name, model.profile, model.describe()) == (
        inner.model_name,
        inner.profile,
        inner.describe(),
    )
    await model.aclose()


async def test_run_sync_inside_an_event_loop_is_refused(dbos: None) -> None:
    durable = DBOSAgent(Agent(ScriptedModel(["x"]), name="looped"))
    with pytest.raises(UserError, match=r"await agent\.run"):
        durable.run_sync("hi")


def test_a_name_is_required_and_unique(dbos: None) -> None:
    with pytest.raises(UserError, match="needs a name"):
        DBOSAgent(Agent(ScriptedModel([])))
    DBOSAgent(Agent(ScriptedModel([]), name="twice"))
    with pytest.raises(UserError, match=r"'twice\.run' is already registered"):
        DBOSAgent(Agent(ScriptedModel([]), name="other"), name="twice")
    named = DBOSAgent(Agent(ScriptedModel([]), name="ignored"), name="chosen")
    assert named.name == "chosen" and named.workflow_name == "chosen.run"
    assert "chosen" in repr(named)


def test_streaming_is_not_durable(dbos: None) -> None:
    durable = DBOSAgent(Agent(ScriptedModel([]), name="streamer"))
    with pytest.raises(UserError, match="not streamed"):
        durable.run_stream("hi")
    with pytest.raises(UserError, match="not streamed"):
        durable.run_stream_sync("hi")


def test_run_sync_from_another_thread_takes_that_threads_workflow_id(dbos: None) -> None:
    durable = DBOSAgent(Agent(ScriptedModel(["a", "b"]), name="threaded"))
    outputs: list[str] = []

    def run(workflow_id: str) -> None:
        with SetWorkflowID(workflow_id):
            outputs.append(durable.run_sync("hi").output)

    for workflow_id in ("thread-1", "thread-2"):
        thread = threading.Thread(target=run, args=(workflow_id,))
        thread.start()
        thread.join()
    assert outputs == ["a", "b"]
    assert DBOS.retrieve_workflow("thread-2").get_result().output == "b"


@tool(requires_approval=True)
def refund(amount: int) -> str:
    """Refund an amount."""
    return f"refunded {amount}"


def test_approval_in_a_durable_run_stops_and_continues_as_two_workflows(dbos: None) -> None:
    model = ScriptedModel([tool_call_response("refund", {"amount": 5}), "Refunded 5."])
    durable = DBOSAgent(Agent(model, tools=[refund], name="refunds"))
    with SetWorkflowID("refund-ask"):
        first = durable.run_sync("refund 5")
    assert first.output is None and [c.name for c in first.pending_approvals] == ["refund"]
    # the stopped run is a finished workflow: its pending calls are read back from DBOS, hours later
    recorded = DBOS.retrieve_workflow("refund-ask").get_result()
    assert recorded.pending_approvals == first.pending_approvals
    with SetWorkflowID("refund-decided"):
        second = durable.run_sync(
            None, message_history=recorded.messages, approvals={first.pending_approvals[0].id: True}
        )
    assert second.output == "Refunded 5."
    assert [name for name, _ in steps("refund-decided")] == [
        "refunds.tool.refund:call_1.started",
        "refunds.tool.refund:call_1",
        "refunds.model.request",
    ]


def test_options_a_durable_run_cannot_take_are_refused(dbos: None, tmp_path: Path) -> None:
    from agentkit.sessions import SQLiteSession

    durable = DBOSAgent(Agent(ScriptedModel([]), name="picky"))
    with pytest.raises(UserError, match="no approve= callback"):
        durable.run_sync("hi", approve=lambda call: True)
    with pytest.raises(UserError, match="no session="):
        durable.run_sync("hi", session=SQLiteSession(tmp_path / "s.db", "x"))


def test_hooks_and_guardrails_are_refused_in_a_durable_run(dbos: None) -> None:
    from agentkit import Hooks, OutputGuardrail

    with pytest.raises(UserError, match="A durable run takes no hooks or guardrails"):
        DBOSAgent(Agent(ScriptedModel([]), name="hooked", hooks=[OutputGuardrail(lambda ctx, out: None)]))
    durable = DBOSAgent(Agent(ScriptedModel([]), name="unhooked"))
    with pytest.raises(UserError, match="A durable run takes no hooks or guardrails"):
        durable.run_sync("hi", hooks=[Hooks()])
    durable.agent.hooks.append(Hooks())  # added after the DBOSAgent was made
    with pytest.raises(UserError, match="A durable run takes no hooks or guardrails"):
        durable.run_sync("hi")


def test_dynamic_instructions_and_prepare_tools_work_in_a_durable_run(dbos: None) -> None:
    model = ScriptedModel([tool_call_response("plus", {"a": 1, "b": 2}), "3"])
    agent = Agent(
        model,
        name="dynamic",
        deps_type=str,
        tools=[add],
        instructions=["Be brief.", lambda ctx: f"The user is {ctx.deps}."],
        prepare_tools=lambda ctx, tools: [t.replace(name="plus") for t in tools],
    )
    with SetWorkflowID("dynamic-1"):
        result = DBOSAgent(agent).run_sync("1 + 2?", deps="Ann")
    assert result.output == "3"
    assert model.requests[0].messages[0].content == "Be brief.\n\nThe user is Ann."
    assert [t.name for t in model.requests[0].parameters.tools] == ["plus"]
    assert [name for name, _ in steps("dynamic-1")] == [  # the renamed tool's call is a step too
        "dynamic.model.request",
        "dynamic.tool.plus:call_1.started",
        "dynamic.tool.plus:call_1",
        "dynamic.model.request",
    ]


@tool
def snapshot() -> list[Any]:
    """A picture of the dashboard."""
    from agentkit import ImagePart, TextPart

    return [TextPart(text="the dashboard"), ImagePart(url="data:image/png;base64,iVBORw0KGgo=")]


def test_a_tool_result_with_images_is_checkpointed_whole(dbos: None) -> None:
    model = ScriptedModel([tool_call_response("snapshot", {}), "It shows the dashboard."])
    durable = DBOSAgent(Agent(model, tools=[snapshot], name="viewer"))
    with SetWorkflowID("viewer-1"):
        result = durable.run_sync("show me")
    message = result.messages[2]
    assert message.images and message.images[0].url.startswith("data:image/png")  # type: ignore[union-attr]
    recorded = dict(steps("viewer-1"))["viewer.tool.snapshot:call_1"]
    assert recorded[1].url == message.images[0].url  # type: ignore[union-attr]


# --- retries, idempotency keys and calls a crash cut short ----------------------------------------------


def step_ids(workflow_id: str) -> dict[str, int]:
    return {s["function_name"]: s["function_id"] for s in DBOS.list_workflow_steps(workflow_id)}


def test_a_durable_call_is_retried_inside_its_step_with_one_key_from_the_workflow(dbos: None) -> None:
    seen: list[tuple[int, str]] = []

    @tool(retry=RetryPolicy(exceptions=(ConnectionError,), initial_delay=0, max_delay=0))
    def pay(ctx: RunContext[None], amount: int) -> str:
        """Pay an amount."""
        seen.append((ctx.attempt, ctx.idempotency_key))
        if len(seen) < 3:
            raise ConnectionError("reset")
        return "paid"

    model = ScriptedModel([tool_call_response("pay", {"amount": 3}), "Paid."])
    durable = DBOSAgent(Agent(model, tools=[pay], name="payer"))
    with SetWorkflowID("payer-1"):
        result = durable.run_sync("pay 3")
    ids = step_ids("payer-1")
    assert seen == [(attempt, f"payer-1:{ids['payer.tool.pay:call_1']}") for attempt in (1, 2, 3)]
    assert ids["payer.tool.pay:call_1"] == ids["payer.tool.pay:call_1.started"] + 1
    assert dict(steps("payer-1"))["payer.tool.pay:call_1"] == "paid"  # one step for the three attempts
    assert result.usage.tool_retries == 2 and result.messages[2].content == "paid"


def pay_and_book(messages: list[Message], info: RequestInfo) -> Any:
    """Asks for both tools, then says what they answered."""
    if messages[-1].role == "user":
        return tool_calls_response([("pay", {"amount": 3}), ("book", {"seat": "1A"})])
    return " | ".join(m.content for m in messages if isinstance(m, ToolMessage))


def test_a_call_cut_short_runs_again_only_if_its_tool_is_idempotent(dbos: None) -> None:
    """A fork from a call's step has the call's `started` step but not its own: the state a crash inside
    the call leaves behind (the process-killing test is `test_a_run_killed_inside_...` above)."""
    from agentkit.durable._steps import IN_DOUBT

    effects: list[tuple[str, str]] = []

    @tool
    def pay(ctx: RunContext[None], amount: int) -> str:
        """Pay an amount."""
        effects.append(("pay", ctx.idempotency_key))
        return "paid"

    @tool(idempotent=True)
    def book(ctx: RunContext[None], seat: str) -> str:
        """Book a seat."""
        effects.append(("book", ctx.idempotency_key))
        return "booked"

    durable = DBOSAgent(Agent(FunctionModel(pay_and_book), tools=[pay, book], name="trip"))
    with SetWorkflowID("trip-1"):
        assert durable.run_sync("go").output == "paid | booked"
    ids = step_ids("trip-1")
    assert "trip.tool.pay:call_1.started" in ids and "trip.tool.book:call_2.started" not in ids
    assert sorted(effects) == [
        ("book", f"trip-1:{ids['trip.tool.book:call_2']}"),
        ("pay", f"trip-1:{ids['trip.tool.pay:call_1']}"),
    ]

    # cut short inside `pay`, which is not idempotent: not run again, the model told
    effects.clear()
    forked = DBOS.fork_workflow("trip-1", ids["trip.tool.pay:call_1"])
    result = forked.get_result()
    [told, booked] = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert (told.content, told.is_error) == (IN_DOUBT, True)
    assert not booked.is_error and [name for name, _ in effects] == ["book"]  # run afresh: not in doubt
    assert result.output == f"{IN_DOUBT} | booked"

    # cut short inside `book`, which is idempotent: run again, with the key its step gives
    effects.clear()
    forked = DBOS.fork_workflow("trip-1", ids["trip.tool.book:call_2"])
    result = forked.get_result()
    assert result.output == "paid | booked"
    assert effects == [("book", f"{forked.workflow_id}:{ids['trip.tool.book:call_2']}")]


def test_history_processors_change_what_is_sent_not_what_is_recorded(dbos: None) -> None:
    from agentkit import ToolMessage

    model = ScriptedModel(
        [tool_call_response("add", {"a": 1, "b": 2}), tool_call_response("add", {"a": 3, "b": 4}), "ok"]
    )
    agent = Agent(model, tools=[add], name="trimmed", history_processors=[lambda m: m[:1] + m[-2:]])
    with SetWorkflowID("trimmed-1"):
        result = DBOSAgent(agent).run_sync("add twice")
    assert len(model.requests[-1].messages) == 3 and len(result.messages) == 6  # sent: cut; kept: all
    recorded = steps("trimmed-1")
    calls = [
        output
        for name, output in recorded
        if name.startswith("trimmed.tool") and not name.endswith(".started")
    ]
    assert calls == ["3", "7"]
    assert recorded[-1][1] == result.messages[-1]
    assert [m.content for m in result.messages if isinstance(m, ToolMessage)] == ["3", "7"]
