"""`shell(allow=...)`: the allow-list, no shell syntax, the scrubbed environment, the timeout and the output cap."""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path

import pytest
from agentkit_tools import shell
from agentkit_tools.shell import safe_environment

from agentkit import ModelRetry, UserError

PYTHON = sys.executable
SECRETS = {
    "OPENROUTER_API_KEY": "fake-openrouter-secret-1",
    "OPENAI_API_KEY": "sk-secret-2",
    "ANTHROPIC_API_KEY": "secret-3",
    "AWS_ACCESS_KEY_ID": "AKIASECRET4",
    "AWS_SECRET_ACCESS_KEY": "secret-5",
    "AWS_SESSION_TOKEN": "secret-6",
    "GITHUB_TOKEN": "ghp_secret7",
    "DATABASE_PASSWORD": "secret-8",
    "MY_SERVICE_CREDENTIALS": "secret-9",
    "AGENTKIT_API_KEY": "secret-10",
    "LC_AUTH_TOKEN": "secret-11",
    "HOME_SECRET": "secret-12",
}


def refused(function: object, *args: str) -> str:
    assert callable(function)
    with pytest.raises(ModelRetry) as error:
        function(*args)
    return error.value.message


def test_run_command_runs_an_allowed_program_without_a_shell(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("x")
    run = shell(["ls", "echo"], cwd=tmp_path)
    assert run.name == "run_command" and run.requires_approval
    assert "only these programs: echo, ls" in run.description
    assert run("ls", "sub") == "Exit code 0\na.txt\n"
    assert run("echo 'a | b; c' \"$\" \\$HOME '*'") == "Exit code 0\na | b; c $ $HOME *\n"
    assert run("ls missing").startswith("Exit code 2\n")
    assert not shell("any", require_approval=False).requires_approval


async def test_run_command_through_the_tool_call(tmp_path: Path) -> None:
    run = shell(["echo"], cwd=tmp_path)
    arguments = run.validate_arguments('{"command": "echo hi"}')
    assert await run.call(arguments) == "Exit code 0\nhi\n"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("rm -rf /", "'rm' is not an allowed program; allowed: echo, ls"),
        ("/bin/echo hi", "by name, not by path"),
        ("./echo hi", "by name, not by path"),
        ("echo hi; rm x", "pipes (|), redirection"),
        ("echo hi | wc", "pipes (|), redirection"),
        ("echo hi && rm x", "pipes (|), redirection"),
        ("echo hi > out.txt", "pipes (|), redirection"),
        ("echo hi &", "pipes (|), redirection"),
        ("echo hi\nrm x", "pipes (|), redirection"),
        ("echo $(id)", "not expanded"),
        ("echo `id`", "not expanded"),
        ('echo "$OPENAI_API_KEY"', "not expanded"),
        ("echo ${HOME}", "not expanded"),
        ("ls *.txt", "wildcards"),
        ("echo 'unclosed", "check the quotes"),
        ("   ", "The command is empty"),
        ("echo a\x00b", "NUL byte"),
    ],
)
def test_refusals_say_what_to_do(tmp_path: Path, command: str, message: str) -> None:
    assert message in refused(shell(["ls", "echo"], cwd=tmp_path), command)


def test_the_working_folder_is_confined(tmp_path: Path) -> None:
    run = shell(["ls"], cwd=tmp_path)
    assert "'..' is not allowed" in refused(run, "ls", "..")
    assert "is absolute" in refused(run, "ls", "/")
    assert "No folder 'nope'" in refused(run, "ls", "nope")


def test_any_program_and_programs_that_are_not_there(tmp_path: Path) -> None:
    run = shell("any", cwd=tmp_path)
    assert "any program" in run.description
    assert run(f"{PYTHON} -c 'print(6 * 7)'") == "Exit code 0\n42\n"
    assert "is not installed" in refused(run, "no-such-program-xyz")
    assert "Cannot run" in refused(run, "./missing-script")
    assert "is not installed" in refused(shell(["no-such-program-xyz"], cwd=tmp_path), "no-such-program-xyz")


