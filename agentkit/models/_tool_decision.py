"""A cheap first decision for prompted tool calling: does one of the tools do what is asked (call or text).

A small model asked a question no offered tool can answer still calls the nearest tool, although a text
answer is allowed. With a profile's `decide_tool_use`, the first reply to a new question (tool choice `auto`,
the transcript ending with the user's question) is preceded by one or two requests of one token each, no
grammar, asking for the first token's log-probabilities: the reply's own prompt (how likely the reply
starts as a call, a JSON object or a fence, or as text), and, when the profile has a threshold for it,
that prompt with `NAMES` appended to the user's message ("which tool does what the question asks? its
name, or none"). The first leaves the reply's whole prompt in llama.cpp's prompt cache for the reply
itself; the second evaluates only the appended question.

The reply is asked for without calls (tool choice `none`: the prompt says to answer in plain text and calls
written anyway are dropped) only when they lean to "no tool": log P(text) - log P(call) of the reply's
first token above the profile's first threshold and log P(none) above its second
(`ModelProfile.tool_use_thresholds`; a second threshold of `None` sends no name request). A greedy reading is not enough for a 1.5B model: its first token
leans to a call for most questions no tool answers too, so the thresholds are calibrated on items outside
any evaluation (`benchmarks/calibrate_tool_decision.py`, docs/local-model.md); which signal carries the
decision depends on the prompt's layout (with the local format, the reply's own token). An earlier yes/no
question ("can one of the tools do it?") was replaced by the reply's own token, which needs no question of
its own and leaves the reply's prompt in the cache. A server that returns no log-probabilities is read by
its words: the reply's first token and the name.

With the profile's `decline_invented_calls`, a reply the thresholds let call is then asked for and read
whole before any of it is passed on (streamed when the reply would be, so that a repeated call is cut), and
its calls checked (`_invented_calls`): calls whose required values the transcript mostly does not give mean
the model reached for the nearest tool, and the reply is asked for again without calls; a reply that passes
is the reply (`Decision.reply`), so it costs no second request. Of BFCL items outside any
evaluation, the check declines 12 of the 18 irrelevance items the local threshold lets through, and 1 of 120
answerable ones (docs/local-evals.md).

Not asked: after tool results (the question is then already being worked on), after agentkit's feedback,
with a `required` or `none` tool choice, or when the final-result tool is offered (the answer must be a call).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .._support.given import given_text
from ..exceptions import ModelAPIError
from ..messages import Message, UserMessage, transcript_call_ids
from ..settings import ModelSettings
from ..usage import Usage
from . import FINAL_RESULT_TOOL, ModelRequestParameters
from ._chat_format import parse_completion, parse_usage
from ._invented_calls import invented_calls
from .profiles import ModelProfile

__all__ = [
    "NAMES",
    "Decision",
    "as_decisions",
    "asks_decision",
    "decide",
    "decision_bodies",
    "decision_signals",
    "first_reply_to_question",
    "one_token",
    "tool_use_declined",
    "without_tools",
]

NAMES = (
    "Before you reply: which of the tools above does what the question asks? Write only that tool's name, "
    "or none if no tool does it."
)
_TOP = 20
"""How many of the first token's likeliest alternatives to ask for (llama.cpp's `top_logprobs`)."""

logger = logging.getLogger("agentkit")


@dataclasses.dataclass(kw_only=True)
class Decision:
    """What the decision before a reply settled: the reply's parameters and settings (without calls when no
    tool fits), the decision's usage, and the reply itself when the check of its calls already asked for it."""

    parameters: ModelRequestParameters
    settings: ModelSettings
    usage: Usage | None = None
    """`decisions` the requests asked, `requests` 0 (`requests` counts replies); `None`: nothing was asked."""
    reply: dict[str, Any] | None = None
    """The reply's completion (whole: a streamed reply's chunks added up), from
    `ModelProfile.decline_invented_calls`'s check: the reply to use as is."""


async def decide(
    profile: ModelProfile,
    messages: Sequence[Message],
    parameters: ModelRequestParameters,
    settings: ModelSettings,
    body: dict[str, Any],
    post: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
    ask: Callable[[], Awaitable[dict[str, Any]]] | None = None,
) -> Decision:
    """The decision before the reply whose request `body` (not streamed) is, its requests sent with `post`;
    `ask` asks for the reply itself and gives its completion whole (the check of its calls), `post(body)`
    without it."""
    if not asks_decision(profile, messages, parameters, settings):
        return Decision(parameters=parameters, settings=settings)
    thresholds = profile.tool_use_thresholds
    questions = decision_bodies(body, names=thresholds[1] is not None)
    answers = [await post(question) for question in questions]  # the reply's prompt first
    usage = as_decisions(sum((parse_usage(a.get("usage"), profile) for a in answers), Usage()))
    if not any(a.get("error") for a in answers) and tool_use_declined(
        answers[0], answers[1] if len(answers) > 1 else None, thresholds
    ):
        logger.debug(
            "%s: no tool does what is asked; the reply is asked for without calls", body.get("model")
        )
        return _declined(parameters, settings, usage)
    if not profile.decline_invented_calls:
        return Decision(parameters=parameters, settings=settings, usage=usage)
    try:
        reply = await (ask() if ask is not None else post(body))
    except ModelAPIError as exc:  # the reply is asked for again the usual way, its errors handled there
        logger.debug("the reply to check failed (%s); it is asked for again", exc)
        reply = {"error": exc.message}
    if reply.get("error"):
        return Decision(parameters=parameters, settings=settings, usage=usage)
    message = parse_completion(reply, profile, transcript_call_ids(messages), parameters, settings)
    if not invented_calls(message.tool_calls, parameters.tools, given_text(messages, len(messages))):
        return Decision(parameters=parameters, settings=settings, usage=usage, reply=reply)
    logger.debug(
        "%s: the reply's calls hold values nobody gave; it is asked for again without calls",
        body.get("model"),
    )
    return _declined(parameters, settings, usage + as_decisions(parse_usage(reply.get("usage"), profile)))


