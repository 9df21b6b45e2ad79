"""The code blocks of docs/output.md and docs/models.md run, in order, against a test double standing in for
each model id they name (with that id's profile), and print what the pages say."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import agentkit.agent
from agentkit import AssistantMessage, Message
from agentkit.models import Model, profile_for
from agentkit.testing import FunctionModel, RequestInfo, tool_call_response

DOCS = Path(__file__).resolve().parent.parent / "docs"
OSLO = {"name": "Oslo", "population": 709000}


def blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), re.S)


def answer(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
    """Oslo, as the request asks for it: a final-result call, or JSON text."""
    if "final_result" in info.tool_names:
        return tool_call_response("final_result", OSLO)
    return json.dumps(OSLO)


def double(model: Model | str | None) -> Model:
    assert isinstance(model, str), model
    return FunctionModel(answer, model_name=model, profile=profile_for(model))


def run_page(page: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(agentkit.agent, "infer_model", double)
    namespace: dict[str, Any] = {"__name__": "docs"}
    for code in blocks(page):
        exec(compile(code, f"docs/{page}", "exec"), namespace)
    return namespace


def test_output_page(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(blocks("output.md")) == 5
    namespace = run_page("output.md", monkeypatch)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Oslo 709000"  # the first example
    assert lines[1] == "Oslo"  # output_mode="tool"
    page = (DOCS / "output.md").read_text()
    assert lines[2].startswith("output_mode='native' is not available on google/gemini-2.5-flash")
    assert " ".join(lines[2].split()) in " ".join(page.split())  # the error as the page quotes it
    so_far = [line for line in lines if line.startswith("so far:")]
    assert len(so_far) >= 2 and lines[-1] == "final: name='Oslo' population=709000"
    assert namespace["model"].profile.structured_output == "prompted"


def test_models_page(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    run_page("models.md", monkeypatch)
    assert capsys.readouterr().out.splitlines() == [
        "gemini-3-flash 0.5 0.05 native",
        "gemini-2.5-flash tool",
        "gemini-3.1-pro 0.0",
    ]
