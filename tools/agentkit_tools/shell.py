"""`shell(allow=...)`: run one program with arguments, without a shell, confined in time, output and folder.

The command line is split with `shlex` and run with `subprocess` (never `shell=True`), in a new session
(process group) that is killed at the timeout: the program and every process still in that group. Where the
system allows it (`isolate`), the command also runs in its own user, PID and mount namespace with its own
`/proc` (`_confine`): it cannot see this process or any other outside, and when it ends every process it
left behind is killed. Without the namespace, a process that leaves the group (`setsid`, a daemon that
double-forks, `nohup ... &` run by an allowed interpreter) is not killed: nothing short of a cgroup or
container tracks it, and marking this process a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`) would
change how the whole agent process reaps orphans. Allow only programs that do not detach. This process is
made non-dumpable (`protect_process`), so a command of the same unprivileged user cannot read its environment
or memory; a command run as root can, unless the namespace hides this process. Shell syntax (pipes, redirection, `;`, `&&`, `$VAR`, `$(...)`,
backticks, wildcards) is refused with a message saying so, rather than passed on as literal arguments. The
environment is rebuilt from a short list of harmless variables (`PATH`, `HOME`, `LANG`, ...): API keys,
tokens and passwords are never passed on.

The allow-list is a convenience, not a sandbox: many ordinary programs run commands or write files through
their options (`sed`'s `e` command and `w` flag, `sort -o` and `--compress-program`, `tar -I` and
`--to-command`, `rg --pre`, `awk`'s `system()`, `zip -TT`, `rsync -e`, `find -exec`, `git -c
core.pager=...`), and arguments are not confined to the working folder (`cat /etc/hostname`). That is why
each command needs a person's approval by default.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import Literal

from agentkit import ModelRetry, Tool, UserError

from . import _confine
from ._confine import namespace_prefix
from ._paths import Root

__all__ = ["INHERITED_ENV", "SECRET_NAME", "safe_environment", "shell"]

INHERITED_ENV = frozenset(
    {"PATH", "HOME", "LANG", "LANGUAGE", "TERM", "TZ", "USER", "LOGNAME", "SHELL", "TMPDIR", "TEMP", "TMP"}
)
"""The variables (besides `LC_*`) a command inherits from this process; nothing else is passed on."""
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE", re.I)
"""Names never inherited, even from `INHERITED_ENV` or `LC_*`."""
_OPERATORS = set(";|&<>()\n")
_EXPANSION = re.compile(r"\$[A-Za-z_{(]|`")
_WILDCARDS = set("*?[")


def safe_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of `environ` a command may see: `INHERITED_ENV` and `LC_*`, minus secret-looking names."""
    return {
        name: value
        for name, value in environ.items()
        if (name in INHERITED_ENV or name.startswith("LC_")) and not SECRET_NAME.search(name)
    }


