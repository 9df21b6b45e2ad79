"""A value a tool gives per unit, answered as it is where the question asks about another quantity of it.

Asked "How many calories are in a 250 g portion of lentil stew?", a small model reads "lentil stew, per
100 g: 112 kcal" and answers "112 kcal"; asked the cost of three nights, it reads "Rate: 96.00 EUR per room
per night" and answers 96. Every number of those answers has a source, so tracing is content, but the
source is a rate and the question's quantity is not the rate's.

Part of `GroundingCheck` (the local profile's): a rate is a number in the same clause of a tool result as
`per <unit>` or `per <n> <unit>` (`per night`, `per 100 g`), or the value of a JSON key `..._per_<unit>`.
When the question gives a quantity of that unit (`250 g`, `three nights`, `6 people`) other than the rate's
(100 g, one night), an answer that writes the rate's number (and not as a number the question gives) gets
one question naming the rate, its unit and the question's quantity, and the tools that compute.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..._support.given import NUMBER, number_words, rounds_to, written_numbers
from ...messages import Message, ToolMessage
from ._tracing import listed, question_text, words
from ._units import json_result

__all__ = ["RATE_QUESTION", "Rate", "rate_answered", "rate_question"]

RATE_QUESTION = (
    "Your answer gives {written}, which is what `{tool}` gives per {per}; the question asks about {asked}. "
    "{how} and answer with the result. If your answer is right, give it again."
)
"""The question about an answer that writes a per-unit value where the question asks about another
quantity."""

_PER = re.compile(rf"\bper\s+(?:({NUMBER.pattern})\s*)?([^\W\d_]+)", re.IGNORECASE)
_KEY_PER = re.compile(r"_per_(?:(\d+)_?)?([a-z]+)$", re.IGNORECASE)
_CLAUSE = re.compile(r"[;\n]|\.(?:\s|$)")
_TOKEN = re.compile(rf"{NUMBER.pattern}|[^\W\d_]+")
_SAME_UNIT = {
    "people": "person", "persons": "person", "kilo": "kg", "kilos": "kg", "kilogram": "kg", "kilograms": "kg",
    "gram": "g", "grams": "g", "gr": "g", "litre": "l", "liter": "l", "litres": "l", "liters": "l",
    "hours": "hour", "hr": "hour", "hrs": "hour", "guests": "person", "guest": "person",
}  # fmt: skip
"""Unit words that name the same unit (`6 people` and `per person`)."""


@dataclass(frozen=True)
class Rate:
    """What `rate_answered` found: the answer's number as written, the tool, the rate's unit as the result
    writes it (`100 g`), and the question's quantity as the question writes it (`250 g`)."""

    written: str
    tool: str
    per: str
    asked: str


def rate_answered(messages: Sequence[Message], start: int) -> Rate | None:
    """The first number of the last answer that is a rate a tool result of the run gives (from index
    `start`), per a unit of which the question asks about another quantity; else `None`."""
    if not messages:
        return None
    question = question_text(messages, start)
    quantities = dict(_quantities(question))
    if not quantities:
        return None
    asked_numbers = frozenset(value for value, _, _ in written_numbers(question)) | frozenset(
        value for _, values in number_words(question) for value in values
    )
    answer = [(v, d, w) for v, d, w in written_numbers(str(messages[-1].content)) if v not in asked_numbers]
    for message in messages[start:-1]:
        if not isinstance(message, ToolMessage) or message.is_error:
            continue
        for values, per_amount, unit, per in _rates(message.content):
            quantity = quantities.get(unit)
            if quantity is None or quantity[0] == per_amount:
                continue
            for value, decimals, written in answer:
                if rounds_to(value, decimals, values):
                    return Rate(written=written, tool=message.name, per=per, asked=quantity[1])
    return None


def rate_question(found: Rate, computes: Sequence[str]) -> str:
    """`RATE_QUESTION` for what `rate_answered` found, asking for the tools that compute."""
    how = (
        f"Call {listed([f'`{n}`' for n in computes], 'or')} to work it out for {found.asked}"
        if computes
        else f"Work it out for {found.asked}"
    )
    return RATE_QUESTION.format(
        written=found.written, tool=found.tool, per=found.per, asked=found.asked, how=how
    )


def _unit(word: str) -> str:
    """A unit word as compared: singular, lowercase, one name per unit (`people` is `person`)."""
    lowered = word.lower()
    if lowered in _SAME_UNIT:
        return _SAME_UNIT[lowered]
    singular = words(lowered)
    return singular[0] if singular else lowered


def _rates(content: str) -> Iterator[tuple[frozenset[float], float, str, str]]:
    """Each rate of a result: the numbers it applies to, its amount and unit (100 and `g` for `per 100 g`),
    and the unit as written."""
    data = json_result(content)
    if isinstance(data, dict):
        for key, value in data.items():
            match = _KEY_PER.search(str(key))
            if match and isinstance(value, (int, float)) and not isinstance(value, bool):
                amount = float(match[1]) if match[1] else 1.0
                per = f"{match[1]} {match[2]}" if match[1] else match[2]
                yield frozenset({float(value)}), amount, _unit(match[2]), per
        return
    begin = 0
    for end in [*(m.start() for m in _CLAUSE.finditer(content)), len(content)]:
        clause = content[begin:end]
        begin = end + 1
        pers = list(_PER.finditer(clause))
        if not pers:
            continue
        numbers = {float(m.group().replace(",", "")) for m in NUMBER.finditer(_PER.sub(" ", clause))}
        for per in pers:
            amount = float(per[1].replace(",", "")) if per[1] else 1.0
            yield frozenset(numbers), amount, _unit(per[2]), per.group().split(None, 1)[1]


def _quantities(question: str) -> Iterator[tuple[str, tuple[float, str]]]:
    """Each quantity the question gives as a number (or number word) before a unit word: the unit, and the
    number with the quantity as written (`250 g`, `three nights`)."""
    tokens = list(_TOKEN.finditer(question))
    for before, token in itertools.pairwise(tokens):
        amount = _amount(before.group())
        if amount is not None:
            yield _unit(token.group()), (amount, question[before.start() : token.end()])


def _amount(token: str) -> float | None:
    if re.fullmatch(NUMBER, token):
        return float(token.replace(",", ""))
    values = [values for _, values in number_words(token)]
    return float(values[0][0]) if len(values) == 1 and token.lower() not in ("a", "an") else None
