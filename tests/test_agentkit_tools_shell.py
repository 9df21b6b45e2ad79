"""`shell(allow=...)`: the allow-list, no shell syntax, the scrubbed environment, the timeout and the output cap."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from agentkit_tools import shell
from agentkit_tools._confine import namespace_prefix
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
    result = shell("any", cwd=tmp_path, timeout=1.5, isolate=False)(f"{PYTHON} spawn.py")
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
    result = shell("any", cwd=tmp_path, timeout=1.5, isolate=False)(f"{PYTHON} leave.py")
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
    readme = (Path(__file__).parent.parent / "docs" / "ready-made-tools.md").read_text(encoding="utf-8")
    section = readme
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


ISOLATION = namespace_prefix() is not None
needs_namespaces = pytest.mark.skipif(
    not ISOLATION,
    reason="this kernel or container refuses user namespaces (or util-linux unshare is missing)",
)
AGENT = """
import os, sys
from agentkit_tools import shell
isolate, protect = {"None": None, "True": True, "False": False}[sys.argv[1]], sys.argv[2] == "True"
run = shell(["cat"], cwd="/", require_approval=False, isolate=isolate, protect_process=protect)
print(run.description)
for path in (f"/proc/{os.getpid()}/environ", f"/proc/{os.getpid()}/maps", "/proc/self/status"):
    print(run("cat " + path))
"""
AGENT_KEY = "fake-agent-key-0123456789"


def _agent_output(isolate: bool | None, protect: bool, *, as_nobody: bool) -> str:
    """Run an agent process (with a key in its environment) whose `cat` tool reads the agent's `/proc` files."""
    prefix: list[str] = []
    if as_nobody:
        if os.geteuid() != 0 or shutil.which("setpriv") is None:
            pytest.skip("switching to an unprivileged user needs root and util-linux setpriv")
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    root = Path(__file__).parent.parent
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "PYTHONPATH": f"{root}{os.pathsep}{root / 'tools'}",
        "OPENROUTER_API_KEY": AGENT_KEY,
    }
    argv = [*prefix, PYTHON, "-c", AGENT, str(isolate), str(protect)]
    done = subprocess.run(argv, env=env, cwd="/", capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_namespaces
@pytest.mark.parametrize("as_nobody", [False, True], ids=["this-user", "unprivileged"])
@pytest.mark.parametrize(("isolate", "protect"), [(None, True), (True, False)])
def test_a_command_cannot_read_the_agent_process(
    isolate: bool | None, protect: bool, as_nobody: bool
) -> None:
    output = _agent_output(isolate, protect, as_nobody=as_nobody)
    assert AGENT_KEY not in output
    assert "own process namespace" in output
    assert output.count("No such file or directory") == 2  # environ and maps: the agent is not in its /proc
    status = output.split("/proc/self/status", 1)[-1]
    assert "\nPid:\t1\n" in output and "\nPPid:\t0\n" in output, status


@pytest.mark.parametrize("as_nobody", [False, True], ids=["this-user", "unprivileged"])
def test_without_namespaces_a_non_dumpable_agent_is_unreadable_to_a_user(as_nobody: bool) -> None:
    if not as_nobody and os.geteuid() == 0:
        pytest.skip("as root nothing but the namespace hides the agent: root reads non-dumpable processes")
    output = _agent_output(False, True, as_nobody=as_nobody)
    assert AGENT_KEY not in output
    assert "cannot read this agent's memory" in output
    assert output.count("Permission denied") == 2


@needs_namespaces
def test_processes_left_behind_in_the_namespace_are_killed(tmp_path: Path) -> None:
    script = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"  # leaves the process group: only the namespace ending reaches it
        "    time.sleep(1.5)\n"
        "    open(sys.argv[1], 'w').close()\n"
        "    os._exit(0)\n"
        "print('parent done')\n"
    )
    (tmp_path / "detach.py").write_text(script)
    result = shell("any", cwd=tmp_path, isolate=True)(f"{PYTHON} detach.py marker")
    assert result == "Exit code 0\nparent done\n"
    time.sleep(3)
    assert not (tmp_path / "marker").exists()


def test_isolation_that_the_system_refuses_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.import_module("agentkit_tools.shell"), "namespace_prefix", lambda: None)
    with pytest.raises(UserError, match="cannot run commands in their own namespaces"):
        shell(["ls"], isolate=True)
    assert "they can read other processes" in shell(["ls"], protect_process=False).description


def test_the_description_says_what_keeps_a_command_from_the_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module("agentkit_tools.shell")
    monkeypatch.setattr(module, "namespace_prefix", lambda: None)
    monkeypatch.setattr(module.os, "geteuid", lambda: 1000)
    assert "cannot read this agent's memory" in shell(["ls"], protect_process=True).description
    assert "they can read other processes" in shell(["ls"], protect_process=False).description
    monkeypatch.setattr(module.os, "geteuid", lambda: 0)  # root reads a non-dumpable process
    assert "this agent's environment included" in shell(["ls"], protect_process=True).description


def test_a_program_file_that_cannot_be_executed(tmp_path: Path) -> None:
    (tmp_path / "junk").write_bytes(b"\x7fELF-not-really")
    (tmp_path / "junk").chmod(0o755)
    assert "Exec format error" in refused(shell("any", cwd=tmp_path, isolate=False), "./junk")
    assert "no program file by that name" in refused(shell("any", cwd=tmp_path), "./missing")
    assert "no program file by that name" in refused(shell("any", cwd=tmp_path), "./")


def test_where_unshare_is_missing_or_refused_there_is_no_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    confine = importlib.import_module("agentkit_tools._confine")
    assert confine._mapping(0) == ("--map-user=65534", "--map-group=65534")
    assert confine._mapping(1000) == ("--map-current-user",)
    assert confine._working(("false",)) is None  # the kernel refused: unshare exits non-zero
    assert confine._working(("/no/such/unshare",)) is None
    monkeypatch.setattr(confine.os, "access", lambda *args: False)
    monkeypatch.setattr(confine.shutil, "which", lambda *args, **kwargs: None)
    confine.namespace_prefix.cache_clear()
    try:
        assert confine.namespace_prefix() is None
    finally:
        confine.namespace_prefix.cache_clear()
