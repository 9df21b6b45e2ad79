"""`agentkit tools` and the tool specs every command takes (`agentkit.cli._specs`)."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest
from cli_support import TOOLS_FILE, cli_env, run_cli

from agentkit.cli import ExitCode, main
from agentkit.cli._specs import load_object, load_tools

TYPES_FILE = '''
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from agentkit import RunContext, tool


class Point(BaseModel):
    x: int
    y: int


class Tree(BaseModel):
    name: str
    children: list[Tree] = []


@tool
def move(
    ctx: RunContext[None], to: Point, path: list[Point], tree: Tree, mode: Literal["a", "b"] = "a", n: int | None = None
) -> str:
    """Move things.

    Args:
        to: Where to.
        mode: How.
    """
    return "ok"


@tool
def noop() -> str:
    """Nothing at all."""
    return ""


def plain(text: str) -> str:
    """A plain function, no decorator.

    Args:
        text: Some text.
    """
    return text


def untyped(x):  # type: ignore[no-untyped-def]
    return x


NOT_A_TOOL = 3
'''


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spec loading puts folders on `sys.path` (as `python -m` does); undo that after each test."""
    monkeypatch.setattr(sys, "path", list(sys.path))


def _write(folder: Path, source: str, stem: str = "tools") -> Path:
    path = folder / f"{stem}_{uuid.uuid4().hex[:8]}.py"  # a fresh module name for every test
    path.write_text(source, encoding="utf-8")
    return path


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == ExitCode.USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err  # one line, never a traceback
    return lines[0]


def test_ready_made_tool_by_bare_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "calculator"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 tool, in the gemini dialect (the one google/gemini-2.0-flash-001 is sent)")
    assert "\ncalculator\n  Evaluate an arithmetic expression exactly." in out
    assert "    expression: string  [required]" in out


