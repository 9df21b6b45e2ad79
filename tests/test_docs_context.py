"""The code blocks of docs/context.md run, in order, against a test double standing in for each model id
they name (with that id's profile), and print what the page leads one to expect."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import agentkit.agent
from agentkit import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage
from agentkit.models import Model, profile_for
from agentkit.testing import FunctionModel, RequestInfo, tool_call_response

DOCS = Path(__file__).resolve().parent.parent / "docs"


def blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), re.S)


def answer(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
    """Reads as many pages as the prompt asks for (one, or three), one a turn; writes summaries when asked."""
    first = messages[0]
    if isinstance(first, SystemMessage) and first.content.startswith("You summarise"):
        return "The pages so far."
    if not info.tool_names:
        return "Hello! How can I help?"
    prompt = max(i for i, m in enumerate(messages) if isinstance(m, UserMessage) and not m.feedback)
    wanted = 3 if "three" in messages[prompt].text else 1  # type: ignore[union-attr]
    read = sum(isinstance(m, ToolMessage) for m in messages[prompt:])
    if read < wanted:
        return tool_call_response(info.tool_names[0], {"url": f"https://example.com/{read + 1}"})
    return f"Done: {read} pages read."


def double(model: Model | str | None) -> Model:
    assert isinstance(model, str), model
    return FunctionModel(answer, model_name=model, profile=profile_for(model))


def test_context_page(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(agentkit.agent, "infer_model", double)
    namespace: dict[str, Any] = {"__name__": "docs"}
    codes = blocks("context.md")
    assert len(codes) == 4
    for code in codes:
        exec(compile(code, "docs/context.md", "exec"), namespace)
    page = len(namespace["fetch_page"]("https://example.com/1"))
    assert capsys.readouterr().out.splitlines() == [
        "32768",
        "KeepRecentToolResults 7 7 True",  # the fourth request: the first of three results becomes a note
        str(3 * page),  # the transcript keeps every result whole
        "Done: 1 pages read.",
        "Hello! How can I help?",
        "Done: 3 pages read. 4",
    ]
