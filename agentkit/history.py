"""History processors: what a run sends the model, chosen from its transcript before each request.

A history processor is a function (sync or async) from the messages about to be sent, and optionally the
`RunContext` (a first of two parameters), to the messages to send:

```
Agent(history_processors=[KeepRecentToolResults(keep=3), my_filter])   # or run(..., history_processors=)
```
They change only what is sent: `result.messages`, sessions and durable records keep every message. After
them the run fits the request into the model's context window (`ModelProfile.context_window`), which needs
no processor (see docs/context.md).

The built-ins here keep a transcript's shape: a call is never split from its results (an assistant turn
with tool calls is kept or dropped with all its tool messages), and the instructions (system messages),
the newest user prompt and calls waiting for approval are never dropped. Token counts are estimates
(`estimate_tokens`: characters / 4, images and tool schemas counted), cheap enough for every request.
"""

from __future__ import annotations

import dataclasses
import json
import weakref
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from .messages import (
    AssistantMessage,
    AudioPart,
    DocumentPart,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolMessage,
    UserMessage,
)

if TYPE_CHECKING:
    from .context import RunContext
    from .models import Model, ResponseFormat
    from .settings import ModelSettings
    from .tool import ToolDefinition
    from .usage import Usage

__all__ = [
    "CHARS_PER_TOKEN",
    "IMAGE_TOKENS",
    "HistoryProcessor",
    "KeepRecentToolResults",
    "SummarizeOlder",
    "TokenWindow",
    "estimate_tokens",
]

HistoryProcessor = Union[
    Callable[[list[Message]], Union[list[Message], Awaitable[list[Message]]]],
    Callable[["RunContext[Any]", list[Message]], Union[list[Message], Awaitable[list[Message]]]],
]
"""`(messages) -> messages` or `(ctx, messages) -> messages`, sync or async. Return new messages
(`dataclasses.replace`) rather than changing the ones given: those are the run's transcript."""

CHARS_PER_TOKEN = 4
"""Characters of text per estimated token."""
MESSAGE_TOKENS = 4
"""Tokens each message costs beyond its text (role and separators)."""
CALL_CHARS = 40
"""Characters each tool call (and each tool result's reference to its call) costs beyond its name and
arguments: its id and the wire's wrapping."""
IMAGE_TOKENS = 1_024
"""Tokens an image is counted as, whatever its size (OpenAI bills a 1024x1024 image at high detail 765
tokens, a 2048x2048 one 1,105; Gemini 258 per image): high, so an estimate errs on the safe side."""
DOCUMENT_BYTES_PER_TOKEN = 8
"""An inline PDF counts one token per this many bytes of the file; a PDF given by URL counts
`URL_DOCUMENT_TOKENS`."""
URL_DOCUMENT_TOKENS = 2_000
AUDIO_BYTES_PER_TOKEN = 500
"""Audio counts one token per this many bytes (Gemini: 32 tokens a second; a 128 kbit/s MP3 is 16 KB a second)."""


def estimate_tokens(
    messages: Sequence[Message],
    *,
    tools: Sequence[ToolDefinition] = (),
    response_format: ResponseFormat | None = None,
) -> int:
    """The tokens a request with these messages (and tools, and response format) is estimated to take.

    Text counts `CHARS_PER_TOKEN` characters a token, each message `MESSAGE_TOKENS` more, images
    `IMAGE_TOKENS` each, PDFs and audio by their size; tools by their name, description and JSON schema.
    Cheap (no tokenizer): a few microseconds per hundred messages.
    """
    total = sum(message_tokens(m) for m in messages)
    total += sum(_definition_tokens(t) for t in tools)
    if response_format is not None:
        total += _json_tokens(response_format.schema)
    return total


def message_tokens(message: Message) -> int:
    """The estimated tokens of one message (see `estimate_tokens`)."""
    if isinstance(message, ToolMessage):
        chars = len(message.content) + len(message.name) + CALL_CHARS
        return MESSAGE_TOKENS + chars // CHARS_PER_TOKEN + IMAGE_TOKENS * len(message.images)
    if isinstance(message, AssistantMessage):
        chars = len(message.content) + sum(
            len(c.name) + len(c.arguments) + CALL_CHARS for c in message.tool_calls
        )
        return MESSAGE_TOKENS + (chars + _reasoning_chars(message)) // CHARS_PER_TOKEN
    if isinstance(message, UserMessage) and not isinstance(message.content, str):
        return MESSAGE_TOKENS + sum(_part_tokens(p) for p in message.content)
    return MESSAGE_TOKENS + len(message.content) // CHARS_PER_TOKEN


