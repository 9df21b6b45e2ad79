"""The quantities a question asks for and gives: an answer with no number to a question asking how many, or
with one value of a list where an average or a total is asked; a call that drops the scale word the question
writes a number with, or that regroups its arithmetic.

A small model asked "How many GB are free on it?" reads `disk_free_gb: 612` and answers "No disk space is
available": every word of the answer may be in the result, so the ignored-result check (`_grounding`) is
content; but the question asks for a number and the answer gives none. And asked "What's 1.5 million
divided by 3,200?", it calls the calculator with `1.5 / 3200`: 1.5 is a number the question gives, so the
call is supported, but the question's number is 1,500,000.

Part of `GroundingCheck` (the local profile's):
- `numberless` reads the question for a quantity asked for (how many, how much, how far..., in the
  languages the suites use), and the answer for any number; with none, and numbers in the run's tool
  results that the question does not give, the answer gets one question naming those numbers;
- `dropped_scales` reads a call's numbers against the question's numbers written with a scale word
  (`1.5 million`, `2 thousand`, `3 billion`): a call that uses the bare number, and neither the scaled one
  nor the scale word anywhere, is not run and asked about once (made again, it runs);
- `picked_one` reads the question for an average or a total asked for (in those languages too), and the
  answer for one number that is one of a list a tool result gives (`88, 93, 95`): it gets one question
  naming the list and the tools that compute;
- `regrouped` reads a call's strings against the question's arithmetic with parentheses: the same numbers
  and operators in the same order, grouped to another value (`845 - 278 * 19` for `(845 - 278) * 19`), is
  not run; made again, it is asked about once more, quoting the question's expression (the question's own
  parentheses are no false alarm to confirm), within the run's call questions;
- `list_lengths`: how many numbers a tool result lists counts as a given number for calls (an average of
  `88, 93, 95` divides by 3).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from ..._support.given import NUMBER, leaves, numbers_in_value, written_numbers
from ...messages import Message, ToolMessage
from ._tracing import arithmetic_value, listed, question_text, written_value
from ._units import json_result

__all__ = [
    "NUMBERLESS_QUESTION",
    "PICKED_QUESTION",
    "REGROUPED_AGAIN",
    "REGROUPED_QUESTION",
    "SCALE_QUESTION",
    "dropped_scales",
    "list_lengths",
    "numberless",
    "numberless_question",
    "picked_one",
    "picked_question",
    "regrouped",
    "regrouped_question",
    "scale_question",
]

NUMBERLESS_QUESTION = (
    "The question asks for a number, but your answer gives none; {tools} returned {numbers}. If {one} "
    "answers the question, answer with it. If your answer is complete, give it again."
)
"""The question about an answer with no number to a question asking how many or how much."""
PICKED_QUESTION = (
    "The question asks for {asked}, but your {written} is one of the values `{tool}` returned ({listed}). "
    "{how} and answer with the result. If your answer is right, give it again."
)
"""The question about an answer that picks one value of a list where an average or a total is asked."""
REGROUPED_QUESTION = (
    "Not run: the question writes `{asked}`, but your call computes `{sent}`, which groups it differently. "
    "Make the call with the question's grouping. If yours is right, make the same call again."
)
"""The question about a call whose arithmetic drops or moves the question's parentheses."""
REGROUPED_AGAIN = (
    "Not run again: `{sent}` is not `{asked}`: without the question's parentheses it computes another "
    "value. Send the expression as the question writes it: `{asked}`."
)
"""The question about the same regrouped call made once more (a repeat does not confirm it)."""
SCALE_QUESTION = (
    "Not run: the question says {written}, which is {value}, but your call uses {bare}. Make the call with "
    "{value}. If {bare} is right, make the same call again."
)
"""The question about a call that drops a scale word of the question (`1.5 million` sent as 1.5)."""

