"""`import agentkit` stays cheap: no `openai`, no `agentkit.evals` nor `yaml`, and defining a tool needs neither `openai` nor `jsonschema`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = """
import sys
import agentkit

assert "openai" not in sys.modules, "import agentkit imported openai"

@agentkit.tool
def add(a: int, b: int = 1) -> int:
    '''Add two numbers.

    Args:
        a: The first.
        b: The second.
    '''
    return a + b

for dialect in ("standard", "openai-strict", "gemini"):
    add.openai_tool(dialect)
assert add.validate_arguments('{"a": 1}', dialect="gemini") == {"a": 1, "b": 1}
loaded = sorted(
    name
    for name in ("openai", "jsonschema", "httpx", "agentkit.evals", "yaml", "starlette", "uvicorn", "ag_ui")
    if name in sys.modules
)
print(",".join(loaded) or "none")
"""


def test_import_agentkit_does_not_import_openai() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    run = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "none"


WEB_CHECK = """
import sys
from agentkit import Agent
from agentkit.testing import ScriptedModel

agent = Agent(ScriptedModel(["hi"]))
assert not [m for m in ("starlette", "uvicorn", "ag_ui") if m in sys.modules], "Agent imported the web extra"
app = agent.to_web(session_db=":memory:")
print(type(app).__name__, "starlette" in sys.modules)
"""


def test_the_web_extra_is_imported_only_by_to_web() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    run = subprocess.run(
        [sys.executable, "-c", WEB_CHECK], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "Starlette True"
