"""The child process of `tests/test_reasoning_processes.py`: a tool run on the loopback server playing a
Gemini 3 model that enforces thought signatures, through the real OpenAI path.

    python reasoning_app.py MODE BASE_URL DATABASE WORK_DIR CALLS

MODE is `session` or `session-stream` (one run continuing the SQLite session `chat` in DATABASE, plainly
or streamed), `crash` (a durable run whose last `add` call writes `add.ready` in WORK_DIR before its side
effect and waits to be killed) or `resume` (launch DBOS, which recovers the run, and wait for its result).
CALLS is how many `add` calls the run makes. Each side effect appends a line to `add.count` in WORK_DIR.
The result is printed as one JSON line after `RESULT `.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from agentkit import Agent, tool
from agentkit.models.openai import OpenAIChatModel

MODEL = "google/gemini-3-flash-preview"
WORKFLOW_ID = "reasoning-app-run"

mode, base_url, database, work_dir, calls = sys.argv[1:6]
work = Path(work_dir)


@tool(idempotent=True)  # a call cut short by the kill is run again on recovery (not reported as in doubt)
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first.
        b: The second.
    """
    if mode == "crash" and a == int(calls) - 1:
        (work / "add.ready").write_text("", encoding="utf-8")
        time.sleep(120)  # killed here: every earlier call and model request checkpointed
    with open(work / "add.count", "a", encoding="utf-8") as file:
        file.write("ran\n")
    return a + b


agent = Agent(OpenAIChatModel(MODEL, base_url=base_url, api_key="test"), tools=[add], name="adder")

if mode.startswith("session"):
    from agentkit.sessions import SQLiteSession

    session = SQLiteSession(database, "chat")
    if mode == "session-stream":
        events = list(agent.run_stream_sync("Add again.", session=session))
        result = events[-1].result  # type: ignore[union-attr]
    else:
        result = agent.run_sync("Add again.", session=session)
else:
    from dbos import DBOS, SetWorkflowID

    from agentkit.durable import DBOSAgent

    durable = DBOSAgent(agent)
    DBOS(
        config={
            "name": "reasoning-app",
            "system_database_url": f"sqlite:///{database}",
            "log_level": "WARNING",
        }
    )
    DBOS.launch()
    if mode == "resume":
        result = DBOS.retrieve_workflow(WORKFLOW_ID).get_result()
    else:
        with SetWorkflowID(WORKFLOW_ID):
            result = durable.run_sync("Add some numbers.")
print(
    "RESULT " + json.dumps({"output": result.output, "messages": json.loads(result.messages_json())}),
    flush=True,
)
if not mode.startswith("session"):
    DBOS.destroy()
