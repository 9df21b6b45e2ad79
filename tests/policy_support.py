"""What the local policy's tests share: a test profile with the local profile's policy, and the transcript of
one look-up."""

from __future__ import annotations

from agentkit import AssistantMessage, ToolMessage, UserMessage
from agentkit.local.policy import LOCAL
from agentkit.messages import Message
from agentkit.models.profiles import ModelProfile

assert LOCAL.policy is not None
LOCAL_POLICY = ModelProfile(family="test", policy=LOCAL.policy)
"""A test model with the local profile's policy (its wire format is the model layer's, not tested here)."""


def exchange(question: str, result: str, answer: str | None = None, *, tool: str = "lookup") -> list[Message]:
    """The question, the reply that called `tool`, its result, and the `answer` after it when one is given."""
    messages: list[Message] = [
        UserMessage(content=question),
        AssistantMessage(content=""),
        ToolMessage(tool_call_id="1", name=tool, content=result),
    ]
    return messages if answer is None else [*messages, AssistantMessage(content=answer)]