def shell(
    allow: Sequence[str] | Literal["any"],
    *,
    timeout: float = 30.0,
    cwd: str | os.PathLike[str] = ".",
    max_output_bytes: int = 50_000,
    env: Mapping[str, str] | None = None,
    require_approval: bool = True,
    isolate: bool | None = None,
    protect_process: bool = True,
) -> Tool[..., str]:
    """A `run_command` tool that runs one allowed program with its arguments (no shell).

    Args:
        allow: The program names the model may run (`["ls", "git", "grep"]`), compared with the first word
            of the command; a path such as `/bin/ls` or `./ls` is refused. `"any"` allows every program on
            `PATH` or by path: the command still runs without a shell, with the timeout, the output cap, the
            scrubbed environment and the working folder, but it can do anything your user can do (read and
            write any file, use the network). Allowing an interpreter or a program that runs others
            (`python`, `sh`, `env`, `xargs`, `find`, `git` with its hooks) is the same as allowing `"any"`, and so
            is, in effect, allowing many ordinary programs whose options run commands or write files (`sed`,
            `sort`, `tar`, `rg`, `awk`, `zip`, `rsync`, `git -c ...`): the list is a convenience, not a sandbox.
        timeout: Seconds a command may run; then its process group is killed (the program and what it
            started, unless a process left the group with `setsid` or by daemonizing).
        cwd: The folder commands run in; the model may pick a sub-folder of it, never a folder outside.
        max_output_bytes: Bytes of output (stdout and stderr together) kept; past that the command is stopped.
        env: Variables to set for every command, as given (on top of the scrubbed inherited ones).
        require_approval: A person approves each command before it runs (`requires_approval` on the tool).
            `False` runs the commands the model chooses unattended.
        isolate: Run each command in a fresh user, PID and mount namespace with its own `/proc` (util-linux
            `unshare`), so it sees no process outside it (not this one, not the shell that started it) and
            holds no capability; root's commands run as an unprivileged user inside the namespace (they still
            own root's files). `None` (the default) isolates where the system allows it and says in the
            tool's description when it does not; `True` raises `UserError` where it cannot; `False` never
            isolates.
        protect_process: Mark this process non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`, Linux) so that a
            command of the same unprivileged user cannot read its environment (your API keys) or memory
            through `/proc` or `ptrace`. It also turns off this process's core dumps and attaching a
            debugger or profiler without root; `False` leaves the process as it is.
    """
    if isinstance(allow, str):
        if allow != "any":
            raise UserError(f'shell(allow=...) takes a list of program names or "any", not {allow!r}.')
        allowed: frozenset[str] | None = None
    else:
        allowed = frozenset(allow)
        if not allowed or any(not name or "/" in name for name in allowed):
            raise UserError("shell(allow=[...]) needs program names such as 'ls' (no paths, at least one).")
    if timeout <= 0 or max_output_bytes < 1:
        raise UserError("shell(): timeout must be positive and max_output_bytes at least 1.")
    prefix = namespace_prefix() if isolate is not False else None
    if isolate and prefix is None:
        raise UserError(
            "shell(isolate=True): this system cannot run commands in their own namespaces (util-linux "
            "`unshare` is missing or the kernel refuses user namespaces); pass isolate=None or False."
        )
    protected = protect_process and _confine.protect_process()
    runner = _Runner(
        allowed=allowed,
        timeout=timeout,
        root=Root(cwd),
        max_output=max_output_bytes,
        env={**safe_environment(os.environ), **(env or {})},
        prefix=prefix or (),
    )

    def run_command(command: str, cwd: str = ".") -> str:
        return runner.run(command, cwd)

    programs = "any program" if allowed is None else "only these programs: " + ", ".join(sorted(allowed))
    run_command.__doc__ = f"""Run one program with its arguments and return its exit code and output.

    There is no shell: pipes, redirection, ';', '&&', variables, $(...) and wildcards are not available.
    Allowed: {programs}. A command is stopped after {timeout:g} seconds.
    {_confinement(isolated=prefix is not None, protected=protected)}

    Args:
        command: The program and its arguments, quoted as in a shell, e.g. "grep -n 'def main' app.py".
        cwd: The folder to run it in, relative to the working folder.
    """
    return Tool(run_command, name="run_command", requires_approval=require_approval)


def _confinement(*, isolated: bool, protected: bool) -> str:
    """One sentence for the description: what keeps a command from reading the agent process."""
    if isolated:
        return "Commands run in their own process namespace: they see no other process."
    if protected and os.geteuid() != 0:
        return "Commands are not isolated: they see other processes, but cannot read this agent's memory."
    return "Commands are not isolated: they can read other processes, this agent's environment included."


