"""The child process of `tests/test_durable.py`: one durable run of two tool turns, through the real OpenAI
path to the test's `LoopbackServer`.

    python durable_app.py MODE DATABASE BASE_URL WORK_DIR [idempotent]

MODE is `plain` (run to the end), `crash` (the second tool writes `second.ready` in WORK_DIR, before its side
effect, and waits to be killed), `crash-after` (the same, after its side effect) or `resume` (launch DBOS,
which recovers the run, and wait for its result). `idempotent` marks the second tool `idempotent=True`.
Each tool's side effect appends a line to `<tool>.count` in WORK_DIR; each start of the second tool appends
its `ctx.idempotency_key` to `second.keys`. The result is printed as one JSON line after `RESULT `.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

from dbos import DBOS, SetWorkflowID

from agentkit import Agent, RunContext, tool
from agentkit.durable import DBOSAgent
from agentkit.models.openai import OpenAIChatModel

MODEL = "google/gemini-2.0-flash-001"
WORKFLOW_ID = "durable-app-run"

mode, database, base_url, work_dir = sys.argv[1:5]
idempotent = sys.argv[5:] == ["idempotent"]
work = Path(work_dir)


def count(name: str) -> None:
    with open(work / f"{name}.count", "a", encoding="utf-8") as file:
        file.write("ran\n")


@tool
def first(city: str) -> str:
    """The temperature in a city.

    Args:
        city: The city.
    """
    count("first")
    return f"{city}: 21 C"


def wait_to_be_killed() -> None:
    (work / "second.ready").write_text("", encoding="utf-8")
    time.sleep(120)


@tool(idempotent=idempotent)
def second(ctx: RunContext, city: str) -> str:
    """Whether it rains in a city.

    Args:
        city: The city.
    """
    with open(work / "second.keys", "a", encoding="utf-8") as file:
        file.write(ctx.idempotency_key + "\n")
    if mode == "crash":
        wait_to_be_killed()  # after the first tool's checkpoint, before this one's side effect
    count("second")
    if mode == "crash-after":
        wait_to_be_killed()  # after this tool's side effect, before its checkpoint
    return f"{city}: no rain"


model = OpenAIChatModel(MODEL, base_url=base_url, api_key="test")
agent = DBOSAgent(Agent(model, tools=[first, second], name="weather"))

DBOS(config={"name": "durable-app", "system_database_url": f"sqlite:///{database}", "log_level": "WARNING"})
DBOS.launch()
if mode == "resume":
    result = DBOS.retrieve_workflow(WORKFLOW_ID).get_result()
else:
    with SetWorkflowID(WORKFLOW_ID):
        result = agent.run_sync("Weather in Paris?")
summary = {
    "output": result.output,
    "messages": json.loads(result.messages_json()),
    "usage": dataclasses.asdict(result.usage),
}
print("RESULT " + json.dumps(summary), flush=True)
DBOS.destroy()
