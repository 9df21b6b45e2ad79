"""Grounding: numbers a model writes that nothing in the conversation gives it.

Small models invent values: a salary they never looked up, an amount copied from a tool's docstring
example, `2**20` worked out in their head. With the profile's `check_grounding` on, the loop compares the
numbers in each tool call's arguments, and in a text answer, with the numbers the conversation holds:
the system prompt, the user's messages, tool results (not error messages) and answers from before this
run. Tool descriptions
do not count (their examples are what a small model copies). A number written with fewer decimals than a
known one counts as that number rounded; `15%` also gives 0.15.

A call or answer with unsupported numbers is questioned once, not refused: the model is told which values
nothing supports and asked to get them from a tool, or to repeat itself if it is sure; the repeat goes
through. So a false alarm costs one request, and a guess gets a chance to become a look-up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .messages import Message, SystemMessage, ToolMessage, UserMessage

__all__ = [
    "ANSWER_QUESTION",
    "CALL_QUESTION",
    "known_numbers",
    "question",
    "unsupported_in_arguments",
    "unsupported_in_text",
]

CALL_QUESTION = (
    "Not run: {values} appear{s} neither in the question nor in any tool result, so {it_is} made up. "
    "{get} and wait for its result. If you are sure {it_is} right, make the same call again."
)
ANSWER_QUESTION = (
    "Your answer contains {values}, which neither the question nor any tool result gives. Do not work "
    "{it} out in your head: {get} now{given}. If you are sure of your answer, give it again."
)
ALWAYS_KNOWN = frozenset({0.0, 1.0})
"""Numbers no one needs to be told."""

_NUMBER = re.compile(r"\d+(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?")
"""An unsigned number; commas between groups of three digits are thousands separators."""
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_PERCENT = re.compile(r"\s*(?:%|percent\b|per cent\b)")


def known_numbers(messages: Sequence[Message], before: int) -> frozenset[float]:
    """The numbers the conversation gives: system and user messages (not agentkit's feedback), tool
    results, and assistant text from before index `before` (earlier runs)."""
    known = set(ALWAYS_KNOWN)
    for index, message in enumerate(messages):
        text = _given_text(message, index < before)
        # both readings of `1,234`: a thousands separator, or a list (JSON results write `[1,234]`)
        for pattern in (_NUMBER, _PLAIN_NUMBER):
            for match in pattern.finditer(text):
                value = float(match.group().replace(",", ""))
                known.add(value)
                if _PERCENT.match(text, match.end()):
                    known.add(value / 100)
    return frozenset(known)


def _given_text(message: Message, earlier_run: bool) -> str:
    if isinstance(message, UserMessage):
        return "" if message.feedback else message.text
    if isinstance(message, ToolMessage):
        return "" if message.is_error else message.content
    if isinstance(message, SystemMessage) or earlier_run:
        return message.content
    return ""


def unsupported_in_text(text: str, known: frozenset[float]) -> list[str]:
    """The numbers in `text` (as written) that `known` does not support, each once."""
    return _unsupported(_written(text), known)


def unsupported_in_arguments(arguments: str, known: frozenset[float]) -> list[str]:
    """The numbers in a call's JSON arguments (number values, and numbers inside strings) that `known` does
    not support. Arguments that do not parse have none (validation reports them)."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return []
    return _unsupported(_in_value(value), known)


def _written(text: str) -> Iterator[tuple[float, int, str]]:
    for match in _NUMBER.finditer(text):
        digits = match.group().replace(",", "")
        yield float(digits), len(digits.partition(".")[2]), match.group()


def _in_value(value: Any) -> Iterator[tuple[float, int, str]]:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        written = json.dumps(value)
        if re.fullmatch(r"-?\d+(?:\.\d+)?", written):  # not inf/nan/exponent forms
            digits = written.lstrip("-")
            yield float(digits), len(digits.partition(".")[2]), digits
        else:
            yield abs(float(value)), 0, written
    elif isinstance(value, str):
        yield from _written(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _in_value(item)
    elif isinstance(value, list):
        for item in value:
            yield from _in_value(item)


def _unsupported(found: Iterable[tuple[float, int, str]], known: frozenset[float]) -> list[str]:
    out: list[str] = []
    for value, decimals, written in found:
        if written not in out and not _supported(value, decimals, known):
            out.append(written)
    return out


def _supported(value: float, decimals: int, known: frozenset[float]) -> bool:
    """`value` is known, or is a known number rounded to the `decimals` it is written with."""
    if value in known:
        return True
    tolerance = 0.5 * 10**-decimals + 1e-9
    return any(abs(k - value) <= tolerance for k in known)


def given_numbers(messages: Sequence[Message], start: int, limit: int = 8) -> list[str]:
    """The numbers, as written, of the run's question and its successful tool results (the run starts at
    index `start`), each once: what an answer may be computed from."""
    texts = [m.text for m in messages[start:] if isinstance(m, UserMessage) and not m.feedback]
    texts += [m.content for m in messages[start:] if isinstance(m, ToolMessage) and not m.is_error]
    out: list[str] = []
    for text in texts:
        for _, _, written in _written(text):
            if written not in out and len(out) < limit:
                out.append(written)
    return out


def question(template: str, values: Sequence[str], tools: Sequence[str], given: Sequence[str] = ()) -> str:
    """`CALL_QUESTION` or `ANSWER_QUESTION` filled in for `values`, naming the `tools` that may give them
    and the numbers `given` so far."""
    shown = _listed(values, "and")
    one = len(values) == 1
    if template is ANSWER_QUESTION:
        get = f"call {_listed([f'`{n}`' for n in tools], 'or')}" if tools else "use a tool"
    elif tools:
        get = f"Call the tool that gives {'it' if one else 'them'} first ({_listed([f'`{n}`' for n in tools], 'or')})"
    else:
        get = "Use a tool first"
    return template.format(
        values=shown,
        s="s" if one else "",
        it="it" if one else "them",
        it_is="it is" if one else "they are",
        get=get,
        given=f", with the numbers you have ({', '.join(given)})" if given else "",
    )


def _listed(items: Sequence[str], word: str) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} {items[-1]}"