def _reasoning_chars(message: AssistantMessage) -> int:
    """The characters of the reasoning a thinking model's message sends back: its `reasoning` text and each
    `reasoning_details` entry's text, summary, signature and encrypted data (counted by their length)."""
    chars = len(message.reasoning or "")
    for detail in message.reasoning_details or ():
        chars += sum(len(value) for value in detail.values() if isinstance(value, str))
    return chars


def _part_tokens(part: TextPart | ImagePart | DocumentPart | AudioPart) -> int:
    if isinstance(part, TextPart):
        return len(part.text) // CHARS_PER_TOKEN
    if isinstance(part, ImagePart):
        return IMAGE_TOKENS
    if isinstance(part, DocumentPart):
        if part.url.startswith("data:"):
            return len(part.url) * 3 // 4 // DOCUMENT_BYTES_PER_TOKEN
        return URL_DOCUMENT_TOKENS
    return len(part.data) * 3 // 4 // AUDIO_BYTES_PER_TOKEN


_TOOL_TOKENS: dict[int, tuple[ToolDefinition, int]] = {}
"""Estimated tokens per tool definition (by identity; the definition is kept so its id stays its own)."""
_TOOL_CACHE_SIZE = 4_096


def _definition_tokens(definition: ToolDefinition) -> int:
    cached = _TOOL_TOKENS.get(id(definition))
    if cached is not None and cached[0] is definition:
        return cached[1]
    tokens = (
        MESSAGE_TOKENS
        + (len(definition.name) + len(definition.description or "")) // CHARS_PER_TOKEN
        + _json_tokens(definition.parameters)
    )
    if len(_TOOL_TOKENS) >= _TOOL_CACHE_SIZE:
        _TOOL_TOKENS.clear()
    _TOOL_TOKENS[id(definition)] = (definition, tokens)
    return tokens


def _json_tokens(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str)) // CHARS_PER_TOKEN


# --- the shape of a transcript ----------------------------------------------------------------------------


@dataclass(kw_only=True, frozen=True)
class Unit:
    """Messages kept or dropped together: a system message, a user message, or an assistant message with
    the tool messages answering its calls."""

    start: int
    end: int
    """One past the unit's last message."""
    pinned: bool
    """Never dropped: the instructions, the newest user prompt, a turn whose calls wait for approval."""
    starts_exchange: bool
    """A user's prompt (not agentkit's feedback): what a user said, and the turns answering it follow."""


def units(messages: Sequence[Message]) -> list[Unit]:
    """The transcript cut into units, in order."""
    prompt = newest_prompt(messages)
    out: list[Unit] = []
    index = 0
    while index < len(messages):
        message = messages[index]
        end = index + 1
        if isinstance(message, AssistantMessage) and message.tool_calls:
            ids = {c.id for c in message.tool_calls}
            answered: set[str] = set()
            while end < len(messages) and isinstance(result := messages[end], ToolMessage):
                answered.add(result.tool_call_id)
                end += 1
            pinned = not ids <= answered  # calls waiting (for approval) are kept
        else:
            while end < len(messages) and isinstance(messages[end], ToolMessage):
                end += 1  # results without their call (a malformed history): kept with what precedes them
            pinned = isinstance(message, SystemMessage) or index == prompt
        starts = isinstance(message, UserMessage) and not message.feedback
        out.append(Unit(start=index, end=end, pinned=pinned, starts_exchange=starts))
        index = end
    return out


