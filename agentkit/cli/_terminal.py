"""`agentkit run` live in a terminal, with rich (imported here only, when stdout is a terminal).

The answer streams as the model writes it (dimmed while agentkit may still question it; a thinking model's
reasoning before it, dimmed and in italics, unless hidden), a spinner says
what the run waits for, each tool call shows its arguments and the start of its result, and a last line
gives requests, tokens, cost and the model that answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from ..events import (
    ApprovalRequired,
    Event,
    FeedbackSent,
    HistoryCompacted,
    RequestStarted,
    ResponseFinished,
    TextDelta,
    ThinkingDelta,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from ._exit import ExitCode
from ._render import (
    FEEDBACK_NOTES,
    Renderer,
    call_line,
    compacted_line,
    error_line,
    hook_line,
    nested_line,
    output_text,
    short_result,
    usage_line,
)

if TYPE_CHECKING:
    from rich.status import Status

    from ..result import RunResult

__all__ = ["TerminalRenderer"]


class TerminalRenderer(Renderer):
    """The run as it happens, on a rich `Console` (stdout's by default; errors on stderr's)."""

    def __init__(
        self,
        output_type: Any = str,
        *,
        console: Console | None = None,
        err_console: Console | None = None,
        command: str = "run",
        show_usage: bool = True,
        show_thinking: bool = True,
    ) -> None:
        super().__init__(output_type, command=command, show_usage=show_usage, show_thinking=show_thinking)
        self.console = console or Console(highlight=False)
        self.err_console = err_console or Console(stderr=True, highlight=False)
        self._status: Status | None = None
        self._line_open = False
        """Answer text was printed without its line ended yet."""
        self._streamed = False
        """Some text of the final answer was shown as it streamed."""
        self._thinking = False
        """The open line is the model's thinking (the answer's text starts on a line of its own)."""

    # -- the spinner, shown only between whole lines -------------------------------------------------

    def _wait(self, what: str) -> None:
        self._end_line()
        if self._status is None:
            self._status = self.console.status(what, spinner="dots")
            self._status.start()
        else:
            self._status.update(what)

    def _stop_waiting(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _end_line(self) -> None:
        if self._line_open:
            self.console.print()
            self._line_open = False
        self._thinking = False

    def _line(self, text: Text) -> None:
        self._stop_waiting()
        self._end_line()
        self.console.print(text, soft_wrap=True)

    # -- events --------------------------------------------------------------------------------------

    def event(self, event: Event) -> None:
        if isinstance(event, RequestStarted):
            self._streamed = False
            self._wait(f"[dim]turn {event.turn}: waiting for {event.model_name}[/]")
        elif isinstance(event, ThinkingDelta):
            if self.show_thinking:
                self._stop_waiting()
                self.console.print(Text(event.text, style="dim italic"), end="", soft_wrap=True)
                self._line_open = self._thinking = True
        elif isinstance(event, TextDelta):
            self._stop_waiting()
            if self._thinking:
                self._end_line()
            self.console.print(
                Text(event.text, style="dim" if event.provisional else ""), end="", soft_wrap=True
            )
            self._line_open = self._streamed = True
        elif isinstance(event, ToolCallDelta) and event.name:
            self._wait(f"[dim]writing a call to {event.name}[/]")
        elif isinstance(event, ResponseFinished):
            self._stop_waiting()
            self._end_line()
        elif isinstance(event, ToolCallStarted):
            self._line(Text.assemble(("→ ", "cyan"), (call_line(event.call.name, event.arguments), "cyan")))
            self._wait("[dim]running tools[/]")
        elif isinstance(event, ToolCallFinished):
            style = "red" if event.is_error else "green"
            self._line(Text.assemble(("  ← ", style), (short_result(event), style)))
        elif isinstance(event, FeedbackSent):
            self._line(Text(f"({FEEDBACK_NOTES[event.reason]})", style="yellow"))
            self._streamed = False
        elif isinstance(event, ApprovalRequired):
            self._line(
                Text(f"⏸ waiting for approval: {call_line(event.call.name, event.arguments)}", style="yellow")
            )
        elif (line := hook_line(event)) is not None:
            self._line(Text(f"✗ {line}", style="red"))
        elif isinstance(event, HistoryCompacted):
            self._line(Text(compacted_line(event), style="dim"))
        elif (line := nested_line(event)) is not None:
            self._line(Text(line, style="dim"))

    def pause(self) -> None:
        self._stop_waiting()
        self._end_line()

    def finished(self, result: RunResult[Any], model: str) -> None:
        self._stop_waiting()
        self._end_line()
        if not self._streamed:  # a structured answer, or text that came in one piece without deltas
            self.console.print(Text(output_text(result.output, self.output_type)))
        if self.show_usage:
            self.console.print(Text(usage_line(result.usage, model), style="dim"))

    def failed(self, error: Exception, code: ExitCode, model: str) -> None:
        from ..exceptions import AgentRunError

        self._stop_waiting()
        self._end_line()
        usage = error.usage if isinstance(error, AgentRunError) else None
        if usage is not None and usage.requests:
            self.console.print(Text(usage_line(usage, model, prefix="spent"), style="dim"))
        self.err_console.print(Text(error_line(error, self.command), style="bold red"))

    def stopped(self) -> None:
        self._stop_waiting()
        self._end_line()
