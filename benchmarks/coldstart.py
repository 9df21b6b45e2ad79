"""Cold start: fresh interpreters that import a framework and define one tool.

Each case is a snippet run with `python -c` in a new process, timed inside the process from just before the
snippet to just after (the interpreter's own start-up is left out, and reported apart as the process's wall
time). "Define one tool" builds the tool's schema too, in the form sent to a Gemini model, so a framework
that builds schemas lazily is not flattered. The "+ tool" cases import what a user imports to build an agent
on the OpenAI chat-completions API. agentkit imports `openai` only when it first sends a request, so one more
case adds `import openai` to its "+ tool" case: the cost it defers to the first run.

Only the standard library is imported here.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass

_WEATHER = '''
def get_weather(city: str, units: Literal["c", "f"] = "c") -> str:
    """Get the current weather for a city.

    Args:
        city: The city name, for example "Paris".
        units: Temperature units: "c" for Celsius or "f" for Fahrenheit.
    """
    return f"{city}: 21 degrees"
'''

_RAW_TOOL = """
TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "required": ["city"], "properties": {
        "city": {"type": "string", "description": "The city name."},
        "units": {"type": "string", "enum": ["c", "f"], "description": "Temperature units."}}}}}
"""


@dataclass(frozen=True, kw_only=True)
class Case:
    """One cold-start measurement."""

    label: str
    framework: str
    """Whose interpreter runs it: a framework name from run.py's FRAMEWORKS."""
    code: str
    kind: str
    """"baseline", "import", "tool" (compared across frameworks) or "extra"."""


CASES: tuple[Case, ...] = (
    Case(label="python -c pass", framework="raw", kind="baseline", code="pass"),
    Case(label="import openai", framework="raw", kind="import", code="import openai"),
    Case(label="import agentkit", framework="agentkit", kind="import", code="import agentkit"),
    Case(label="import pydantic_ai", framework="pydantic-ai", kind="import", code="import pydantic_ai"),
    Case(label="import agents", framework="openai-agents", kind="import", code="import agents"),
    Case(
        label="raw: openai + 1 tool dict",
        framework="raw",
        kind="tool",
        code="from typing import Literal\nimport openai\n" + _WEATHER + _RAW_TOOL,
    ),
    Case(
        label="agentkit: import + 1 tool",
        framework="agentkit",
        kind="tool",
        code=(
            "from typing import Literal\nfrom agentkit import Agent, tool\n"
            "from agentkit.models.openai import OpenAIChatModel\n"
            + _WEATHER
            + "TOOL = tool(get_weather).openai_tool(dialect='gemini')\n"
        ),
    ),
    Case(
        label="agentkit: import + 1 tool + import openai",
        framework="agentkit",
        kind="extra",
        code=(
            "from typing import Literal\nfrom agentkit import Agent, tool\n"
            "from agentkit.models.openai import OpenAIChatModel\n"
            + _WEATHER
            + "TOOL = tool(get_weather).openai_tool(dialect='gemini')\nimport openai\n"
        ),
    ),
    Case(
        label="pydantic-ai: import + 1 tool",
        framework="pydantic-ai",
        kind="tool",
        code=(
            "from typing import Literal\nfrom pydantic_ai import Agent, Tool\n"
            "from pydantic_ai.models.openai import OpenAIChatModel\n"
            "from pydantic_ai.providers.openrouter import OpenRouterProvider\n"
            + _WEATHER
            + "DEF = Tool(get_weather).tool_def\n"
            "PROFILE = OpenRouterProvider.model_profile('google/gemini-2.0-flash-001')\n"
            "GEMINI = PROFILE['json_schema_transformer']\n"
            "TOOL = GEMINI(DEF.parameters_json_schema).walk()\n"
        ),
    ),
    Case(
        label="openai-agents: import + 1 tool",
        framework="openai-agents",
        kind="tool",
        code=(
            "from typing import Literal\n"
            "from agents import Agent, OpenAIChatCompletionsModel, function_tool\n"
            + _WEATHER
            + "TOOL = function_tool(get_weather).params_json_schema\n"
        ),
    ),
)

_WRAPPER = (
    "import time\n_t0 = time.perf_counter()\n{code}\n_t1 = time.perf_counter()\nprint(repr(_t1 - _t0))\n"
)


def measure(case: Case, python: str, env: dict[str, str]) -> tuple[float, float]:
    """Run the case once in a fresh process: (in-process seconds, whole-process wall seconds)."""
    start = time.perf_counter()
    done = subprocess.run(
        [python, "-c", _WRAPPER.format(code=case.code)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{case.label}: exit {done.returncode}: {done.stderr.strip()[-800:]}")
    return float(done.stdout.strip().splitlines()[-1]), wall
