"""A value a tool result labels one thing, used where the question names another thing the result labels.

Asked "How much did Dunmere budget for roads in 2025 per inhabitant?", a small model reads "total 48,250;
roads 5,250; ... Population: 12,500" and computes `48250 / 12500`: both numbers have a source, so the other
checks are content, but 48,250 is the total and the question asks about roads.

Part of `GroundingCheck` (the local profile's): a tool result labels its numbers by the word or two before
them (`roads 5,250`, `Population: 12,500`) or by their JSON key (`"on_hand_units": 96`). A call (or an
answer) that uses the value of a label the question does not name, while the question names another label
of the same result whose value it does not use, is asked about once, naming both; a call made again in the
next turn runs, an answer given again goes through. A value two labels share tells nothing and is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..._support.given import NUMBER, leaves, numbers_in_value, written_numbers
from ...messages import Message, ToolMessage
from ._tracing import question_text, word_set
from ._units import json_result

__all__ = [
    "LABEL_ANSWER_QUESTION",
    "LABEL_CALL_QUESTION",
    "Mislabelled",
    "label_question",
    "mislabelled_in_answer",
    "mislabelled_in_call",
]

LABEL_CALL_QUESTION = (
    "Not run: your call uses {used}, which `{tool}` gives as {label}; the question asks about {named}: "
    "use {value} for {named}. If yours is right, make the same call again."
)
"""The question about a call using the value of another label than the question names."""
LABEL_ANSWER_QUESTION = (
    "Your answer gives {used}, which `{tool}` gives as {label}; the question asks about {named}: use "
    "{value} for {named}. If your answer is right, give it again."
)
"""The question about an answer giving the value of another label than the question names."""

_LABEL_BEFORE = re.compile(r"([^\W\d_]+(?:[ _-][^\W\d_]+)?)\s*[:=]?\s+$")
"""The word or two right before a number in a result's text (`roads 5,250`, `Population: 12,500`), read
from the last 40 characters before it only (a result may be long)."""
_NUMBER_ALONE = re.compile(rf"(?<![\w.,:-])({NUMBER.pattern})(?![\w:-]|[.,]\d)")
_SENTENCE = re.compile(r"\.\s+|\n")
_NOT_A_LABEL = frozenset({"and", "or", "of", "in", "at", "on", "for", "to", "is", "are", "was", "by", "from"})


@dataclass(frozen=True)
class Mislabelled:
    """What was found: the number used as written, the tool, its label there, and the label the question
    names with that label's value as the result writes it."""

    used: str
    tool: str
    label: str
    named: str
    value: str


def mislabelled_in_call(value: Any, messages: Sequence[Message], start: int) -> Mislabelled | None:
    """For a call's decoded arguments: the first number that is the value of a label the run's question
    does not name, while it names another label of the same result whose value the call does not use."""
    strings = [leaf for leaf in leaves(value) if isinstance(leaf, str)]
    numbers = [(v, w) for v, _, w in numbers_in_value(value)]
    return _mislabelled(numbers, " ".join(strings), messages, start)


def mislabelled_in_answer(messages: Sequence[Message], start: int) -> Mislabelled | None:
    """For the last answer: the same, for the numbers it writes."""
    if not messages:
        return None
    answer = str(messages[-1].content)
    return _mislabelled([(v, w) for v, _, w in written_numbers(answer)], answer, messages[:-1], start)


def label_question(found: Mislabelled, *, call: bool) -> str:
    """`LABEL_CALL_QUESTION` (or `LABEL_ANSWER_QUESTION`) filled in for what was found."""
    template = LABEL_CALL_QUESTION if call else LABEL_ANSWER_QUESTION
    return template.format(
        used=found.used, tool=found.tool, label=found.label, named=found.named, value=found.value
    )


def _mislabelled(
    numbers: list[tuple[float, str]], text: str, messages: Sequence[Message], start: int
) -> Mislabelled | None:
    if not numbers:
        return None
    asked = word_set(question_text(messages, start))
    used = {value for value, _ in numbers}
    mentioned = word_set(text)
    for message in messages[start:]:
        if not isinstance(message, ToolMessage) or message.is_error:
            continue
        for group in _groups(message.content):
            labelled = _unique(group)
            common = (
                frozenset.intersection(*(word_set(label) for label in labelled)) if labelled else frozenset()
            )
            own = {label: word_set(label) - common for label in labelled}
            named = [
                (label, written)
                for label, (value, written) in labelled.items()
                if own[label] and own[label] <= asked and value not in used
            ]
            if not named:
                continue
            for value, written in numbers:
                label = next((k for k, (v, _) in labelled.items() if v == value), None)
                if label is None or own[label] & (asked | mentioned):
                    continue
                other, other_written = named[0]
                return Mislabelled(written, message.name, label, other, other_written)
    return None


def _unique(pairs: list[tuple[str, float, str]]) -> dict[str, tuple[float, str]]:
    """Labels with their values, leaving out values two labels share and labels given twice."""
    values = [value for _, value, _ in pairs]
    labels = [label for label, _, _ in pairs]
    return {
        label: (value, written)
        for label, value, written in pairs
        if values.count(value) == 1 and labels.count(label) == 1
    }


def _groups(content: str) -> Iterator[list[tuple[str, float, str]]]:
    """The labelled numbers of a result, (label, value, as written), in groups of one kind: a sentence of
    its text (`total 48,250; roads 5,250`, not the population after them), the keys of one JSON object."""
    data = json_result(content)
    if data is not None:
        yield from _objects(data)
        return
    for sentence in _SENTENCE.split(content):
        group = []
        for number in _NUMBER_ALONE.finditer(sentence):
            before = _LABEL_BEFORE.search(sentence, max(0, number.start() - 40), number.start())
            if before is None:
                continue
            label = before.group(1).strip().replace("_", " ")
            if label.lower().split()[-1] not in _NOT_A_LABEL:
                group.append((label, float(number.group(1).replace(",", "")), number.group(1)))
        if len(group) >= 2:
            yield group


def _objects(data: object) -> Iterator[list[tuple[str, float, str]]]:
    if isinstance(data, dict):
        group = [
            (
                str(key).replace("_", " "),
                float(value),
                f"{value:g}" if isinstance(value, float) else str(value),
            )
            for key, value in data.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        ]
        if len(group) >= 2:
            yield group
        for value in data.values():
            yield from _objects(value)
    elif isinstance(data, list):
        for value in data:
            yield from _objects(value)