@pytest.mark.parametrize(
    ("allow", "options"),
    [
        ("ls", {}),
        ([], {}),
        (["/bin/ls"], {}),
        ([""], {}),
        (["ls"], {"timeout": 0}),
        (["ls"], {"max_output_bytes": 0}),
    ],
)
def test_misconfiguration_is_a_user_error(allow: object, options: dict[str, float]) -> None:
    with pytest.raises(UserError):
        shell(allow, **options)  # type: ignore[arg-type]


def test_the_environment_is_scrubbed_of_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LANG", "C.UTF-8")
    run = shell("any", cwd=tmp_path, env={"GREETING": "hello"})
    outputs = [run("env"), run(f"{PYTHON} -c 'import os; print(sorted(os.environ.items()))'")]
    for output in outputs:
        assert output.startswith("Exit code 0\n")
        for name, value in SECRETS.items():
            assert value not in output and name not in output
        assert "PATH=" in output or "'PATH'" in output
        assert "GREETING" in output and "hello" in output
        assert "C.UTF-8" in output
    assert safe_environment(
        {"PATH": "/bin", "LC_ALL": "C", "LC_TOKEN": "x", "SECRET": "y", "HOME": "/h"}
    ) == {
        "PATH": "/bin",
        "LC_ALL": "C",
        "HOME": "/h",
    }


def test_a_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    (tmp_path / "spawn.py").write_text(script)
    result = shell("any", cwd=tmp_path, timeout=1.5)(f"{PYTHON} spawn.py")
    assert result.startswith("Stopped after 1.5 seconds (timeout)")
    child = int(result.splitlines()[1])
    assert _gone(child)


def test_a_background_child_that_keeps_the_output_open_is_stopped(tmp_path: Path) -> None:
    script = (
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"  # the parent exits; the child still holds the output pipe
    )
    (tmp_path / "leave.py").write_text(script)
    result = shell("any", cwd=tmp_path, timeout=1.5)(f"{PYTHON} leave.py")
    assert result.startswith("Stopped after 1.5 seconds (timeout)")
    assert _gone(int(result.splitlines()[1]))


def test_a_program_that_closes_its_output_but_keeps_running_times_out(tmp_path: Path) -> None:
    script = "import os, time\nos.close(1)\nos.close(2)\ntime.sleep(60)\n"
    (tmp_path / "quiet.py").write_text(script)
    result = shell("any", cwd=tmp_path, timeout=1)(f"{PYTHON} quiet.py")
    assert result.startswith("Stopped after 1 seconds (timeout)")


def test_the_output_is_capped_and_the_command_stopped(tmp_path: Path) -> None:
    (tmp_path / "flood.py").write_text("import sys\nwhile True:\n    sys.stdout.write('x' * 4096)\n")
    result = shell("any", cwd=tmp_path, max_output_bytes=1000)(f"{PYTHON} flood.py")
    header, output = result.split("\n", 1)
    assert header == "Stopped: the output passed 1000 bytes; the first 1000:"
    assert output == "x" * 1000


def _gone(pid: int) -> bool:
    """Whether `pid` is no longer a live process (polls: the kernel reaps a killed orphan soon, not at once)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split(")")[-1].split()[0] == "Z":  # killed, waiting for init to reap it
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False  # pragma: no cover - only when the process survived


def test_the_docs_say_the_allow_list_is_no_sandbox_and_what_the_timeout_kills() -> None:
    module = importlib.import_module("agentkit_tools.shell")
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Ready-made tools", 1)[1].split("\n## ", 1)[0]
    for text in (module.__doc__ or "", section):
        flat = " ".join(text.split())
        assert "convenience, not a sandbox" in flat
        for option in (
            "sort -o",
            "tar -I",
            "rg --pre",
            "system()",
            "zip -TT",
            "rsync -e",
            "find -exec",
            "git -c",
        ):
            assert option in flat
        assert "setsid" in flat and "killed whole" not in flat