def as_decisions(usage: Usage) -> Usage:
    """`usage` of requests that decide about a reply rather than make it: counted in `decisions`, not in
    `requests` (which counts replies); their tokens count as any."""
    usage.decisions, usage.requests = usage.requests, 0
    return usage


def _declined(parameters: ModelRequestParameters, settings: ModelSettings, usage: Usage) -> Decision:
    parameters, settings = without_tools(parameters, settings)
    return Decision(parameters=parameters, settings=settings, usage=usage)


def asks_decision(
    profile: ModelProfile,
    messages: Sequence[Message],
    parameters: ModelRequestParameters,
    settings: ModelSettings,
) -> bool:
    """Whether this request is preceded by the decision (see the module's docstring)."""
    if not (profile.decide_tool_use and profile.tool_calling == "prompted"):
        return False
    return first_reply_to_question(messages, parameters, settings)


def first_reply_to_question(
    messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
) -> bool:
    """Whether this request asks for the first reply to a new question with the tools free to use: tools
    offered, tool choice `auto`, no final-result tool (the answer must then be a call), and the transcript
    ending with the user's message (not after tool results or agentkit's feedback)."""
    if not parameters.tools or (settings.tool_choice or parameters.tool_choice or "auto") != "auto":
        return False
    if any(t.name == FINAL_RESULT_TOOL for t in parameters.tools):
        return False
    last = messages[-1] if messages else None
    return isinstance(last, UserMessage) and not last.feedback


def decision_bodies(body: dict[str, Any], *, names: bool = True) -> tuple[dict[str, Any], ...]:
    """The decision requests: the reply's `body` itself, then (with `names`) with `NAMES` after the last
    message's text; not streamed, no grammar, room for one token and its log-probabilities asked for."""
    return (_asking(body, None), _asking(body, NAMES)) if names else (_asking(body, None),)


def one_token(body: dict[str, Any]) -> dict[str, Any]:
    """`body` asking for one token and its likeliest alternatives' log-probabilities: not streamed, no
    grammar."""
    out = {k: v for k, v in body.items() if k not in ("stream", "stream_options", "grammar", "max_tokens")}
    out["max_tokens"] = 1
    out["logprobs"] = True
    out["top_logprobs"] = _TOP
    return out


def _asking(body: dict[str, Any], question: str | None) -> dict[str, Any]:
    out = one_token(body)
    if question is None:
        return out
    messages = list(body["messages"])
    last = messages[-1]
    content = last["content"]
    if isinstance(content, list):
        messages[-1] = {**last, "content": [*content, {"type": "text", "text": question}]}
    else:
        messages[-1] = {**last, "content": f"{content}\n\n{question}"}
    out["messages"] = messages
    return out


def tool_use_declined(
    reply: dict[str, Any], names: dict[str, Any] | None, thresholds: tuple[float, float | None]
) -> bool:
    """Whether the decision's completions say no tool fits: each of `decision_signals` above its threshold
    (the name completion's only when `thresholds` has a second)."""
    margin, none = decision_signals(reply, names)
    return margin > thresholds[0] and (thresholds[1] is None or none > thresholds[1])


def decision_signals(reply: dict[str, Any], names: dict[str, Any] | None) -> tuple[float, float]:
    """log P(text) - log P(call) of the reply's first token (a call starts with `{` or a fence; text is the
    rest) and log P(none) of the `NAMES` completion (NaN without one)."""
    call = _log_p(reply, _starts_call)
    text = math.log1p(-math.exp(call)) if call < 0 else -math.inf
    if names is None:
        return text - call, math.nan
    return text - call, _log_p(names, lambda token: _word(token) in ("none", "no", "n"))


def _starts_call(token: object) -> bool:
    return isinstance(token, str) and token.lstrip().startswith(("{", "`"))


def _log_p(data: dict[str, Any], chosen: Callable[[object], bool]) -> float:
    """log P(the first token is one `chosen` takes), from its `top_logprobs` (a token not among them counts
    as less likely than all of them); without them, 0 when the reply's text is one it takes, else -inf."""
    choices = data.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    logprobs = choice.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if isinstance(content, list) and content and isinstance(content[0], dict):
        found = [
            float(t["logprob"])
            for t in content[0].get("top_logprobs") or ()
            if isinstance(t, dict) and chosen(t.get("token")) and isinstance(t.get("logprob"), (int, float))
        ]
        return min(_log_sum_exp(found), 0.0)
    text = (choice.get("message") or {}).get("content")
    return 0.0 if chosen(text) else -math.inf


def _word(token: object) -> str:
    return token.strip().strip("\"'.").lower() if isinstance(token, str) else ""


def _log_sum_exp(values: Sequence[float]) -> float:
    if not values:
        return -math.inf
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def without_tools(
    parameters: ModelRequestParameters, settings: ModelSettings
) -> tuple[ModelRequestParameters, ModelSettings]:
    """The request's parameters and settings with tool choice `none` (the tools stay in the prompt)."""
    settings = dataclasses.replace(settings, tool_choice=None) if settings.tool_choice else settings
    return dataclasses.replace(parameters, tool_choice="none"), settings
