"""`agentkit tools SPEC --model ID --check`: per tool, what the model's schema dialect changes (kept or lost),
and the tools that cannot be sent (exit 1, one line each, never a traceback); the changes come from the
dialect functions themselves (`dialect_changes`)."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from agentkit import Tool
from agentkit.cli import ExitCode, main
from agentkit.models._dialects import SchemaChange, dialect_changes, to_dialect

GEMINI = "google/gemini-2.5-flash"
STRICT = "openai/gpt-4o-mini"

TOOLS = '''
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from agentkit import tool


class Tree(BaseModel):
    name: str
    children: list[Tree] = []


@tool
def search(query: str, filters: dict[str, int], kind: Literal[1, 2] = 1, tree: Tree | None = None,
           pair: tuple[int, str] = (1, "a")) -> str:
    """Search."""
    return ""


@tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b
'''

UNSENDABLE = '''
from __future__ import annotations

from pydantic import BaseModel

from agentkit import tool


class Node(BaseModel):
    value: int
    next: Node


@tool
def chain(head: Node) -> str:
    """A list that never ends."""
    return ""


@tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b
'''


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))


def _write(folder: Path, source: str) -> str:
    path = folder / f"tools_{uuid.uuid4().hex[:8]}.py"
    path.write_text(source, encoding="utf-8")
    return str(path)


def test_check_lists_each_tools_changes_kept_or_lost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tools", _write(tmp_path, TOOLS), "--model", GEMINI, "--check"]) == ExitCode.OK
    captured = capsys.readouterr()
    assert captured.err == ""
    out = captured.out
    assert out.startswith(f"2 tools, checked for {GEMINI} (gemini dialect)\n")
    assert "  kept  filters: a dict sent as a list of key/value pairs\n" in out
    assert "  kept  kind: enum values sent as strings\n" in out
    assert "  kept  tree: #/$defs/Tree written out in place\n" in out
    assert "  lost  tree.children[].children[].children: left out past 3 levels of recursive nesting\n" in out
    assert "  lost  pair: a tuple sent as a list: which item goes where is not told\n" in out
    assert "\nadd: sent, 1 change (1 lost)\n  lost  (arguments): additionalProperties left out" in out


def test_a_tool_that_cannot_be_sent_exits_1_with_a_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tools", _write(tmp_path, UNSENDABLE), "--model", GEMINI, "--check"]) == ExitCode.RUN_FAILED
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    assert lines[0].startswith(f"agentkit tools: tool 'chain' cannot be sent to {GEMINI}: Recursive schema")
    assert "chain: CANNOT BE SENT: Recursive schema: the required property 'next'" in captured.out
    assert "\nadd: sent, 1 change" in captured.out  # the other tools are still checked
    # the same tools for a model whose dialect can express them all
    assert main(["tools", _write(tmp_path, UNSENDABLE), "--model", STRICT, "--check"]) == ExitCode.OK


def test_without_check_a_tool_that_cannot_be_sent_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tools", _write(tmp_path, UNSENDABLE), "--model", GEMINI]) == ExitCode.USAGE
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert "Recursive schema" in captured.err and "--check" in captured.err


def test_check_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, UNSENDABLE)
    assert main(["tools", path, "--model", GEMINI, "--check", "--json"]) == ExitCode.RUN_FAILED
    document = json.loads(capsys.readouterr().out)
    assert (document["model"], document["dialect"]) == (GEMINI, "gemini")
    chain, add = document["tools"]
    assert chain["name"] == "chain" and chain["sendable"] is False and "Recursive schema" in chain["error"]
    assert add == {
        "name": "add",
        "sendable": True,
        "error": None,
        "changes": [{"path": "(arguments)", "change": "additionalProperties left out", "kept": False}],
    }


def test_strict_dialect_reports_the_non_strict_fallback_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tools", _write(tmp_path, TOOLS), "--model", STRICT, "--check"]) == ExitCode.OK
    out = capsys.readouterr().out
    # the strict translation was given up (a tuple): what it had changed before is not reported
    assert "search: sent, 1 change\n  kept  (arguments): sent non-strict (as standard JSON Schema): " in out
    assert "strict mode cannot express prefixItems" in out
    assert "\nadd: sent as is" in out


def test_any_failure_is_reported_by_tool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentkit.tool import ToolDefinition

    def broken(self: ToolDefinition, dialect: str) -> list[SchemaChange]:
        raise RuntimeError("boom")

    monkeypatch.setattr(ToolDefinition, "schema_changes", broken)
    assert main(["tools", _write(tmp_path, TOOLS), "--model", GEMINI, "--check"]) == ExitCode.RUN_FAILED
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"agentkit tools: tool 'search' cannot be sent to {GEMINI}: RuntimeError: boom",
        f"agentkit tools: tool 'add' cannot be sent to {GEMINI}: RuntimeError: boom",
    ]


# --- the changes, recorded by the dialect functions ---------------------------------------------------------


def _changes(schema: dict[str, Any], dialect: Any) -> tuple[dict[str, Any], list[tuple[str, str, bool]]]:
    with dialect_changes() as changes:
        out = to_dialect(schema, dialect)
    return out, [(c.path, c.change, c.kept) for c in changes]


def test_gemini_changes() -> None:
    schema = {
        "type": "object",
        "title": "Args",
        "properties": {
            "a": {"type": ["integer", "null"]},
            "b": {"const": "x"},
            "c": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
            "d": {"allOf": [{"type": "string"}], "format": "email"},
            "e": {},
            "f": {"type": "integer", "exclusiveMinimum": 0, "not": {"const": 3}},
            "g": {"type": "array", "items": {"type": "number", "multipleOf": 2}},
        },
    }
    out, changes = _changes(schema, "gemini")
    assert out == to_dialect(schema, "gemini")  # recording changes nothing in what is sent
    assert changes == [
        ("a", "a list of types sent as anyOf / nullable", True),
        ("b", "const sent as a one-value enum", True),
        ("c", "oneOf sent as anyOf", True),
        ("d", "allOf merged", True),
        ("d", "said in the description: format: email", True),
        ("e", "any JSON value sent as a string", True),
        ("e", "said in the description: any JSON value, written as a string", True),
        ("f", "not left out", False),
        ("f", "said in the description: greater than 0", True),
        ("g[]", "said in the description: a multiple of 2", True),
        ("(arguments)", "title left out", True),
    ]


def test_gemini_without_parameters_left() -> None:
    # the only property can take no value at all (`false`): nothing is left to send
    out, changes = _changes({"type": "object", "properties": {"x": False}}, "gemini")
    assert out == {}
    assert changes == [
        ("x", "left out: it takes no value", False),
        ("(arguments)", "no parameters left: sent without parameters", False),
    ]


def test_strict_changes() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "minLength": 2, "title": "A"},
            "b": {"type": "object", "additionalProperties": {"type": "integer"}},
            "c": {"allOf": [{"type": "integer"}]},
            "d": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
        },
        "required": ["a", "b", "c", "d"],
    }
    _, changes = _changes(schema, "openai-strict")
    assert changes == [
        ("a", "title left out", True),
        ("a", "said in the description: at least 2 characters", True),
        ("b", "a dict sent as a list of key/value pairs", True),
        ("c", "allOf merged", True),
        ("d", "oneOf sent as anyOf", True),
    ]
    _, optional = _changes({"type": "object", "properties": {"a": {"type": "string"}}}, "openai-strict")
    assert optional == [("a", "optional: sent as required, null meaning not given", True)]


def test_nothing_is_recorded_outside_a_block_and_the_cached_entry_is_unchanged() -> None:
    def lookup(city: str, days: int = 1) -> str:
        return city

    tool = Tool(lookup)
    entry = json.dumps(tool.openai_tool("openai-strict"))
    changes = tool.definition.schema_changes("openai-strict")
    assert ("days", "optional: sent as required, null meaning not given", True) in [
        (c.path, c.change, c.kept) for c in changes
    ]
    assert json.dumps(tool.openai_tool("openai-strict")) == entry
    assert tool.definition.schema_changes("standard") == []
    to_dialect(tool.parameters, "gemini")  # no block open: no recorder, nothing kept anywhere


def test_a_change_is_listed_once_per_place() -> None:
    from agentkit.models._schema_changes import record_change

    with dialect_changes() as changes:
        record_change("x")
        record_change("x")
        record_change("x", at=".a")
    assert [(c.path, c.change) for c in changes] == [("(arguments)", "x"), ("a", "x")]
