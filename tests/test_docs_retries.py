"""docs/retries.md: its Python examples run against a test double standing in for the model they name, print
what the page says they print, and what the page quotes is what the code says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

import agentkit.agent
from agentkit import Message, ToolMessage
from agentkit.models import Model, profile_for
from agentkit.testing import FunctionModel, RequestInfo, tool_call_response

PAGE = Path(__file__).resolve().parent.parent / "docs" / "retries.md"
ARGUMENTS = {
    "exchange_rate": {"currency": "USD"},
    "refund": {"order_id": "A-17", "amount_cents": 500},
    "send_invoice": {"customer": "ACME"},
}


def answer(messages: list[Message], info: RequestInfo) -> Any:
    """Calls the page's tool for the prompt, then answers with what the tool said."""
    if messages[-1].role == "user":
        [name] = info.tool_names
        return tool_call_response(name, ARGUMENTS[name])
    return messages[-1].content if isinstance(messages[-1], ToolMessage) else ""


def double(model: Model | str | None) -> Model:
    if isinstance(model, Model):  # the durable run's step model
        return model
    assert isinstance(model, str), model
    return FunctionModel(answer, model_name=model, profile=profile_for(model))


def test_the_python_examples_run_and_print_what_they_say(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("dbos")  # the page's durable example: skipped without the dbos extra
    from dbos import DBOS

    monkeypatch.chdir(tmp_path)  # the durable example's SQLite file
    monkeypatch.setattr(agentkit.agent, "infer_model", double)
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 3
    try:
        for block in blocks:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(block, str(PAGE), "exec"), {"__name__": "docs"})
            expected = [line[2:] for line in block.splitlines() if line.startswith("# ")]
            assert printed.getvalue().splitlines() == expected
    finally:
        DBOS.destroy(destroy_registry=True)
    assert (tmp_path / "billing.sqlite").exists()


def test_the_quoted_message_and_defaults_are_the_codes() -> None:
    pytest.importorskip("dbos")  # agentkit.durable needs the dbos extra
    from agentkit import RetryPolicy
    from agentkit.durable._steps import IN_DOUBT

    text = " ".join(PAGE.read_text(encoding="utf-8").split())
    assert f"> {IN_DOUBT}" in text
    policy = RetryPolicy(exceptions=(OSError,))
    for field in ("attempts", "initial_delay", "max_delay", "jitter"):
        assert f"| `{field}` | `{getattr(policy, field)}` |" in text, field