_ASKS_QUANTITY = re.compile(
    r"\bhow (?:many|much|long|far|old|big|large|high|tall|heavy|often|fast)\b"
    r"|\bcu[aá]nt[oa]s?\b|\bcombien\b|\bwie (?:viele?|lange|weit|hoch|alt|schwer|oft)\b"
    r"|\bquant[oaie]s?\b|\bhoeveel\b|\bile\b|いくつ|いくら"
    r"|何(?:[個人回件本枚台時日年円分秒度%]|[A-Za-z]+|キロ|メートル|グラム|リットル|ドル|ユーロ|パーセント)"
    r"|多少|几|कितन",
    re.IGNORECASE,
)
_SCALED = re.compile(rf"({NUMBER.pattern})\s?(thousand|million|billion|trillion)\b", re.IGNORECASE)
_GROUPED = re.compile(r"[\d(][\d\s.,()+*/×÷-]*[\d)]")
"""Arithmetic as a question writes it (`(845 - 278) * 19`); `regrouped` keeps those with parentheses."""
_AGGREGATE = re.compile(
    r"(?P<average>\baverage|\bmean\b|\bmedia\b|\bpromedio|\bmoyenne|\bdurchschnitt|\bmittelwert|平均|औसत)"
    r"|(?P<total>\btotal\b|\bsum\b|\bsuma\b|\bsomme\b|\bsumme\b|\binsgesamt|\bgesamt|合計|कुल)",
    re.IGNORECASE,
)
_LISTED = re.compile(rf"(?<!\d)(?:{NUMBER.pattern})(?:(?:\s*,\s+|\s+and\s+)(?:{NUMBER.pattern}))+")
"""Numbers listed in a result's text: `88, 93, 95`, `88, 93 and 95` (a comma with a space after it). A list
starts where a number starts: tried inside a long run of digits too, it took seconds on a long result."""
_FACTORS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}


def numberless(messages: Sequence[Message], start: int) -> list[tuple[str, list[str]]]:
    """When the run's question (from index `start`) asks for a quantity and the last answer writes no
    number: each tool that returned numbers the question does not give, with those numbers (as written,
    at most four a tool); else nothing."""
    question = question_text(messages, start)
    answer = str(messages[-1].content) if messages else ""
    if not _ASKS_QUANTITY.search(question) or any(True for _ in written_numbers(answer)):
        return []
    asked = {value for value, _, _ in written_numbers(question)}
    found: dict[str, list[str]] = {}
    for message in messages[start:]:
        if not isinstance(message, ToolMessage) or message.is_error:
            continue
        for match in NUMBER.finditer(message.content):
            written = match.group()
            if written_value(written) in asked or _in_word(message.content, match.start(), match.end()):
                continue
            numbers = found.setdefault(message.name, [])
            if written not in numbers and len(numbers) < 4:
                numbers.append(written)
    return [(name, numbers) for name, numbers in found.items() if numbers]


def numberless_question(found: Sequence[tuple[str, Sequence[str]]]) -> str:
    """`NUMBERLESS_QUESTION` for what `numberless` found."""
    tools = listed([f"`{name}`" for name, _ in found])
    numbers = listed([n for _, numbers in found for n in numbers], "or")
    count = sum(len(numbers) for _, numbers in found)
    return NUMBERLESS_QUESTION.format(tools=tools, numbers=numbers, one="it" if count == 1 else "one of them")


def dropped_scales(arguments: Any, question: str) -> list[tuple[str, str, str]]:
    """The numbers of a call's decoded `arguments` that are a number of the `question` written with a scale
    word, where the arguments do not hold the scaled value too: each as (the question's words, the scaled
    value, the call's number)."""
    values = [(value, written) for value, _, written in numbers_in_value(arguments)]
    out: list[tuple[str, str, str]] = []
    for match in _SCALED.finditer(question):
        bare = written_value(match.group(1))
        scaled = bare * _FACTORS[match.group(2).lower()]
        if any(abs(v - scaled) <= 1e-9 * scaled for v, _ in values) or any(
            isinstance(leaf, str) and match.group(2).lower() in leaf.lower() for leaf in leaves(arguments)
        ):  # the scaled value, or the scale word itself (a tool that takes the unit apart)
            continue
        for value, written in values:
            if abs(value - bare) <= 1e-9 * max(1.0, bare) and all(o[2] != written for o in out):
                out.append(
                    (match.group(), f"{scaled:,.0f}" if scaled.is_integer() else f"{scaled:,}", written)
                )
    return out


def picked_one(messages: Sequence[Message], start: int) -> tuple[str, str, str, list[str]] | None:
    """When the run's question asks for an average or a total and the last answer's one number is one of a
    list of two or more numbers a tool result gives (`88, 93, 95`, `[88, 93, 95]`): (what is asked for, the
    answer's number as written, the tool, the list as written); else `None`."""
    question = question_text(messages, start)
    aggregate = _AGGREGATE.search(question)
    if aggregate is None or not messages:
        return None
    asked = "an average" if aggregate.lastgroup == "average" else "a total"
    answer = [(value, written) for value, _, written in written_numbers(str(messages[-1].content))]
    for message in messages[start:]:
        if not isinstance(message, ToolMessage) or message.is_error:
            continue
        for series in _lists(message.content):
            values = [written_value(n) for n in series]
            if len(set(values)) < 2:
                continue
            if len(answer) == 1 and answer[0][0] in values:
                return asked, answer[0][1], message.name, series
    return None


