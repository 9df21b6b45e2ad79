"""Values a tool result lists together, of which an answer gives some and leaves out the others.

Asked "When is low tide at Port Selby on 2026-04-04?", a small model reads "low tide 00:48 and 13:02" and
answers "13:02": every number of the answer has a source and the result is used, so the other checks are
content, but the answer gives one of the two times the result lists. Part of `GroundingCheck` (the local
profile's): an answer that gives some values of a list a tool result writes, and not the others, gets one
question naming those it leaves out and quoting the list. A list is two or more times (`06:12`), dates
(`2026-04-03`) or numbers, joined by commas or "and", each with an optional note in parentheses
(`06:12 (4.12 m) and 18:37 (3.98 m)`); or a result of two or more lines, each a thing's name and its
attributes (`Kivi Low: boots, grey, 95.00 EUR`), whose names are the values, unless the question asks for
one thing (`Which train should I take?`). An answer that picks one on purpose (the earlier tide) is given again,
and a repeated answer goes through; a question asking for an average or a total is `picked_one`'s. The
values are in the results, so the request after the question asks for a text answer (`answer_next`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..._support.given import ALWAYS_KNOWN, NUMBER, rounds_to, written_numbers
from ...messages import Message, ToolMessage
from ._tracing import listed, question_text, shortened, word_set

__all__ = ["LEFT_OUT_QUESTION", "LeftOut", "left_out", "left_out_question"]

LEFT_OUT_QUESTION = (
    'Your answer gives {given} but leaves out {left}: `{tool}` returned "{phrase}". If the question asks '
    "for all of them, answer with each one ({every}). If your answer is complete, give it again."
)
"""The question about an answer that gives some values of a result's list and not the others."""

_TIME = r"\d{1,2}:\d{2}(?::\d{2})?"
_DATE = r"\d{4}-\d{2}-\d{2}"
_ITEM = re.compile(rf"{_TIME}|{_DATE}|{NUMBER.pattern}")
_NOTE = re.compile(r"\s*\([^()\n]{0,40}\)")
_LIST = re.compile(
    rf"(?<![\w.:,-])(?:{_ITEM.pattern})(?:{_NOTE.pattern})?"
    rf"(?:(?:\s*,\s*and\s+|\s*,\s+|\s+and\s+)(?:{_ITEM.pattern})(?:{_NOTE.pattern})?)+"
    r"(?![\w:-]|[.,]\d)"
)
"""A list in a result's text: `00:48 and 13:02`, `78, 91, 86`, `06:12 (4.12 m) and 18:37 (3.98 m)`."""
_NAMED_LINE = re.compile(r"\s*(?:[-*•]\s*)?([^:\n]{1,60}?):\s+[^\n]*?\S,\s[^\n]*")
"""A line of a result listing a thing by name and some of its attributes: `Kivi Low: boots, grey, 95.00 EUR`
(a record's field, `total: 48,250`, has one value: it is no list of things)."""
_ONE_THING = re.compile(
    r"\bwhich one\b|\bwhich\s+(?!ones\b|of\b)[^\W\d_]+(?<![sS])\b"
    r"|\b(?:next|first|earliest|soonest|cheapest|best|nearest|closest|fastest)\b"
    r"|\bwelche[rs]\b|\bnächste|\bquel(?:le)?\b|\bprochaine?\b|\bcuál\b|\bpróxim[oa]\b|\bsiguiente\b"
    r"|次の|どれ|どの",
    re.IGNORECASE,
)
"""A question asking for one thing (`Which train should I take?`, `the next train`): an answer naming one
of a result's lines is what it asks for (a list of values, `What time is high tide?`, is still read)."""
_CLAUSE_START = re.compile(r"[;\n]\s*|[.:]\s+")
_ANSWER_TIME = re.compile(r"(?<![\d:])(\d{1,2})\s?[:hH.]\s?(\d{2})(?!\d)(?:\s?([aApP])\.?\s?[mM]\b)?")