def test_json_is_one_document_of_request_entries(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "agentkit_tools", "--dialect", "standard", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["dialect"] == "standard"
    from agentkit_tools import calculator, current_time

    assert document["tools"] == [calculator.openai_tool("standard"), current_time.openai_tool("standard")]


def test_the_models_dialect_is_the_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["tools", "calculator", "--model", "openai/gpt-4o-mini", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["model"], document["dialect"]) == ("openai/gpt-4o-mini", "openai-strict")
    assert document["tools"][0]["function"]["strict"] is True

    monkeypatch.setenv("AGENTKIT_MODEL", "some/other-model")
    assert main(["tools", "calculator"]) == 0
    assert "in the standard dialect (the one some/other-model is sent)" in capsys.readouterr().out


def test_a_file_gives_its_tools_and_describes_every_parameter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, TYPES_FILE)
    assert main(["tools", str(path), "--dialect", "standard"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 tools, in the standard dialect\n")  # not `plain`: it is no Tool
    assert "    to: object with x, y  [required]\n        Where to." in out
    assert "    path: array of object with x, y  [required]" in out
    assert "    tree: Tree  [required]" in out  # a recursive model stays a $ref
    assert '    mode: one of "a", "b"  [default "a"]' in out
    assert "    n: integer or null  [default null]" in out
    assert "(the function also receives the run context, which is not in the schema)" in out
    assert "noop\n  Nothing at all.\n  no parameters" in out

    assert main(["tools", str(path), "--dialect", "openai-strict"]) == 0
    out = capsys.readouterr().out
    assert "move (strict)" in out
    assert "    n: integer or null  [required]" in out


def test_named_objects_and_plain_functions(tmp_path: Path) -> None:
    path = _write(tmp_path, TYPES_FILE)
    tools = load_tools([f"{path}:noop,plain", "agentkit_tools:current_time", f"{path}:noop"])
    assert [t.name for t in tools] == ["noop", "plain", "current_time"]  # each once


def test_a_module_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, TOOLS_FILE + "\n__all__ = ['lookup']\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    assert [t.name for t in load_tools([path.stem])] == ["lookup"]  # __all__ decides


def test_a_module_without_all_gives_its_public_tools_imported_ones_too(tmp_path: Path) -> None:
    source = "from agentkit_tools import calculator as calculator\n" + TOOLS_FILE.replace(
        "def explode", "def _hidden"
    ).replace("@tool\ndef _hidden", "_private = None\n\n\n@tool\ndef _hidden")
    path = _write(tmp_path, source)
    assert [t.name for t in load_tools([str(path)])] == ["calculator", "lookup"]


def test_a_file_imports_its_neighbours(tmp_path: Path) -> None:
    (tmp_path / f"helper_{uuid.uuid4().hex[:8]}.py").write_text("VALUE = 1\n", encoding="utf-8")
    helper = next(tmp_path.glob("helper_*.py")).stem
    path = _write(tmp_path, f"import {helper}\n" + TOOLS_FILE)
    assert len(load_tools([str(path)])) == 2
    assert load_tools([str(path)])[0] is load_tools([str(path)])[0]  # imported once


@pytest.mark.parametrize(
    ("source", "suffix", "expected"),
    [
        (None, "", "no such file"),
        (
            "import not_a_module_anywhere_42\n",
            "",
            "ModuleNotFoundError: No module named 'not_a_module_anywhere_42'",
        ),
        ("def f(:\n", "", "SyntaxError: "),
        ("raise RuntimeError('boom')\n", "", "importing it raised RuntimeError: boom"),
        ("raise ValueError\n", "", "importing it raised ValueError"),
        ("X = 1\n", "", "no tools found (decorate functions with @tool"),
        (TYPES_FILE, ":missing", "has no attribute 'missing' (its tools: move, noop)"),
        (TYPES_FILE, ":NOT_A_TOOL", "not a tool or a function (type: int)"),
        (TYPES_FILE, ":Point", "not a tool or a function (type: ModelMetaclass)"),
        (TYPES_FILE, ":untyped", "parameter 'x' has no type annotation"),
        (
            "from agentkit import tool\n@tool\ndef f(x):\n    return x\n",
            "",
            "parameter 'x' has no type annotation",
        ),
    ],
)
def test_a_spec_that_does_not_load_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str | None, suffix: str, expected: str
) -> None:
    path = _write(tmp_path, source) if source is not None else tmp_path / "absent.py"
    line = _error(capsys, ["tools", f"{path}{suffix}"])
    assert line.startswith(f"agentkit tools: error: {path}{suffix}: ")
    assert expected in line


def test_unknown_names_and_modules(capsys: pytest.CaptureFixture[str]) -> None:
    line = _error(capsys, ["tools", "calculater"])
    assert line == (
        "agentkit tools: error: calculater: no file or module named 'calculater'; "
        "ready-made tools: calculator, current_time"
    )
    assert "no file or module named 'nope_pkg.tools'" in _error(capsys, ["tools", "nope_pkg.tools"])
    assert "no file or module named 'nope_pkg_42.tools'" in _error(capsys, ["tools", "nope_pkg_42.tools:x"])
    assert "has no attribute 'nope'" in _error(capsys, ["tools", "agentkit_tools:nope"])


def test_two_tools_of_one_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(
        tmp_path, "from agentkit import tool\n@tool(name='calculator')\ndef f() -> str:\n    return ''\n"
    )
    line = _error(capsys, ["tools", "calculator", str(path)])
    assert "two tools are named 'calculator'" in line


def test_load_object_takes_one_name(tmp_path: Path) -> None:
    path = _write(tmp_path, TYPES_FILE)
    assert getattr(load_object(f"{path}:Point", what="--output-type"), "__name__", None) == "Point"
    from agentkit.cli._exit import CliError

    with pytest.raises(CliError, match="give one object"):
        load_object(str(path), what="--output-type")


def test_tools_command_in_a_subprocess(tmp_path: Path) -> None:
    ok = run_cli("tools", "calculator", "--json", env=cli_env())
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["tools"][0]["function"]["name"] == "calculator"

    bad = _write(tmp_path, "raise RuntimeError('boom')\n")
    failed = run_cli("tools", str(bad), env=cli_env())
    assert failed.returncode == ExitCode.USAGE
    assert failed.stdout == ""
    assert failed.stderr == f"agentkit tools: error: {bad}: importing it raised RuntimeError: boom\n"
