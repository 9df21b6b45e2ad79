"""Answers that give a number in another unit than the one its source names: euros for dollars, miles for km.

A tool gives `"salary_usd": 102000` or `"distance_km": 2210`; asked for euros or miles, a small model answers
"102000 euros" or "2210 miles". The number traces (a tool gave it) and has no scale to drop, so neither
tracing (`_tracing`) nor `_units` asks about it. With `RunPolicy(trace_numbers=True)`, a tool result's
numbers carry the unit it names for them:
- a JSON key that names one (`salary_usd`, `price_in_euros`, `totalEUR`, `distance_km`, `temp_c`), or a
  key's one unit passed on to the numbers under it; a key naming two (`usd_to_eur`, `km_per_mile`: a rate)
  names none;
- a code, symbol or name written right after or before a number (`$102,000`, `102,000 USD`, `4.20 euros`,
  `2210 km`, `12 °C`, `120 km/h`); another unit followed by `/` (`3 kg/m`) is a rate's, not the number's.

An answer number with such a value, written next to a unit of the same kind (a currency, a length, a
mass...) that the source's is not (`$` is any dollar, `¥` yen or yuan), gets one question naming both units
and the tools that convert; a tool result that gives the same value in the answer's unit (a conversion
that happened to land there) lets it through. A unit of another kind is another quantity, not a slip. Each
number is asked about once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...messages import Message, ToolMessage
from ._tracing import listed, number_readings, words, written_value
from ._units import json_result, keyed_numbers

if TYPE_CHECKING:
    from ...tool import ToolDefinition

__all__ = [
    "MEASURE_QUESTION",
    "Measured",
    "converting_tools",
    "measure_question",
    "measure_slips",
    "measured_numbers",
]

MEASURE_QUESTION = (
    "Your answer gives {numbers} in {answer_unit}, but {reasons}. {ask} If the number is right as written, "
    "give the same answer again."
)
"""The question about answer numbers written in another unit than their source's."""