@dataclass(frozen=True)
class LeftOut:
    """What `left_out` found: the values the answer gives, those it leaves out and all of them in the
    result's order, as the result writes them; the tool, and the list as the result writes it."""

    given: tuple[str, ...]
    left: tuple[str, ...]
    every: tuple[str, ...]
    tool: str
    phrase: str


def left_out(messages: Sequence[Message], start: int) -> LeftOut | None:
    """The first list of a successful tool result of the run (from index `start`) of which the last answer
    gives at least one value and leaves out at least one, else `None`."""
    if not messages:
        return None
    answer = str(messages[-1].content)
    times = _times_in(answer)
    numbers = frozenset(value for value, _, _ in written_numbers(answer))
    answer_words = word_set(answer)
    one_thing = _ONE_THING.search(question_text(messages, start)) is not None
    for message in messages[start:-1]:
        if not isinstance(message, ToolMessage) or message.is_error:
            continue
        for phrase, found, named in _lists(message.content):
            items = list(dict.fromkeys(item for item in found if not _trivial(item)))
            if len(items) < 2 or (named and one_thing):
                continue
            given = [
                item
                for item in items
                if (word_set(item) <= answer_words if named else _gives(answer, times, numbers, item))
            ]
            left = [item for item in items if item not in given]
            if given and left:
                return LeftOut(tuple(given), tuple(left), tuple(items), message.name, phrase)
    return None


def left_out_question(found: LeftOut) -> str:
    """`LEFT_OUT_QUESTION` filled in for what `left_out` found."""
    return LEFT_OUT_QUESTION.format(
        given=listed(list(found.given), "and"),
        left=listed(list(found.left), "and"),
        every=listed(list(found.every), "and"),
        tool=found.tool,
        phrase=found.phrase,
    )


def _lists(content: str) -> Iterator[tuple[str, list[str], bool]]:
    """Each list of a result's text: as the result writes it, its values, and whether they are names. A
    list of values is written from its clause's start to its end, its values without their notes; a list
    of lines (`Kivi Low: boots, 95.00 EUR` on each) by its lines, each shortened, its values the names."""
    lines = [match for match in map(_NAMED_LINE.match, content.splitlines()) if match]
    if len(lines) >= 2 and len(lines) == len(content.strip().splitlines()):
        shown = " / ".join(shortened(match.group().strip()) for match in lines)
        yield shown, [match.group(1).strip() for match in lines], True
        return
    for match in _LIST.finditer(content):
        window = max(0, match.start() - 60)  # a clause starting before the window is cut at it
        starts = [m.end() for m in _CLAUSE_START.finditer(content, window, match.start())]
        begin = max([window, *starts])
        items = _ITEM.findall(_NOTE.sub("", match.group()))
        yield content[begin : match.end()].strip(), items, False


def _times_in(answer: str) -> frozenset[tuple[int, int]]:
    """The times of day an answer writes (`6:12`, `06:12`, `18 h 37`, `6:37 pm`), as (hour, minute)."""
    found: set[tuple[int, int]] = set()
    for match in _ANSWER_TIME.finditer(answer):
        hour, minute, half = int(match[1]), int(match[2]), (match[3] or "").lower()
        if half == "p" and hour < 12:
            hour += 12
        elif half == "a" and hour == 12:
            hour = 0
        found.add((hour, minute))
    return frozenset(found)


def _trivial(item: str) -> bool:
    """0 and 1 (`ALWAYS_KNOWN`): any answer may write them, so they tell nothing of what it picked."""
    return re.fullmatch(NUMBER, item) is not None and float(item.replace(",", "")) in ALWAYS_KNOWN


def _gives(answer: str, times: frozenset[tuple[int, int]], numbers: frozenset[float], item: str) -> bool:
    if re.fullmatch(_TIME, item):
        hour, minute = item.split(":")[:2]
        return (int(hour), int(minute)) in times
    if re.fullmatch(_DATE, item):
        return item in answer
    digits = item.replace(",", "")
    return rounds_to(float(digits), len(digits.partition(".")[2]), numbers)
