"""Several calls where a small model stops after one: a first reply of one call, continued when the model
itself leans to another call line.

Asked "the hypotenuse of triangles (3, 4) and (5, 12)", a 1.5B model writes the first call and ends its reply,
although the prompt shows several calls one per line. Its own reading says more: at the end of that line,
the end of the reply is likely, but a new line or another call is often likelier than after a call that
answers a one-call question (on BFCL items outside any evaluation, mostly under 1 in 1,000 after a
one-call question's call, and up to 1 in 5 after one that needed more, with overlap: docs/local-model.md).

With a profile's `more_calls_threshold`, a first reply to a new question (tool choice `auto`, the transcript
ending with the user's question, no final-result tool) that is exactly one call line is followed by a
one-token request of its own: the reply's prompt with the reply as the start of the assistant's message
(llama.cpp continues a final assistant message), no grammar, the first token's log-probabilities asked for.
When P(a token holding a line break or `{`) is above the threshold, the reply is continued: the same
request (its grammar too) with the reply and a line break as the assistant's message, streamed into the same
reply, so its calls are the first call and those the continuation writes (a repeat of a call is cut, as
any, by `cut_repeated_calls`). The one-token request counts in `usage.decisions`; the continuation's tokens
count with the reply's. Only on the streamed path, which a profile with `cut_repeated_calls` takes for every
request (the local profile's).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..exceptions import ModelAPIError
from ..messages import Message
from ..settings import ModelSettings
from ..usage import Usage
from . import ModelRequestParameters
from ._chat_format import is_prompted, parse_usage
from ._tool_decision import as_decisions, first_reply_to_question, one_token
from .profiles import ModelProfile

if TYPE_CHECKING:
    from ._stream import StreamAssembler

logger = logging.getLogger("agentkit")

__all__ = ["asks_more", "continuation_body", "more_calls_after", "more_likely", "one_call_line", "probe_body"]


def asks_more(
    profile: ModelProfile,
    messages: Sequence[Message],
    parameters: ModelRequestParameters,
    settings: ModelSettings,
) -> bool:
    """Whether a one-call reply to this request is probed for more calls (see the module's docstring)."""
    if profile.more_calls_threshold is None or not profile.cut_repeated_calls:
        return False
    return is_prompted(profile, parameters) and first_reply_to_question(messages, parameters, settings)


async def more_calls_after(
    profile: ModelProfile,
    body: dict[str, Any],
    assembler: StreamAssembler,
    post: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
) -> tuple[Usage, str] | None:
    """After the reply `assembler` holds, sent as `body`: the one-token probe's usage (a decision) and the
    reply's text to continue, or "" when the model does not lean to another call; `None` when the reply is
    not one call line (nothing is asked)."""
    text = assembler.text
    if assembler.cut or not one_call_line(text):
        return None
    try:
        data = await post(probe_body(body, text))
    except ModelAPIError as exc:  # the reply is whole without it: keep it as it is
        logger.debug("the probe for more calls failed (%s); the reply keeps its one call", exc)
        return Usage(), ""
    usage = as_decisions(parse_usage(data.get("usage"), profile))
    threshold = profile.more_calls_threshold
    more = not data.get("error") and threshold is not None and more_likely(data) > threshold
    return usage, text if more else ""


def one_call_line(text: str) -> bool:
    """Whether a prompted reply's text is one call line and nothing else (`{"name": ..., ...}`)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith("{") and lines[0].endswith("}")


def probe_body(body: dict[str, Any], text: str) -> dict[str, Any]:
    """The one-token request after the reply `text`: `body`'s prompt with `text` as the assistant's message,
    not streamed, no grammar, the first token's log-probabilities asked for."""
    return {
        **one_token(body),
        "messages": [*body["messages"], {"role": "assistant", "content": text.rstrip()}],
    }


def continuation_body(body: dict[str, Any], text: str) -> dict[str, Any]:
    """`body` (streamed, with its grammar) continuing the reply `text` on a new line."""
    return {**body, "messages": [*body["messages"], {"role": "assistant", "content": text.rstrip() + "\n"}]}


def more_likely(data: dict[str, Any]) -> float:
    """P(the next token holds a line break or `{`) from the probe's `top_logprobs` (those not among them
    count as nothing); without them, 1 when the probe's text is one such token, else 0."""
    choices = data.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    logprobs = choice.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return min(
            1.0,
            sum(
                math.exp(float(t["logprob"]))
                for t in content[0].get("top_logprobs") or ()
                if isinstance(t, dict)
                and _more(t.get("token"))
                and isinstance(t.get("logprob"), (int, float))
            ),
        )
    text = (choice.get("message") or {}).get("content")
    return 1.0 if _more(text) else 0.0


def _more(token: object) -> bool:
    return isinstance(token, str) and ("\n" in token or "{" in token)
