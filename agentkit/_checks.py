"""The checker interface: a policy that may question a tool call or an answer before the loop accepts it.

A model profile's `RunPolicy.checker` makes one checker per run; the checker keeps its own state and budget.
The loop asks it about each validated call and each answer and sends its questions back to the model;
`GroundingCheck` (`_grounding`) is the one agentkit ships, for small models.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._tool_calls import ValidatedCall
    from .messages import Message
    from .tool import ToolDefinition

__all__ = ["CallQuestion", "RunChecker"]


@dataclass(kw_only=True, frozen=True)
class CallQuestion:
    """Why a call was not run, for the model, and what to ask for next."""

    text: str
    """Sent back as the call's (error) result."""
    answer_now: bool = False
    """Ask for a text answer in the next request (the model insisted on a call that cannot be right)."""


class RunChecker(ABC):
    """Questions a run's tool calls and answers. One instance per run."""

    def start_run(self, messages: Sequence[Message], start: int, tools: Mapping[str, ToolDefinition]) -> None:  # noqa: B027
        """Called once, before the first request: the transcript, where this run's messages begin, the tools."""

    def start_turn(self, messages: Sequence[Message]) -> None:  # noqa: B027
        """Called before a turn's calls are checked, with the transcript up to and including the calls."""

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
