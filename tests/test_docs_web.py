"""The code blocks of docs/web.md run, in order, against a test double standing in for the model id they
name, and print what the page shows after each block."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import agentkit.agent
from agentkit.models import Model, profile_for
from agentkit.testing import FunctionModel

PAGE = Path(__file__).resolve().parent.parent / "docs" / "web.md"


def double(model: Model | str | None) -> Model:
    assert isinstance(model, str), model
    return FunctionModel(lambda messages, info: "ok", model_name=model, profile=profile_for(model))


def test_the_web_page_runs_and_prints_what_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(agentkit.agent, "infer_model", double)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "docs"}
    found = re.findall(r"```python\n(.*?)```\n```\n(.*?)```", PAGE.read_text(), re.S)
    assert len(found) == 2
    for code, shown in found:
        exec(compile(code, str(PAGE), "exec"), namespace)
        assert capsys.readouterr().out == shown
    assert (tmp_path / "chats.db").is_file()
