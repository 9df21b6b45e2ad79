"""docs/evals.md: its YAML case file loads, and its Python blocks run in order against a test double standing
in for each model id they name, printing what the page shows after each block."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import agentkit.agent
import agentkit.evals._judge
import agentkit.evals._run
from agentkit import AssistantMessage, Message
from agentkit.evals import CaseFileError, Dataset
from agentkit.models import Model, profile_for
from agentkit.testing import FunctionModel, RequestInfo, last_user_text, tool_call_response

PAGE = Path(__file__).resolve().parent.parent / "docs" / "evals.md"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
VERDICT = {"passed": True, "score": 0.9, "reason": "The answer gives the sum, 5."}


def blocks() -> list[tuple[str, str, str]]:
    """(language, code, the text block right after it or "") for each fenced block of the page."""
    found = re.findall(r"```(\w*)\n(.*?)```(?:\n\n```text\n(.*?)```)?", PAGE.read_text(), re.S)
    return [(lang, code, out) for lang, code, out in found if lang != "text"]


def answer(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
    if messages[0].role == "system" and "You grade" in str(messages[0].content):
        if "final_result" in info.tool_names:
            return tool_call_response("final_result", VERDICT)
        return json.dumps(VERDICT)
    prompt = last_user_text(messages)
    if prompt == "What is 2 + 3?":
        return "2 + 3 = 5." if info.tool_results else tool_call_response("add", {"a": 2, "b": 3})
    if prompt.startswith("What does this chart show"):
        return "A bar chart of sales by month."
    return "Hello!"


def double(model: Model | str | None) -> Model:
    if isinstance(model, Model):
        return model  # resolved already (a `models=` id)
    assert isinstance(model, str), model
    return FunctionModel(answer, model_name=model, profile=profile_for(model))


def seconds_free(text: str) -> str:
    """The `mean s` and `p90 s` rows without their figures, which vary."""
    return re.sub(r"^((?:mean|p90) s\s+).*$", r"\1", text, flags=re.M)


def test_the_page_runs_and_prints_what_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for module in (agentkit.agent, agentkit.evals._run, agentkit.evals._judge):
        monkeypatch.setattr(module, "infer_model", double)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chart.png").write_bytes(PNG)
    namespace: dict[str, Any] = {"__name__": "docs"}
    python = 0
    for lang, code, shown in blocks():
        if lang == "yaml":
            (tmp_path / "cases.yaml").write_text(code, encoding="utf-8")
            continue
        if lang != "python":
            continue
        python += 1
        exec(compile(code, "docs/evals.md", "exec"), namespace)
        printed = capsys.readouterr().out
        assert seconds_free(printed) == seconds_free(shown), code
    assert python == 5
    assert (tmp_path / "tests" / "cassettes" / "eval.json").is_file()  # (the double makes no HTTP request)
    assert namespace["comparison"].regressions == []


def test_the_page_s_case_file_errors_are_what_it_quotes(tmp_path: Path) -> None:
    text = PAGE.read_text()
    code = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert code is not None
    path = tmp_path / "cases.yaml"
    (tmp_path / "chart.png").write_bytes(PNG)
    wrong = code.group(1).replace('prompt: "What is 2 + 3?"', 'promt: "What is 2 + 3?"')
    path.write_text(wrong, encoding="utf-8")
    with pytest.raises(CaseFileError) as caught:
        Dataset.from_file(path)
    quoted = str(caught.value).removeprefix(f"{tmp_path}/")
    assert quoted.startswith("cases.yaml, line 6: cases[0].promt: unknown key 'promt'")
    assert " ".join(quoted.split()) in " ".join(text.split())
    path.write_text(code.group(1).replace("max_requests: 3", "max_requests: three"), encoding="utf-8")
    with pytest.raises(CaseFileError) as caught:
        Dataset.from_file(path)
    quoted = str(caught.value).removeprefix(f"{tmp_path}/")
    assert " ".join(quoted.split()) in " ".join(text.split())
