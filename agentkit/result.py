"""`RunResult`: what a finished run gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic

from typing_extensions import TypeVar

from .messages import Message, ToolCall, messages_to_json
from .usage import Usage

__all__ = ["OutputT", "RunResult"]

OutputT = TypeVar("OutputT", default=str)
"""The type of a run's answer (`Agent(output_type=...)`): `str` unless told."""


@dataclass(kw_only=True)
class RunResult(Generic[OutputT]):
    """The output of a run, its whole transcript, and what it consumed."""

    output: OutputT
    """The final answer: text, or a validated instance of the agent's `output_type`; `None` while
    `pending_approvals` is not empty."""
    messages: list[Message]
    """The whole conversation: the history passed in, then this run's messages."""
    usage: Usage
    """Requests, tokens and dollar cost of this run (the history's usage is not included)."""
    new_message_index: int = field(default=0)
    """Where this run's messages start in `messages`."""
    instructions_added: bool = False
    """This run put the agent's instructions, as a system message, in front of a history that had none."""
    pending_approvals: list[ToolCall] = field(default_factory=list)
    """Calls waiting for a person's approval (tools with `requires_approval`): the run stopped after their
    turn. Continue with `agent.run(None, message_history=result.messages, approvals={call.id: True or a
    reason to deny})`; `messages_json()` keeps them, so the decision may come from another process."""

    @property
    def is_pending(self) -> bool:
        """Whether the run stopped for approvals instead of answering."""
        return bool(self.pending_approvals)

    def new_messages(self) -> list[Message]:
        """Only the messages this run added: from `new_message_index` on, after the system message when this
        run put one in front of the history."""
        new = self.messages[self.new_message_index :]
        return [self.messages[0], *new] if self.instructions_added else new

    def messages_json(self, *, indent: int | None = None) -> bytes:
        """The whole transcript as JSON, loadable with `messages_from_json` to continue later."""
        return messages_to_json(self.messages, indent=indent)