_UNITS: dict[str, tuple[str, str]] = {
    "USD": ("money", "US dollars"),
    "CAD": ("money", "Canadian dollars"),
    "AUD": ("money", "Australian dollars"),
    "NZD": ("money", "New Zealand dollars"),
    "HKD": ("money", "Hong Kong dollars"),
    "SGD": ("money", "Singapore dollars"),
    "EUR": ("money", "euros"),
    "GBP": ("money", "pounds sterling"),
    "JPY": ("money", "yen"),
    "CNY": ("money", "yuan"),
    "CHF": ("money", "Swiss francs"),
    "INR": ("money", "rupees"),
    "SEK": ("money", "Swedish kronor"),
    "NOK": ("money", "Norwegian kroner"),
    "DKK": ("money", "Danish kroner"),
    "km": ("length", "kilometres"),
    "mi": ("length", "miles"),
    "m": ("length", "metres"),
    "ft": ("length", "feet"),
    "kg": ("mass", "kilograms"),
    "g": ("mass", "grams"),
    "lb": ("mass", "pounds"),
    "oz": ("mass", "ounces"),
    "l": ("volume", "litres"),
    "gal": ("volume", "gallons"),
    "C": ("temperature", "degrees Celsius"),
    "F": ("temperature", "degrees Fahrenheit"),
    "kmh": ("speed", "km/h"),
    "mph": ("speed", "mph"),
}
"""Each unit a source or an answer may name: its kind (only units of one kind can be confused) and name."""
_DOLLARS = frozenset({"USD", "CAD", "AUD", "NZD", "HKD", "SGD"})
_WORDS: dict[str, frozenset[str]] = {
    "usd": frozenset({"USD"}),
    "dollar": _DOLLARS,
    "eur": frozenset({"EUR"}),
    "euro": frozenset({"EUR"}),
    "gbp": frozenset({"GBP"}),
    "pound": frozenset({"GBP", "lb"}),
    "sterling": frozenset({"GBP"}),
    "jpy": frozenset({"JPY"}),
    "yen": frozenset({"JPY"}),
    "cny": frozenset({"CNY"}),
    "rmb": frozenset({"CNY"}),
    "yuan": frozenset({"CNY"}),
    "chf": frozenset({"CHF"}),
    "franc": frozenset({"CHF"}),
    "inr": frozenset({"INR"}),
    "rupee": frozenset({"INR"}),
    **{code.lower(): frozenset({code}) for code in ("CAD", "AUD", "NZD", "HKD", "SGD", "SEK", "NOK", "DKK")},
    "km": frozenset({"km"}),
    "kilometre": frozenset({"km"}),
    "kilometer": frozenset({"km"}),
    "mile": frozenset({"mi"}),
    "metre": frozenset({"m"}),
    "meter": frozenset({"m"}),
    "ft": frozenset({"ft"}),
    "foot": frozenset({"ft"}),
    "feet": frozenset({"ft"}),
    "kg": frozenset({"kg"}),
    "kilogram": frozenset({"kg"}),
    "kilo": frozenset({"kg"}),
    "g": frozenset({"g"}),
    "gram": frozenset({"g"}),
    "lb": frozenset({"lb"}),
    "oz": frozenset({"oz"}),
    "ounce": frozenset({"oz"}),
    "litre": frozenset({"l"}),
    "liter": frozenset({"l"}),
    "gallon": frozenset({"gal"}),
    "celsiu": frozenset({"C"}),  # `words` reads "celsius" as a plural
    "fahrenheit": frozenset({"F"}),
    "kmh": frozenset({"kmh"}),
    "kph": frozenset({"kmh"}),
    "mph": frozenset({"mph"}),
}
"""A unit's code or name, as `words` reads it (singular, casefolded), and the units it may be."""
_KEY_WORDS: dict[str, frozenset[str]] = {
    **_WORDS,
    "mi": frozenset({"mi"}),
    "m": frozenset({"m"}),
    "c": frozenset({"C"}),
    "f": frozenset({"F"}),
    "l": frozenset({"l"}),
}
"""In a JSON key, one letter names a unit too (`height_m`, `temp_c`); in prose it is too often a word."""
_SIGNS: dict[str, frozenset[str]] = {
    "$": _DOLLARS,
    "US$": frozenset({"USD"}),
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP"}),
    "¥": frozenset({"JPY", "CNY"}),
    "円": frozenset({"JPY"}),
    "元": frozenset({"CNY"}),
    "₹": frozenset({"INR"}),
    "ドル": _DOLLARS,
    "ユーロ": frozenset({"EUR"}),
    "°C": frozenset({"C"}),
    "°F": frozenset({"F"}),
    "km/h": frozenset({"kmh"}),
}
_QUALIFIED = {
    "us": frozenset({"USD"}),
    "canadian": frozenset({"CAD"}),
    "australian": frozenset({"AUD"}),
    "swiss": frozenset({"CHF"}),
    "degree": frozenset({"C", "F"}),
}
"""A word before a unit's name that narrows it (`US dollars`, `Swiss francs`, `degrees Celsius`)."""
_SIGN = "|".join(re.escape(s) for s in sorted(_SIGNS, key=len, reverse=True))
_AFTER = re.compile(rf"\s?(?:({_SIGN})|([A-Za-z]+)(?![/A-Za-z])(?:\s([A-Za-z]+)(?![/A-Za-z]))?)")
_BEFORE = re.compile(rf"(?:({_SIGN})|\b([A-Za-z]{{3}}))\s?$")
_CONVERTS = re.compile(r"\b(?:convert|conversion|exchange|currenc)", re.IGNORECASE)


@dataclass(frozen=True)
class Measured:
    """A number a tool result gives in a named unit."""

    value: float
    written: str
    units: frozenset[str]
    """The units it may be in (one, or several for `$`)."""
    origin: str
    """Where, as a phrase: "`get_employee` gives salary_usd 102000"."""


def measured_numbers(messages: Sequence[Message], start: int) -> list[Measured]:
    """The numbers this run's tool results give in a named unit (see the module's docstring)."""
    found: list[Measured] = []
    for message in messages[start:]:
        if not isinstance(message, ToolMessage) or message.is_error:
            continue
        gives = f"`{message.name}` gives"
        data = json_result(message.content)
        if data is not None:
            found.extend(
                Measured(value, written, units, f"{gives} {key} {written}")
                for units, key, value, written in keyed_numbers(data, _key_unit)
            )
            continue
        for written, units in _written(message.content):
            found.append(Measured(written_value(written), written, units, f"{gives} {written}"))
    return found


