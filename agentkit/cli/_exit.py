"""The command line's exit codes, and `CliError`: misuse found by the command line itself."""

from __future__ import annotations

from enum import IntEnum

from ..exceptions import AgentkitError, AgentRunError, ModelAPIError, ToolExecutionError, UsageLimitExceeded

__all__ = ["EXIT_CODES_HELP", "CliError", "ExitCode", "exit_code_for", "one_line"]


class ExitCode(IntEnum):
    """What `agentkit` exits with (the README's table says the same)."""

    OK = 0
    """The command succeeded."""
    RUN_FAILED = 1
    """The run failed otherwise: the model's output stayed unusable after retries, the local server died."""
    USAGE = 2
    """Misuse: bad flags, tools or an output type that do not load, a bad image, a missing key or setting."""
    MODEL_API = 3
    """The model endpoint answered with an error (HTTP status, error body, unknown or retired model)."""
    USAGE_LIMIT = 4
    """A limit was reached: `--max-turns` or `--budget-usd`."""
    TOOL_ERROR = 5
    """A tool raised and `--raise-tool-errors` was given."""
    INTERRUPTED = 130
    """Ctrl-C (or SIGTERM)."""


EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    the run failed: the model's output stayed unusable after retries (or the local server died)
  2    misuse: bad flags, tools/output type that do not load, a bad image, a missing API key
  3    the model endpoint answered with an error (HTTP error, error body, unknown or retired model)
  4    a usage limit was reached (--max-turns, --budget-usd)
  5    a tool raised and --raise-tool-errors was given
  130  interrupted (Ctrl-C)"""


class CliError(Exception):
    """Misuse the command line found before running anything: printed as one line, exit code 2."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def exit_code_for(error: Exception) -> ExitCode:
    """The exit code for an error raised by a run, or while setting one up (an exception agentkit did not
    expect, a bug in a tool's validator or a model's, counts as a failed run)."""
    if isinstance(error, CliError):
        return error.code
    if isinstance(error, ToolExecutionError):
        return ExitCode.TOOL_ERROR
    if isinstance(error, UsageLimitExceeded):
        return ExitCode.USAGE_LIMIT
    if isinstance(error, ModelAPIError):
        return ExitCode.MODEL_API
    if isinstance(error, AgentRunError) or not isinstance(error, AgentkitError):
        return ExitCode.RUN_FAILED
    return ExitCode.USAGE  # UserError: a missing key, a bad setting


def one_line(text: str) -> str:
    """`text` with its lines joined, for a one-line error message."""
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
