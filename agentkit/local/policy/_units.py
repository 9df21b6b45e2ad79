"""Numbers a tool gives in a scaled unit (cents, thousands, millions) and answers that drop the scale.

Number tracing (`_tracing`) finds a source for each number of an answer; a number can have one and still be
wrong. A warehouse gives a unit cost as `"unit_cost_euro_cents": 385`, a budget "(all amounts in thousands of
euros): total 48,250"; a small model multiplies 1240 by 385 with the calculator and answers "477400 euros",
or subtracts two totals and answers "13,650" to a question asking for euros. Each number is traced, so
nothing is asked.

With `RunPolicy(trace_numbers=True)`, a tool result's numbers carry the scale their result states:
- a JSON key naming it (`unit_cost_euro_cents`, `revenue_thousands`);
- a scale word written after the number (`27.5 euro cents per kWh`, `5,250 thousand`);
- a statement `in cents` / `in thousands of euros` / `in millions`, for the numbers after it up to the end
  of its sentence (or, with none after it, those before it in that sentence).
A computing tool's result (`computing_tools`: a calculator) carries the scale of a scaled number in its
arguments, unless the arguments hold the factor that converts it (`/ 100`, `* 1000`).

An answer number whose value is such a scaled number, not written with its scale (as `477400 cents` or
`13,650 thousand` would be) and not a number of the question, gets one question: the number, where its
scale comes from, and what it is in whole units (`477400 euro cents are 4,774 euros`). The converted values
count as sources (`converted_sources`), so the corrected answer traces. Each number is asked about once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..._support.given import NUMBER
from ...messages import AssistantMessage, Message, ToolMessage, UserMessage
from ._tracing import Source, number_readings, words, written_value

__all__ = [
    "UNIT_QUESTION",
    "Scale",
    "Scaled",
    "converted_sources",
    "json_result",
    "keyed_numbers",
    "scaled_numbers",
    "unit_question",
    "unit_slips",
    "unscaled_numbers",
]

T = TypeVar("T")

UNIT_QUESTION = (
    "Your answer has {numbers} without the unit of {its} source:\n{reasons}\n"
    "Answer in the unit the question asks for (or write the unit next to the number). If the number is "
    "right as written, give the same answer again."
)
"""The question about answer numbers that dropped their source's scale; each reason names the number, where
its scale comes from, and its value in whole units."""
REASON = "- {written}: {origin}; {written} {unit} {is_are} {converted}."


@dataclass(frozen=True)
class Scale:
    """A scaled unit: its name as a result writes it, the factor to whole units, and the whole unit."""

    unit: str
    """As written: `euro cents`, `thousands of euros`."""
    factor: float
    whole: str
    """What the converted value is given in: `euros`, or `in whole units` when no currency is named."""


@dataclass(frozen=True)
class Scaled:
    """A number a tool result gives in a scaled unit (or a computing tool's result over one)."""

    value: float
    written: str
    scale: Scale
    origin: str
    """Where its scale comes from: "`warehouse_stock` gives unit_cost_euro_cents 385 in euro cents"."""


_FACTORS = {"cent": 0.01, "centime": 0.01, "penny": 0.01, "pence": 0.01}
_FACTORS |= {"thousand": 1e3, "million": 1e6, "billion": 1e9}
_CURRENCIES = {"euro": "euros", "eur": "euros", "dollar": "dollars", "usd": "dollars"}
_CURRENCIES |= {"pound": "pounds", "gbp": "pounds", "franc": "francs", "chf": "francs"}
_SCALE_WORD = r"(?:(?:euro|dollar|us) )?(?:cents?|centimes?|pence|penny|thousands?|millions?|billions?)"
_AFTER = re.compile(rf"\s?\(?({_SCALE_WORD})(?: of (\w+))?\b", re.IGNORECASE)
"""A scale word right after a number (`27.5 euro cents`, `5,250 thousand`)."""
_STATED = re.compile(rf"\bin ({_SCALE_WORD})(?: of (\w+))?\b", re.IGNORECASE)
"""A statement of the scale of what follows (`all amounts in thousands of euros`)."""
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n")
_MARKS = {
    0.01: re.compile(r"\s?(?:(?:euro|dollar|us)\s)?(?:cents?\b|ct\b|¢|centimes?\b|pence\b|penny\b)", re.I),
    1e3: re.compile(r"\s?(?:thousands?\b|k\b|k€|tsd\b|mil\b)", re.IGNORECASE),
    1e6: re.compile(r"\s?(?:millions?\b|mn\b|m\b|m€|mio\b)", re.IGNORECASE),
    1e9: re.compile(r"\s?(?:billions?\b|bn\b|b\b|mrd\b)", re.IGNORECASE),
}
"""What, written right after an answer's number, keeps its scale, by factor."""


def scaled_numbers(messages: Sequence[Message], start: int, computes: Sequence[str]) -> list[Scaled]:
    """The numbers this run's tool results give in a scaled unit, and the results of the computing tools
    (`computes`) over them (see the module's docstring), in the order they came."""
    found: list[Scaled] = []
    calls = {c.id: c for m in messages[start:] if isinstance(m, AssistantMessage) for c in m.tool_calls}
    for message in messages[start:]:
        if not isinstance(message, ToolMessage) or message.is_error:
            continue
        call = calls.get(message.tool_call_id)
        if message.name in computes:
            found.extend(_computed(message, call.arguments if call else "", found))
        else:
            found.extend(_stated(message))
    return found


def _stated(message: ToolMessage) -> Iterator[Scaled]:
    gives = f"`{message.name}` gives"
    data = json_result(message.content)
    if data is not None:
        yield from _keyed(data, gives)
        return
    text = message.content
    for match in NUMBER.finditer(text):
        after = _AFTER.match(text, match.end())
        scale = _scale(after.group(1), after.group(2)) if after else None
        if scale is not None:
            written = match.group()
            yield Scaled(written_value(written), written, scale, f"{gives} {written} {scale.unit}")
    for statement in _STATED.finditer(text):
        scale = _scale(statement.group(1), statement.group(2))
        if scale is None:
            continue
        for written in _in_sentence(text, statement.start(), statement.end()):
            yield Scaled(written_value(written), written, scale, f"{gives} {written}, {statement.group()}")


def _keyed(data: object, gives: str) -> Iterator[Scaled]:
    """The numbers of a JSON result under a key that names a scale (`unit_cost_euro_cents`)."""
    for scale, key, value, written in keyed_numbers(data, _key_scale):
        yield Scaled(value, written, scale, f"{gives} {key} {written} in {scale.unit}")


def json_result(content: str) -> dict[str, Any] | list[Any] | None:
    """A tool result's JSON object or array; `None` for a result in text (or a bare JSON value)."""
    try:
        data = json.loads(content)
    except ValueError:
        return None
    return data if isinstance(data, (dict, list)) else None


def keyed_numbers(
    data: object, named: Callable[[str], T | None], found: T | None = None, key: str = ""
) -> Iterator[tuple[T, str, float, str]]:
    """The numbers of JSON `data` under a key that `named` reads something from (a scale, a unit), each as
    (what the nearest such key names, that key, the value, the value as written); a key naming nothing
    passes on its parent's."""
    if isinstance(data, dict):
        for name, value in data.items():
            own = named(str(name))
            yield from keyed_numbers(value, named, own or found, str(name) if own else key)
    elif isinstance(data, list):
        for value in data:
            yield from keyed_numbers(value, named, found, key)
    elif found is not None and isinstance(data, (int, float)) and not isinstance(data, bool):
        yield found, key, float(data), f"{data:g}" if isinstance(data, float) else str(data)


def _key_scale(key: str) -> Scale | None:
    parts = words(key)
    for index, part in enumerate(parts):
        if part in _FACTORS:
            named = [parts[index - 1]] if index and parts[index - 1] in _CURRENCIES else []
            others = [p for p in parts if p in _CURRENCIES and p not in named]
            plural = "pence" if part == "penny" else f"{part}s"
            return _scale(" ".join([*named, plural]), others[0] if others else None)
    return None


def _scale(unit: str, of: str | None) -> Scale | None:
    parts = words(unit)
    if not parts or parts[-1] not in _FACTORS:
        return None
    currency = next((p for p in [*parts[:-1], *words(of or "")] if p in _CURRENCIES), None)
    shown = unit.lower() + (f" of {of}" if of else "")
    return Scale(shown, _FACTORS[parts[-1]], _CURRENCIES[currency] if currency else "in whole units")


def _in_sentence(text: str, start: int, end: int) -> list[str]:
    """The numbers after `text[start:end]` up to its sentence's end, or with none there, those before it in
    its sentence."""
    stop = _SENTENCE_END.search(text, end)
    after = [m.group() for m in NUMBER.finditer(text, end, stop.start() if stop else len(text))]
    if after:
        return after
    begin = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    return [m.group() for m in NUMBER.finditer(text, begin, start)]


def _computed(message: ToolMessage, arguments: str, scaled: Sequence[Scaled]) -> Iterator[Scaled]:
    """The numbers of a computing tool's result that are not its operands, scaled as the first scaled
    number among its `arguments`' numbers, unless they also hold that scale's factor (the call converts:
    `477400 / 100`)."""
    operands = [written_value(m.group()) for m in NUMBER.finditer(arguments)]
    source = next((s for s in scaled if any(_same(s.value, v) for v in operands)), None)
    if source is None or any(
        _same(v, source.scale.factor) or _same(v, 1 / source.scale.factor) for v in operands
    ):
        return
    for match in NUMBER.finditer(message.content):
        written = match.group()
        value = written_value(written)
        if not any(_same(value, v) for v in operands):
            origin = f"`{message.name}` computed it from {source.written}; {source.origin}"
            yield Scaled(value, written, source.scale, origin)


def converted_sources(scaled: Sequence[Scaled]) -> list[Source]:
    """Each scaled number in whole units, as a source an answer may take its number from."""
    return [
        Source(
            value=s.value * s.scale.factor,
            written=_shown(s.value * s.scale.factor),
            origin=f"{s.written} {s.scale.unit} in {s.scale.whole}",
        )
        for s in scaled
    ]


def unscaled_numbers(messages: Sequence[Message], start: int, scaled: Sequence[Scaled]) -> list[float]:
    """The numbers the user's messages give, and those this run's tool results give without a scale: an
    answer number with one of these values may be that one."""
    values = {s.value for s in scaled}
    out: list[float] = []
    for index, message in enumerate(messages):
        if isinstance(message, UserMessage) and not message.feedback:
            out.extend(written_value(m.group()) for m in NUMBER.finditer(message.text))
        elif isinstance(message, ToolMessage) and not message.is_error and index >= start:
            out.extend(
                v for m in NUMBER.finditer(message.content) if (v := written_value(m.group())) not in values
            )
    return out


def unit_slips(
    text: str, scaled: Sequence[Scaled], plain: Sequence[float], asked: frozenset[str] = frozenset()
) -> list[tuple[str, Scaled]]:
    """The numbers of an answer `text` whose value is a scaled number's, written without its scale, each
    with that scaled number; not a value of `plain` (see `unscaled_numbers`), nor one `asked` about."""
    out: list[tuple[str, Scaled]] = []
    for written, end, values in number_readings(text):
        value, tolerance = values[0]
        if written in asked or any(w == written for w, _ in out):
            continue
        if any(abs(p - value) <= tolerance for p in plain):
            continue
        source = next((s for s in scaled if abs(s.value - value) <= tolerance), None)
        if source is not None and not _MARKS[source.scale.factor].match(text, end):
            out.append((written, source))
    return out


def unit_question(slips: Sequence[tuple[str, Scaled]]) -> str:
    """`UNIT_QUESTION` for the `slips` `unit_slips` found."""
    shown = [w for w, _ in slips]
    numbers = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" and {shown[-1]}"
    reasons = "\n".join(
        REASON.format(
            written=written,
            origin=source.origin,
            unit=source.scale.unit,
            is_are="is" if written_value(written) == 1 else "are",
            converted=f"{_shown(written_value(written) * source.scale.factor)} {source.scale.whole}",
        )
        for written, source in slips
    )
    return UNIT_QUESTION.format(numbers=numbers, its="its" if len(slips) == 1 else "their", reasons=reasons)


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _shown(value: float) -> str:
    """A value as a question shows it: thousands separated, at most six decimals, no trailing zeros."""
    return f"{value:,.6f}".rstrip("0").rstrip(".") or "0"
