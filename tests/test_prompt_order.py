"""benchmarks/prompt_order.py's three layouts of the prompted tool section, built from agentkit's own (no
model, no network)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from prompt_order import layouts

from agentkit import tool
from agentkit.local.policy import LOCAL
from agentkit.models._prompted import _describe, system_prompt


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return "snow"


def test_the_three_layouts_hold_the_same_tools_and_instructions() -> None:
    system = system_prompt("Be brief.", [get_weather.definition], LOCAL)
    listed = json.dumps(_describe(get_weather.definition, LOCAL), ensure_ascii=False)
    found = layouts(system)
    assert found["last+shape"] == system
    assert found["last"].endswith(listed) and system.startswith(found["last"])
    first = found["first"]
    assert first.startswith("Be brief.\n\n# Tools\n\nYou have these tools")
    assert first.index(listed) < first.index("If no tool does what is asked")
    assert first.endswith("If the question needs no tool, answer it directly.")
    for text in found.values():
        assert text.count(listed) == 1 and "write all of them in this one reply" in text