class _Runner:
    def __init__(
        self,
        *,
        allowed: frozenset[str] | None,
        timeout: float,
        root: Root,
        max_output: int,
        env: dict[str, str],
        prefix: tuple[str, ...],
    ) -> None:
        self.allowed = allowed
        self.timeout = timeout
        self.root = root
        self.max_output = max_output
        self.env = env
        self.prefix = prefix

    def run(self, command: str, cwd: str) -> str:
        argv = self.parse(command)
        folder = os.path.join(self.root.path, self.root.resolve(cwd or "."))
        if not os.path.isdir(folder):
            raise ModelRetry(f"No folder {cwd!r} to run in.")
        program = argv[0]
        if "/" not in program:
            found = shutil.which(program, path=self.env.get("PATH", os.defpath))
            if found is None:
                raise ModelRetry(f"Program {program!r} is not installed (not on PATH).")
            argv[0] = found
        elif not os.access(os.path.join(folder, program), os.X_OK) or os.path.isdir(
            os.path.join(folder, program)
        ):
            raise ModelRetry(f"Cannot run {program!r}: there is no program file by that name.")
        try:
            process = subprocess.Popen(
                [*self.prefix, *argv],
                cwd=folder,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ModelRetry(f"Cannot run {program!r}: {exc.strerror or exc}.") from None
        with process:
            output, stopped = self._collect(process)
        text = output[: self.max_output].decode("utf-8", errors="replace")
        if stopped == "timeout":
            return f"Stopped after {self.timeout:g} seconds (timeout); output so far:\n{text}"
        if stopped == "output":
            return f"Stopped: the output passed {self.max_output} bytes; the first {self.max_output}:\n{text}"
        return f"Exit code {process.returncode}\n{text}"

    def parse(self, command: str) -> list[str]:
        """The argv of `command`, refusing shell syntax and programs outside the allow-list."""
        if "\x00" in command:
            raise ModelRetry("A command cannot contain a NUL byte.")
        bare = _unquoted(command)
        if _EXPANSION.search(_unquoted(command, double=True)):
            raise ModelRetry("No shell runs the command: $VARIABLES, $(...) and `...` are not expanded.")
        if _OPERATORS & set(bare):
            raise ModelRetry(
                "No shell runs the command: pipes (|), redirection (< >), ';', '&&', '&', '( )' and line breaks "
                "are not available. Run one program with its arguments (quote an argument that contains them)."
            )
        if _WILDCARDS & set(bare):
            raise ModelRetry(
                "No shell runs the command: wildcards (* ? [) are not expanded; name the files, or quote the "
                "pattern for a program that takes one (find -name '*.py')."
            )
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ModelRetry(f"Cannot split the command: {exc} (check the quotes).") from None
        if not argv:
            raise ModelRetry("The command is empty; give a program and its arguments.")
        program = argv[0]
        if self.allowed is not None:
            if "/" in program:
                raise ModelRetry(f"Give the program by name, not by path ({program!r}).")
            if program not in self.allowed:
                raise ModelRetry(
                    f"{program!r} is not an allowed program; allowed: {', '.join(sorted(self.allowed))}."
                )
        return argv

    def _collect(self, process: subprocess.Popen[bytes]) -> tuple[bytes, str | None]:
        """Read the output until the end, the cap or the deadline; then kill the process group (a process
        that left it, with `setsid` or by daemonizing, is beyond reach)."""
        assert process.stdout is not None
        deadline = time.monotonic() + self.timeout
        output = bytearray()
        stopped: str | None = None
        fd = process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    stopped = "timeout"
                    break
                if not selector.select(remaining):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                output += chunk
                if len(output) > self.max_output:
                    stopped = "output"
                    break
        if stopped is None:
            try:
                process.wait(max(deadline - time.monotonic(), 0.001))
            except subprocess.TimeoutExpired:
                stopped = "timeout"
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # the program and anything it left running in its group
        process.wait()
        return bytes(output), stopped


def _unquoted(command: str, *, double: bool = False) -> str:
    """The characters of `command` outside quotes (with `double`, also those in "...", where a shell expands)."""
    kept: list[str] = []
    quote: str | None = None
    escaped = False
    for char in command:
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote is not None:
            if char == quote:
                quote = None
            elif quote == '"' and double:
                kept.append(char)
        elif char in "'\"":
            quote = char
        else:
            kept.append(char)
    return "".join(kept)