def newest_prompt(messages: Sequence[Message]) -> int | None:
    """The index of the newest user prompt (a `UserMessage` not written by agentkit), or `None`."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, UserMessage) and not message.feedback:
            return index
    return None


def drop_groups(cut: list[Unit]) -> list[list[Unit]]:
    """What may be dropped, oldest first: each exchange before the newest prompt whole (so what is kept
    still starts with a user's message), then the units after it one by one; never a pinned unit, nor the
    newest (the turn the model answers now: without it, it would make the same calls again)."""
    newest = max((i for i, u in enumerate(cut) if u.starts_exchange), default=len(cut))
    groups: list[list[Unit]] = []
    for position, unit in enumerate(cut):
        if unit.pinned or position == len(cut) - 1:
            continue
        if position > newest or not groups or unit.starts_exchange:
            groups.append([unit])
        else:
            groups[-1].append(unit)
    return groups


def drop_to_budget(
    messages: list[Message], sizes: list[int], total: int, budget: int
) -> tuple[list[Message], list[int], int]:
    """Drop the oldest groups (`drop_groups`) until `total` (the tokens of the request) is within `budget`."""
    if total <= budget:
        return messages, sizes, total
    dropped: set[int] = set()
    for group in drop_groups(units(messages)):
        for unit in group:
            for index in range(unit.start, unit.end):
                dropped.add(index)
                total -= sizes[index]
        if total <= budget:
            break
    kept = [i for i in range(len(messages)) if i not in dropped]
    return [messages[i] for i in kept], [sizes[i] for i in kept], total


ELIDED = '[The {name} result was left out to save context: {size:,} characters{images}. It began: "{start}"]'
ELIDED_START_CHARS = 100


_ELIDED: dict[int, tuple[weakref.ref[ToolMessage], ToolMessage]] = {}
"""Notes made so far, by the identity of the message they replace (a run makes the same ones each request)."""
_ELIDED_CACHE_SIZE = 8_192


def elided(message: ToolMessage) -> ToolMessage:
    """`message` with its content replaced by a short note of what was there (tool, size, first words)."""
    cached = _ELIDED.get(id(message))
    if cached is not None and cached[0]() is message:
        return cached[1]
    note = _elided(message)
    if len(_ELIDED) >= _ELIDED_CACHE_SIZE:
        _ELIDED.clear()
    _ELIDED[id(message)] = (weakref.ref(message), note)
    return note


def _elided(message: ToolMessage) -> ToolMessage:
    head = message.content[: ELIDED_START_CHARS * 2]
    start = " ".join(head.split())[:ELIDED_START_CHARS]
    if len(message.content) > len(head) or len(start) < len(" ".join(head.split())):
        start += "..."
    count = len(message.images)
    images = f" and {count} image{'s' if count != 1 else ''}" if count else ""
    note = ELIDED.format(name=message.name, size=len(message.content), images=images, start=start)
    return dataclasses.replace(message, content=note, images=[])


def is_elided(message: ToolMessage) -> bool:
    return message.content.startswith("[The ") and " result was left out to save context: " in message.content


def worth_eliding(message: Message, min_chars: int) -> bool:
    return (
        isinstance(message, ToolMessage)
        and not is_elided(message)
        and (len(message.content) > min_chars or bool(message.images))
    )


# --- the built-ins -------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class KeepRecentToolResults:
    """Keep the newest `keep` tool results in full; replace older ones with a short note of what was
    there (the tool, the result's size and its first words).

    Use it for agents whose tools return large results that matter only for a turn or two (web pages,
    files, search hits, logs): the model still sees what it called and roughly what came back, and the
    request stops growing by a whole result each turn. Cheap: no model call, no token counting.
    """

    keep: int = 3
    """Tool results kept in full, newest first."""
    min_chars: int = 400
    """Results this short stay whole (a note would not be much shorter)."""

    def __post_init__(self) -> None:
        if self.keep < 0 or self.min_chars < 0:
            from .exceptions import UserError

            raise UserError("KeepRecentToolResults: keep and min_chars must be >= 0.")

    def __call__(self, messages: list[Message]) -> list[Message]:
        seen = 0
        out = list(messages)
        for index in range(len(out) - 1, -1, -1):
            message = out[index]
            if not isinstance(message, ToolMessage):
                continue
            seen += 1
            if seen > self.keep and worth_eliding(message, self.min_chars):
                out[index] = elided(message)
        return out


@dataclass(kw_only=True)
class TokenWindow:
    """Drop the oldest turns once the messages pass `max_tokens` (estimated), keeping the instructions, the
    newest prompt and the newest turns.

    Use it for long chats where old turns stop mattering, or to hold a request's size (and cost) well
    under the model's window. Earlier exchanges go whole, oldest first; within the newest exchange, its
    oldest turns go one by one (each assistant turn with all its tool results). No model call.
    """

    max_tokens: int
    """The budget for the messages (tools' schemas not included)."""

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            from .exceptions import UserError

            raise UserError("TokenWindow: max_tokens must be at least 1.")

    def __call__(self, messages: list[Message]) -> list[Message]:
        sizes = [message_tokens(m) for m in messages]
        return drop_to_budget(list(messages), sizes, sum(sizes), self.max_tokens)[0]


SUMMARY_INSTRUCTIONS = (
    "You summarise the earlier part of a conversation between a user, an AI assistant and its tools, so "
    "the assistant can carry on without it. Keep every fact, number, name, decision, open question and "
    "result the assistant may still need; drop pleasantries and repetition. Write plain prose or terse "
    "bullet points, at most {words} words. Reply with the summary only."
)
SUMMARY_PREFIX = "Summary of the earlier conversation (written by agentkit to save context):\n"
SUMMARY_MESSAGE_CHARS = 4_000
"""Of each message summarised, at most this many characters go to the summarising model."""


@dataclass(kw_only=True)
class SummarizeOlder:
    """Once the messages pass `max_tokens` (estimated), replace the older part with a summary written by a
    model (the agent's own unless `model` is given), keeping the newest `keep_turns` turns verbatim.

    Use it for long runs and chats whose early facts still matter later (a research agent's findings, a
    support chat's account details), when dropping them would lose the thread. It costs a model request
    each time the budget is passed (counted in the run's usage); in between, the same summary is reused.
    The summary goes in as a user message written by agentkit (`feedback=True`), after the newest prompt
    when that is older than the turns kept.
    """

    max_tokens: int
    """Summarise when the messages pass this many tokens."""
    keep_turns: int = 4
    """The newest turns (user messages, assistant turns with their results) kept verbatim."""
    model: Model | str | None = None
    """The model that writes the summary; `None`: the run's model."""
    summary_words: int = 300
    _cache: list[tuple[tuple[weakref.ref[Message], ...], str]] = field(
        default_factory=list, init=False, repr=False
    )
    """Recent summaries with (weak references to) the messages each covers, compared by identity."""
    _model: Model | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_tokens < 1 or self.keep_turns < 0 or self.summary_words < 1:
            from .exceptions import UserError

            raise UserError(
                "SummarizeOlder: max_tokens and summary_words must be at least 1, keep_turns >= 0."
            )

    async def __call__(self, messages: list[Message]) -> list[Message]:
        cut = units(messages)
        movable = [u for u in cut if not u.pinned]
        older = movable[: max(len(movable) - self.keep_turns, 0)]
        if not older:
            return messages
        covered = [i for u in older for i in range(u.start, u.end)]
        span = tuple(messages[i] for i in covered)
        cached = self._cached(span)
        if cached is not None:
            count, summary = cached
            candidate = _summarised(messages, covered[:count], summary)
            if count == len(span) or estimate_tokens(candidate) <= self.max_tokens:
                return candidate  # within budget, or nothing new to summarise (the newest turns are large)
        elif estimate_tokens(messages) <= self.max_tokens:
            return messages
        previous = cached[1] if cached is not None else None
        fresh = span[cached[0] :] if cached is not None else span
        summary = await self._summarise(previous, fresh)
        self._cache.insert(0, (tuple(weakref.ref(m) for m in span), summary))
        del self._cache[8:]
        return _summarised(messages, covered, summary)

    def _cached(self, span: tuple[Message, ...]) -> tuple[int, str] | None:
        """The longest cached summary whose messages start `span`: how many it covers, and the summary."""
        best: tuple[int, str] | None = None
        for refs, summary in self._cache:
            n = len(refs)
            fits = n <= len(span) and all(r() is m for r, m in zip(refs, span[:n], strict=True))
            if fits and (best is None or n > best[0]):
                best = (n, summary)
        return best

    async def _summarise(self, previous: str | None, fresh: Sequence[Message]) -> str:
        from .models import ModelRequestParameters, infer_model

        run = current_run.get()
        if self.model is not None:
            model = self._model = self._model or infer_model(self.model)
        elif run is not None:
            model = run.model
        else:
            from .exceptions import UserError

            raise UserError("SummarizeOlder outside a run needs model=...: there is no run's model to use.")
        text = "\n\n".join(_as_text(m) for m in fresh)
        if previous:
            text = f"Summary so far:\n{previous}\n\nWhat came after it:\n{text}"
        request: list[Message] = [
            SystemMessage(content=SUMMARY_INSTRUCTIONS.format(words=self.summary_words)),
            UserMessage(content=text),
        ]
        from .settings import ModelSettings

        settings = run.settings if run is not None and self.model is None else ModelSettings()
        response = await model.request(request, ModelRequestParameters(), settings)
        if run is not None and response.usage is not None:
            run.charge(response.usage)
        return response.content.strip()


def _summarised(messages: list[Message], covered: list[int], summary: str) -> list[Message]:
    """`messages` without those at `covered`, the summary in place of the last of them."""
    gone = set(covered)
    out: list[Message] = []
    last = covered[-1]
    for index, message in enumerate(messages):
        if index not in gone:
            out.append(message)
        if index == last:
            out.append(UserMessage(content=SUMMARY_PREFIX + summary, feedback=True))
    return out


def _as_text(message: Message) -> str:
    if isinstance(message, ToolMessage):
        body = f"tool {message.name} returned: {message.content}"
    elif isinstance(message, AssistantMessage):
        calls = "; ".join(f"{c.name}({c.arguments})" for c in message.tool_calls)
        body = "assistant: " + " ".join(filter(None, [message.content, f"[called {calls}]" if calls else ""]))
    else:  # a user's message (the instructions are never summarised)
        body = f"{message.role}: {message.text if isinstance(message, UserMessage) else message.content}"
    return body if len(body) <= SUMMARY_MESSAGE_CHARS else body[:SUMMARY_MESSAGE_CHARS] + " [...]"


@dataclass(kw_only=True, frozen=True)
class CurrentRun:
    """What a processor may need of the run it works for (set by the run around its processors)."""

    model: Model
    settings: ModelSettings
    charge: Callable[[Usage], None]
    """Adds a usage (a summary's request) to the run's."""


current_run: ContextVar[CurrentRun | None] = ContextVar("agentkit_history_run", default=None)
