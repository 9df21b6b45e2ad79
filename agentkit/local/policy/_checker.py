"""`RunChecker`: a policy that may question a tool call or an answer before the run takes it, as hooks.

A checker is a `Hooks` object made once per run (`RunPolicy(checker=...)` makes it), so it keeps its own
state and budget. Its hook methods call the checker's own interface at the same points as ever:

```
before_run       where this run's messages start (the prompt's index; after the history)
before_request   the first one: start_run(messages, start, tools offered, the final-result tool left out)
after_response   a response with calls: start_turn(transcript) before its calls are checked
check_tool_call  question_call(call): a CallQuestion becomes Reply(text, is_error=True), not run
check_answer     question_answer(transcript): a question is sent back instead of taking the answer
may_check_answer may_question_answer: while it holds, a streamed answer is provisional
```
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...hooks import Hooks, ModelRequest, Reply
from ...messages import AssistantMessage, Message, UserMessage
from ...models import FINAL_RESULT_TOOL

if TYPE_CHECKING:
    from ..._run.tool_calls import ValidatedCall
    from ...context import RunContext
    from ...tool import ToolDefinition

__all__ = ["CallQuestion", "RunChecker"]


@dataclass(kw_only=True, frozen=True)
class CallQuestion:
    """Why a call was not run, for the model, and what to ask for next."""

    text: str
    """Sent back as the call's (error) result."""
    answer_now: bool = False
    """Ask for a text answer in the next request (the model insisted on a call that cannot be right)."""


class RunChecker(Hooks[Any], ABC):
    """Questions a run's tool calls and answers. One instance per run (a `RunPolicy` makes it).

    Subclass it and write `question_call`, `question_answer` and `may_question_answer` (and `start_run`,
    `start_turn` if it needs them); its hook methods are written here (override them only calling `super()`).
    """

    _start: int = 0
    _started: bool = False
    _turned: bool = False
    answer_next: bool = False
    """Set by `question_answer` when what it asks needs no call (the values are in the results already):
    the next request asks for a text answer (`tool_choice="none"`; not when the output comes through a
    tool). For that request only."""

    def start_run(self, messages: Sequence[Message], start: int, tools: Mapping[str, ToolDefinition]) -> None:
        """Called once, before the first request: the transcript, where this run's messages begin, the tools."""

    def start_turn(self, messages: Sequence[Message]) -> None:
        """Called before a turn's calls are checked, with the transcript up to the calls."""

    @abstractmethod
    def question_call(self, call: ValidatedCall) -> CallQuestion | None:
        """What to tell the model instead of running `call` (its arguments are valid), or `None` to run it."""

    @abstractmethod
    def question_answer(self, messages: Sequence[Message]) -> str | None:
        """What to ask the model about its answer (the last message), or `None` to accept it."""

    @property
    @abstractmethod
    def may_question_answer(self) -> bool:
        """Whether an answer may still be questioned (so a streamed answer is provisional)."""

    # --- the hook methods ----------------------------------------------------------------------------

    async def before_run(self, ctx: RunContext[Any]) -> None:
        self._start = _run_start(ctx.messages)

    async def before_request(self, ctx: RunContext[Any], request: ModelRequest) -> ModelRequest | None:
        self._begin(ctx.messages, {t.name: t for t in request.tools if t.name != FINAL_RESULT_TOOL})
        answer_next, self.answer_next = self.answer_next, False
        if answer_next and request.tools and all(t.name != FINAL_RESULT_TOOL for t in request.tools):
            return request.replace(tool_choice="none")
        return None

    async def after_response(self, ctx: RunContext[Any], response: AssistantMessage) -> None:
        if response.tool_calls:
            self._turned = True
            self.start_turn(ctx.messages)

    async def check_tool_call(self, ctx: RunContext[Any], call: ValidatedCall) -> Reply | None:
        if not self._turned:  # a run taking up calls that waited for approval: no request made yet
            self._begin(ctx.messages, {})
            self._turned = True
            self.start_turn(ctx.messages)
        question = self.question_call(call)
        if question is None:
            return None
        return Reply(question.text, is_error=True, answer_next=question.answer_now)

    async def check_answer(self, ctx: RunContext[Any], answer: AssistantMessage) -> str | None:
        return self.question_answer(ctx.messages)

    @property
    def may_check_answer(self) -> bool:
        return self.may_question_answer

    def _begin(self, messages: Sequence[Message], tools: Mapping[str, ToolDefinition]) -> None:
        """`start_run`, once: at the first request (with the tools it offers), or at the first call checked."""
        if not self._started:
            self._started = True
            self.start_run(messages, self._start, tools)


def _run_start(messages: Sequence[Message]) -> int:
    """Where a run's own messages start, as it starts: at its prompt (the last message, when the run was given
    one), else after the history it continues."""
    last = messages[-1] if messages else None
    given_prompt = isinstance(last, UserMessage) and not last.feedback
    return len(messages) - 1 if given_prompt else len(messages)