def _lists(content: str) -> Iterator[list[str]]:
    """The lists of numbers a result gives, each number as written: JSON arrays of numbers, or numbers
    listed in its text."""
    data = json_result(content)
    if data is not None:
        yield from _arrays(data)
        return
    for match in _LISTED.finditer(content):
        yield NUMBER.findall(match.group())


def _arrays(data: object) -> Iterator[list[str]]:
    if isinstance(data, dict):
        for value in data.values():
            yield from _arrays(value)
    elif isinstance(data, list):
        numbers = [v for v in data if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numbers) == len(data) and numbers:
            yield [f"{v:g}" if isinstance(v, float) else str(v) for v in numbers]
        for value in data:
            yield from _arrays(value)


def picked_question(found: tuple[str, str, str, Sequence[str]], computes: Sequence[str]) -> str:
    """`PICKED_QUESTION` for what `picked_one` found, asking for a tool that computes with the expression
    (`(88 + 93 + 95) / 3`: a small model sends `88 + 93 + 95 / 3` when left to write it)."""
    asked, written, tool, series = found
    terms = " + ".join(value.replace(",", "") for value in series)
    expression = f"({terms}) / {len(series)}" if asked == "an average" else terms
    how = (
        f"Call {listed([f'`{n}`' for n in computes], 'or')} with all of them, `{expression}`,"
        if computes
        else "Use all of them"
    )
    return PICKED_QUESTION.format(asked=asked, written=written, tool=tool, listed=", ".join(series), how=how)


def regrouped(arguments: Any, question: str) -> tuple[str, str] | None:
    """The first arithmetic of the `question` with parentheses (`(845 - 278) * 19`) that a string of the
    call's decoded `arguments` writes with the same numbers and operators in the same order but grouped to
    another value (`845 - 278 * 19`): (the question's, the call's); else `None`."""
    for match in _GROUPED.finditer(question):
        asked = match.group().strip()
        value = arithmetic_value(asked) if "(" in asked else None
        if value is None:
            continue
        for leaf in leaves(arguments):
            if not isinstance(leaf, str) or _ungrouped(leaf) != _ungrouped(asked):
                continue
            sent = arithmetic_value(leaf)
            if sent is not None and abs(sent - value) > 1e-9 * max(1.0, abs(value)):
                return asked, leaf.strip()
    return None


def regrouped_question(found: tuple[str, str], *, again: bool = False) -> str:
    """`REGROUPED_QUESTION` for what `regrouped` found; `again`: `REGROUPED_AGAIN`, for the same call made
    once more."""
    return (REGROUPED_AGAIN if again else REGROUPED_QUESTION).format(asked=found[0], sent=found[1])


def list_lengths(messages: Sequence[Message], start: int) -> frozenset[float]:
    """How many numbers each list of two or more in the run's tool results holds (`88, 93, 95`: 3): an
    average divides by it, so a call may use it as a given number."""
    return frozenset(
        float(len(series))
        for message in messages[start:]
        if isinstance(message, ToolMessage) and not message.is_error
        for series in _lists(message.content)
        if len(series) >= 2
    )


def _ungrouped(expression: str) -> str:
    """An expression without its spaces and parentheses, `×` and `÷` read as `*` and `/`."""
    return re.sub(r"[\s()]", "", expression.replace("×", "*").replace("÷", "/"))


def scale_question(dropped: Sequence[tuple[str, str, str]]) -> str:
    """`SCALE_QUESTION` for the first of what `dropped_scales` found."""
    written, value, bare = dropped[0]
    return SCALE_QUESTION.format(written=written, value=value.replace(",", ""), bare=bare)


def _in_word(text: str, start: int, end: int) -> bool:
    """A number that is part of a name or a date (`db-tern-02`, `A9`, `2026-04-04`): a letter or a hyphen
    right before it, or a hyphen right after (`612GB` is a quantity)."""
    before, after = text[start - 1 : start], text[end : end + 1]
    return before.isalpha() or before == "-" or after == "-"
