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
loaded = sorted(name for name in ("openai", "jsonschema", "httpx", "agentkit.evals", "yaml") if name in sys.modules)
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
