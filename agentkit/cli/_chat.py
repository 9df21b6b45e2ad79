"""`agentkit chat`: an interactive session with one agent, the transcript carried from turn to turn.

Each answer streams as `agentkit run` shows it (`_terminal` in a terminal, plain lines otherwise). Ctrl-C
while an answer is coming cancels that answer (the request and running async tools) and leaves the
exchange out of the history; Ctrl-C or Ctrl-D at the prompt ends the session.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from contextlib import suppress
from typing import Any

from ..agent import Agent
from ..exceptions import AgentRunError
from ..messages import ContentPart, Message, TextPart
from ..usage import Usage
from ._approve import add_approve_argument, approver
from ._exit import EXIT_CODES_HELP, ExitCode, exit_code_for
from ._images import add_file_argument, load_file
from ._options import TOOL_SPECS_HELP, add_agent_arguments, build_agent
from ._render import (
    PlainRenderer,
    Renderer,
    add_thinking_argument,
    answered_by,
    tolerant_output,
    usage_line,
)

__all__ = ["ChatSession", "add_chat_parser", "chat_command"]

PROMPT = "you> "
COMMANDS = {
    "/reset": "forget the conversation so far",
    "/usage": "requests, tokens and dollars of this session",
    "/exit": "end the session (or Ctrl-D; Ctrl-C at the prompt)",
    "/help": "this list",
}
DESCRIPTION = f"""\
Talk with an agent: each answer streams, tool calls shown as they run; the conversation is kept from turn
to turn. Commands: {", ".join(COMMANDS)}. Ctrl-C while an answer comes stops it (the session goes on;
the stopped exchange is left out of the history); Ctrl-C or Ctrl-D at the prompt ends the session.

{TOOL_SPECS_HELP}"""


def add_chat_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `agentkit chat` to the command line."""
    chat = commands.add_parser(
        "chat",
        help="talk with an agent, interactively",
        description=DESCRIPTION,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_agent_arguments(chat)
    add_approve_argument(chat, interactive=True)
    add_file_argument(chat, "with the first message (and the first after /reset)")
    add_thinking_argument(chat)


def chat_command(args: argparse.Namespace) -> int:
    """Run `agentkit chat`; returns the exit code (0 after /exit or Ctrl-D, 130 after Ctrl-C)."""
    tolerant_output()
    files: list[ContentPart] = [load_file(source) for source in getattr(args, "file", ())]
    agent = build_agent(args)
    with suppress(ImportError):
        import readline  # noqa: F401 - line editing and history for input()
    return ChatSession(
        agent,
        terminal=sys.stdout.isatty(),
        approve=getattr(args, "approve", None),
        files=files,
        show_thinking=not getattr(args, "no_thinking", False),
    ).loop()


class ChatSession:
    """The session: the transcript so far and what it cost."""

    def __init__(
        self,
        agent: Agent[None, Any],
        *,
        terminal: bool,
        approve: str | None = None,
        files: list[ContentPart] | None = None,
        show_thinking: bool = True,
    ) -> None:
        self.agent = agent
        self.files = list(files or [])
        """`--file`: parts sent with the first message of the conversation (again after /reset)."""
        self.show_thinking = show_thinking
        """Show a thinking model's reasoning (`--no-thinking` hides it)."""
        self.terminal = terminal
        self.approve = approve
        """`--approve`: how calls of tools that require approval are decided (`None`: ask on a terminal)."""
        self.history: list[Message] = []
        self.usage = Usage()

    def loop(self) -> int:
        """Read and answer until /exit, Ctrl-D or Ctrl-C at the prompt."""
        model = self.agent.model.model_name
        self._say(f"agentkit chat with {model}: /help for commands, Ctrl-D to leave")
        loop = asyncio.new_event_loop()  # one loop for the session: its HTTP connections are reused
        try:
            return self._read_and_answer(loop)
        finally:
            loop.run_until_complete(self.agent.model.aclose())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _read_and_answer(self, loop: asyncio.AbstractEventLoop) -> int:
        while True:
            try:
                line = input(PROMPT).strip()
            except EOFError:
                print()
                return ExitCode.OK
            except KeyboardInterrupt:
                print()
                return ExitCode.INTERRUPTED
            if line.startswith("/"):
                if self.command(line):
                    return ExitCode.OK
            elif line:
                self._ask(loop, line)

    def command(self, line: str) -> bool:
        """Carry out a `/command`; returns whether the session ends."""
        name = line.split()[0].lower()
        if name in ("/exit", "/quit"):
            return True
        if name == "/reset":
            self.history = []
            self._say("(the conversation is forgotten; the next message starts anew)")
        elif name == "/usage":
            model = self.agent.model.model_name
            self._say(usage_line(self.usage, model, prefix="session") + f"; {len(self.history)} messages")
        elif name == "/help":
            for command, meaning in COMMANDS.items():
                self._say(f"{command:8} {meaning}")
        else:
            self._say(f"unknown command {name}; commands: {', '.join(COMMANDS)}")
        return False

    def _ask(self, loop: asyncio.AbstractEventLoop, prompt: str) -> None:
        """Answer `prompt`; Ctrl-C meanwhile cancels the answer (SIGINT cancels the turn's task)."""
        renderer = self._renderer()
        turn = loop.create_task(self._turn(prompt, renderer))
        with suppress(NotImplementedError):  # Windows: Ctrl-C stays a KeyboardInterrupt
            loop.add_signal_handler(signal.SIGINT, turn.cancel)
        try:
            loop.run_until_complete(turn)
        except (asyncio.CancelledError, KeyboardInterrupt):
            if not turn.done():  # pragma: no cover - Windows
                turn.cancel()
                loop.run_until_complete(asyncio.wait({turn}))
            renderer.stopped()
            self._say("(stopped; this exchange is left out of the conversation)")
        finally:
            with suppress(NotImplementedError):
                loop.remove_signal_handler(signal.SIGINT)

    async def _turn(self, prompt: str, renderer: Renderer) -> None:
        approve = approver(self.approve, before_asking=renderer.pause)
        content: str | list[ContentPart] = prompt
        if self.files and not self.history:
            content = [TextPart(text=prompt), *self.files]
        stream = self.agent.run_stream(content, message_history=self.history, approve=approve)
        try:
            async with stream:
                async for event in stream:
                    renderer.event(event)
        except Exception as exc:  # any failure ends the turn, not the session
            messages = exc.messages if isinstance(exc, AgentRunError) else []
            renderer.failed(exc, exit_code_for(exc), answered_by(messages, self.agent.model.model_name))
            return
        finally:
            self.usage.add(stream.usage)
        result = stream.result
        self.history = result.messages
        renderer.finished(result, answered_by(result.messages, self.agent.model.model_name))

    def _renderer(self) -> Renderer:
        if self.terminal:
            from ._terminal import TerminalRenderer

            return TerminalRenderer(command="chat", show_usage=False, show_thinking=self.show_thinking)
        return PlainRenderer(command="chat", show_usage=False, show_thinking=self.show_thinking)

    def _say(self, text: str) -> None:
        print(text, flush=True)
