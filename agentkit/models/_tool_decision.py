"""A cheap first decision for prompted tool calling: does one of the tools do what is asked (call or text).

A small model asked a question no offered tool can answer still calls the nearest tool, although a text
answer is allowed. With a profile's `decide_tool_use`, the first reply to a new question (tool choice `auto`,
the transcript ending with the user's question) is preceded by a request of its own: the reply's prompt, the
question below appended to the user's message, and (with `constrain_calls`) a grammar allowing only `call`
or `text`. Its prompt shares everything up to the end of the user's message with the reply's, so llama.cpp's
prompt cache evaluates only the appended question; it writes one token. On "text" the reply is asked for with
tool choice `none`: the prompt says to answer in plain text and calls written anyway are dropped.

Not asked: after tool results (the question is then already being worked on), after agentkit's feedback,
with a `required` or `none` tool choice, or when the final-result tool is offered (the answer must be a call).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from ..messages import Message, UserMessage
from ..settings import ModelSettings
from . import FINAL_RESULT_TOOL, ModelRequestParameters
from .profiles import ModelProfile

__all__ = ["DECISION", "asks_decision", "decision_body", "tool_use_declined", "without_tools"]

DECISION = (
    "Before you reply, choose what your reply will be: a call of one of the tools above, or a text answer "
    "because none of the tools does what is asked. Write only call or text."
)
"""Not a yes/no question: asked "yes or no", the model seemed to answer the user's own yes/no question."""
DECISION_GRAMMAR = '%llguidance {}\nstart: "call" | "text"\n'
_NO = re.compile(r"^\W*text\b", re.IGNORECASE)


def asks_decision(
    profile: ModelProfile,
    messages: Sequence[Message],
    parameters: ModelRequestParameters,
    settings: ModelSettings,
) -> bool:
    """Whether this request is preceded by the yes/no decision (see the module's docstring)."""
    if not (profile.decide_tool_use and profile.tool_calling == "prompted" and parameters.tools):
        return False
    if (settings.tool_choice or parameters.tool_choice or "auto") != "auto":
        return False
    if any(t.name == FINAL_RESULT_TOOL for t in parameters.tools):
        return False
    last = messages[-1] if messages else None
    return isinstance(last, UserMessage) and not last.feedback


def decision_body(body: dict[str, Any], profile: ModelProfile) -> dict[str, Any]:
    """The decision request: the reply's `body` (not streamed) with `DECISION` after the last message's text,
    the yes/no grammar (with `constrain_calls`) and room for one word."""
    out = {k: v for k, v in body.items() if k not in ("stream", "stream_options", "grammar", "max_tokens")}
    messages = list(body["messages"])
    last = messages[-1]
    content = last["content"]
    if isinstance(content, list):
        messages[-1] = {**last, "content": [*content, {"type": "text", "text": DECISION}]}
    else:
        messages[-1] = {**last, "content": f"{content}\n\n{DECISION}"}
    out["messages"] = messages
    out["max_tokens"] = 2
    if profile.constrain_calls:
        out["grammar"] = DECISION_GRAMMAR
    return out


def tool_use_declined(data: dict[str, Any]) -> bool:
    """Whether the decision's completion `data` says text (anything else, an empty reply included, is call)."""
    choices = data.get("choices") or [{}]
    content = (choices[0].get("message") or {}).get("content")
    return isinstance(content, str) and _NO.match(content) is not None


def without_tools(
    parameters: ModelRequestParameters, settings: ModelSettings
) -> tuple[ModelRequestParameters, ModelSettings]:
    """The request's parameters and settings with tool choice `none` (the tools stay in the prompt)."""
    settings = dataclasses.replace(settings, tool_choice=None) if settings.tool_choice else settings
    return dataclasses.replace(parameters, tool_choice="none"), settings