def _key_unit(key: str) -> frozenset[str] | None:
    """The unit a JSON key names (`salary_usd`, `totalEUR`); `None` for none, or for two (a rate)."""
    named = [_KEY_WORDS[w] for w in words(re.sub(r"(?<=[a-z])(?=[A-Z])", "_", key)) if w in _KEY_WORDS]
    return named[0] if len(named) == 1 else None


def _written(text: str) -> Iterator[tuple[str, frozenset[str]]]:
    """Each number of `text` written next to a unit, as written, with that unit."""
    for written, end, _ in number_readings(text):
        units = _next_to(text, end - len(written), end)
        if units is not None:
            yield written, units


def _next_to(text: str, start: int, end: int) -> frozenset[str] | None:
    after = _AFTER.match(text, end)
    if after is not None:
        found = _SIGNS[after.group(1)] if after.group(1) else _WORDS.get(_word(after.group(2)))
        qualified = _QUALIFIED.get(_word(after.group(2) or ""))
        if found is None and qualified and after.group(3):
            found = _WORDS.get(_word(after.group(3)), frozenset()) & qualified or None
        if found is not None:
            return found
    before = _BEFORE.search(text, max(0, start - 4), start)
    if before is not None:
        return _SIGNS[before.group(1)] if before.group(1) else _WORDS.get(_word(before.group(2)))
    return None


def _word(text: str) -> str:
    found = words(text)
    return found[0] if len(found) == 1 else ""


def measure_slips(
    text: str, measured: Sequence[Measured], asked: frozenset[str] = frozenset()
) -> list[tuple[str, str, Measured]]:
    """The numbers of an answer `text` written in a unit their source does not give them in (of the same
    kind): each as written, with the answer's unit named, and that source; not one `asked` about, nor a
    value a tool result gives in the answer's unit too."""
    out: list[tuple[str, str, Measured]] = []
    for written, units in _written(text):
        if written in asked or any(w == written for w, _, _ in out):
            continue
        value = written_value(written)
        same = [m for m in measured if abs(m.value - value) <= 1e-9 * max(1.0, abs(value))]
        kinds = {_UNITS[u][0] for u in units}
        if any(m.units & units for m in same):
            continue
        source = next((m for m in same if kinds & {_UNITS[u][0] for u in m.units}), None)
        if source is not None:
            out.append((written, _named({u for u in units if _UNITS[u][0] in _kinds(source)}), source))
    return out


def measure_question(slips: Sequence[tuple[str, str, Measured]], converts: Sequence[str]) -> str:
    """`MEASURE_QUESTION` for the `slips` `measure_slips` found, asking for a tool that converts."""
    numbers = listed([w for w, _, _ in slips])
    reasons = "; ".join(f"{source.origin}, in {_named(source.units)}" for _, _, source in slips)
    it = "it" if len(slips) == 1 else "them"
    how = f" with {listed([f'`{n}`' for n in converts], 'or')}" if converts else ""
    return MEASURE_QUESTION.format(
        numbers=numbers,
        answer_unit=slips[0][1],
        reasons=reasons,
        ask=f"Convert {it}{how} and answer with the result.",
    )


def converting_tools(tools: Mapping[str, ToolDefinition]) -> list[str]:
    """The tools that convert (by what their name or description says: convert, exchange, currency)."""
    return [n for n, t in tools.items() if _CONVERTS.search(f"{n.replace('_', ' ')} {t.description}")]


def _kinds(source: Measured) -> set[str]:
    return {_UNITS[u][0] for u in source.units}


def _named(units: frozenset[str] | set[str]) -> str:
    if len(units) == 1:
        return _UNITS[next(iter(units))][1]
    if units <= _DOLLARS:
        return "dollars"
    return " or ".join(sorted(_UNITS[u][1] for u in units))
