"""What the command line imports from the current directory: only the tool file or module it is named.

A folder may hold files named like the modules agentkit imports later (`openai.py`, `httpx2.py`,
`agentkit_tools.py`): loading tools must not leave that folder on `sys.path`, where they would shadow the real
ones. The command runs in a subprocess started as the `agentkit` console script starts (the current
directory not on `sys.path`), in a folder of such hostile files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import TOOLS_FILE, cli_env

from agentkit.testing import LoopbackServer, tool_call_response

HOSTILE = "from pathlib import Path\nPath({marker!r}).write_text(__name__)\nraise SystemExit('hijacked by ' + __name__)\n"
SHADOWED = ("openai", "httpx2", "pydantic_core", "agentkit_tools", "calculator", "rich")


def _agentkit(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`agentkit ARGS` in `cwd`, started as the console script starts it."""
    start = "import sys; sys.path.pop(0); from agentkit.__main__ import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", start, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """A folder whose `openai.py` (and the like) record that they were imported, and exit."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    for name in SHADOWED:
        (folder / f"{name}.py").write_text(
            HOSTILE.format(marker=str(tmp_path / "hijacked")), encoding="utf-8"
        )
    return folder


def test_a_ready_made_tool_imports_nothing_from_the_current_directory(hostile: Path) -> None:
    with LoopbackServer([tool_call_response("calculator", {"expression": "6*7"}), "42"]) as server:
        done = _agentkit(
            "run", "6 times 7?", "--tools", "calculator", cwd=hostile, env=cli_env(server.base_url)
        )
    assert not (hostile.parent / "hijacked").exists(), (hostile.parent / "hijacked").read_text()
    assert done.returncode == 0, done.stderr
    assert done.stdout == "42\n"
    assert server.bodies[1]["messages"][-1]["content"] == "42"


def test_a_named_tool_file_is_loaded_and_its_folder_not_left_on_the_path(hostile: Path) -> None:
    (hostile / "mytools.py").write_text(TOOLS_FILE, encoding="utf-8")
    with LoopbackServer([tool_call_response("lookup", {"city": "Oslo"}), "700000"] * 3) as server:
        for spec in ("mytools.py", "mytools", "./mytools.py:lookup"):
            done = _agentkit("run", "Oslo?", "--tools", spec, cwd=hostile, env=cli_env(server.base_url))
            assert not (hostile.parent / "hijacked").exists(), (
                spec,
                (hostile.parent / "hijacked").read_text(),
            )
            assert done.returncode == 0, (spec, done.stderr)
            assert done.stdout == "700000\n"
    assert server.bodies[1]["messages"][-1]["content"] == "Oslo: 700000 people"


def test_loading_leaves_sys_path_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentkit.cli import ExitCode, main
    from agentkit.cli._specs import load_tools

    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.chdir(tmp_path)
    before = list(sys.path)
    name = f"cwd_tools_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(TOOLS_FILE, encoding="utf-8")
    (tmp_path / f"{name}_broken.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    package = tmp_path / f"{name}_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "tools.py").write_text(TOOLS_FILE, encoding="utf-8")
    loaded = [
        [t.name for t in load_tools([spec])] for spec in (name, f"{name}_pkg.tools:explode", "calculator")
    ]
    assert loaded == [["lookup", "explode"], ["explode"], ["calculator"]]
    assert [t.name for t in load_tools([f"{name}.py:lookup"])] == ["lookup"]
    assert sys.path == before
    assert main(["tools", f"{name}_broken"]) == ExitCode.USAGE
    assert "importing it raised RuntimeError: boom" in capsys.readouterr().err
    assert f"{name}_broken" not in sys.modules and sys.path == before
