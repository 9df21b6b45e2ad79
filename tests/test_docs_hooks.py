"""The code blocks of docs/hooks.md run, in order, against a test double standing in for the model id they
name, and print what the page shows after each block."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import agentkit.agent
from agentkit import AssistantMessage, Message
from agentkit.models import Model, profile_for
from agentkit.testing import FunctionModel, RequestInfo, last_user_text, tool_calls_response

PAGE = Path(__file__).resolve().parent.parent / "docs" / "hooks.md"


def blocks() -> list[tuple[str, str | None]]:
    """Each python block, and the plain block right after it (what it prints), if any."""
    text = PAGE.read_text()
    found = re.findall(r"```python\n(.*?)```\n(?:[^`]*?\n)?(?:```\n(.*?)```)?", text, re.S)
    return [(code, shown or None) for code, shown in found]


def answer(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
    """Calls the tool the prompt asks for (once), then reports the results; otherwise echoes the prompt."""
    if info.tool_results:
        return "Done: " + "; ".join(r.content for r in info.tool_results)
    prompt = last_user_text(messages)
    deleting = next((n for n in info.tool_names if n in ("delete_file", "remove_file")), None)
    if "delete" in prompt.lower() and deleting:
        return tool_calls_response([(deleting, {"path": p}) for p in re.findall(r"/\S+", prompt)])
    if "weather" in prompt.lower() and "forecast" in info.tool_names:
        days = re.search(r"(\d+) days", prompt)
        return tool_calls_response([("forecast", {"city": "Paris", "days": int(days[1]) if days else 3})])
    return f"You said: {prompt}"


def double(model: Model | str | None) -> Model:
    assert isinstance(model, str), model
    return FunctionModel(answer, model_name=model, profile=profile_for(model))


def test_the_hooks_page_runs_and_prints_what_it_shows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(agentkit.agent, "infer_model", double)
    namespace: dict[str, Any] = {"__name__": "docs"}
    found = blocks()
    assert len(found) == 8
    for index, (code, shown) in enumerate(found):
        exec(compile(code, f"docs/hooks.md block {index + 1}", "exec"), namespace)
        printed = capsys.readouterr().out
        assert shown is not None, f"block {index + 1} shows no output"
        assert printed == shown, f"block {index + 1}"
