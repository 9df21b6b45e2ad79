"""A computation that multiplies or divides an amount in one unit by a rate per another unit of its kind.

Told "White fish is 18.40 euros a kilo" and given "white fish 900 g" by a recipe tool, a small model calls
the calculator with `900 * 18.40` and answers 16,560 euros: both numbers have a source, and the product is
the calculator's, so every other check is content; but 900 is in grams and 18.40 is per kilogram.

Part of `GroundingCheck` (the local profile's): the conversation's text gives amounts (`900 g`, `1.5 l`,
`12 km`) and rates (`18.40 euros a kilo`, `2.10 EUR per litre`, `0.35/km`) of mass, volume and length. A
call whose string argument is arithmetic that multiplies or divides an amount by a rate of the same kind in
another unit (grams by a price per kilogram), and does not convert (no factor of 10, 100 or 1000 written),
is not run and asked about once, with the amount converted; made again in the next turn, it runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..._support.given import NUMBER, leaves

__all__ = ["MIXED_QUESTION", "Mixed", "mixed_question", "mixed_units"]

MIXED_QUESTION = (
    "Not run: your call uses {amount} {unit} with {rate}, which is per {rate_unit}: {amount} {unit} is "
    "{converted} {rate_unit}. Make the call with {converted}: `{rewritten}`. If yours is right, make the same "
    "call again."
)
"""The question about a computation mixing an amount in one unit with a rate per another."""

_SCALES: dict[str, tuple[str, float]] = {
    "mg": ("mass", 0.001), "g": ("mass", 1), "gram": ("mass", 1), "grams": ("mass", 1), "gr": ("mass", 1),
    "kg": ("mass", 1000), "kilo": ("mass", 1000), "kilos": ("mass", 1000), "kilogram": ("mass", 1000),
    "kilograms": ("mass", 1000), "t": ("mass", 1e6), "tonne": ("mass", 1e6), "tonnes": ("mass", 1e6),
    "ml": ("volume", 1), "millilitre": ("volume", 1), "millilitres": ("volume", 1), "milliliter": ("volume", 1),
    "milliliters": ("volume", 1), "cl": ("volume", 10), "dl": ("volume", 100), "l": ("volume", 1000),
    "litre": ("volume", 1000), "litres": ("volume", 1000), "liter": ("volume", 1000), "liters": ("volume", 1000),
    "mm": ("length", 0.001), "cm": ("length", 0.01), "m": ("length", 1), "metre": ("length", 1),
    "metres": ("length", 1), "meter": ("length", 1), "meters": ("length", 1), "km": ("length", 1000),
    "kilometre": ("length", 1000), "kilometres": ("length", 1000), "kilometer": ("length", 1000),
    "kilometers": ("length", 1000),
}  # fmt: skip
"""Units of the kinds a price or an amount is given in, each with its size in the kind's base unit."""
_UNIT = "|".join(sorted(map(re.escape, _SCALES), key=len, reverse=True))
_AMOUNT = re.compile(rf"(?<![\w.,])({NUMBER.pattern})\s?({_UNIT})\b(?!\s*/)", re.IGNORECASE)
_RATE = re.compile(
    rf"(?<![\w.,])({NUMBER.pattern})\s?(?:[^\W\d_]{{1,8}}\.?\s?|[$€£¥]\s?)?(?:a|an|per|each|/)\s?({_UNIT})\b",
    re.IGNORECASE,
)
_PRICE_FIRST = re.compile(rf"[$€£¥]\s?({NUMBER.pattern})\s?(?:a|an|per|/)\s?({_UNIT})\b", re.IGNORECASE)
_ARITHMETIC = re.compile(r"[*×/÷]")
_FACTORS = frozenset({10.0, 100.0, 1000.0, 0.001, 0.01, 0.1, 1e6})


@dataclass(frozen=True)
class Mixed:
    """What `mixed_units` found: the amount and its unit as written, the rate as written and its unit, and
    the amount in the rate's unit."""

    amount: str
    unit: str
    rate: str
    rate_unit: str
    converted: str
    rewritten: str
    """The call's arithmetic with the amount converted (`0.9 * 18.40`)."""


def mixed_units(value: Any, text: str) -> Mixed | None:
    """The first string of a call's decoded arguments that multiplies or divides an amount the
    conversation's `text` gives in one unit by a rate it gives per another unit of that kind, writing no
    conversion factor; else `None`."""
    amounts = {float(m[1].replace(",", "")): (m[1], m[2]) for m in _AMOUNT.finditer(text)}
    rates = {float(m[1].replace(",", "")): (m[1], m[2]) for m in _rates(text)}
    if not amounts or not rates:
        return None
    for leaf in leaves(value):
        if not isinstance(leaf, str) or not _ARITHMETIC.search(leaf):
            continue
        numbers = [float(n.replace(",", "")) for n in NUMBER.findall(leaf)]
        if _FACTORS & set(numbers):
            continue
        for number in numbers:
            if number not in amounts:
                continue
            written, unit = amounts[number]
            for other in numbers:
                if other == number or other not in rates:
                    continue
                rate_written, rate_unit = rates[other]
                kind, size = _SCALES[unit.lower()]
                rate_kind, rate_size = _SCALES[rate_unit.lower()]
                if kind == rate_kind and size != rate_size:
                    converted = f"{number * size / rate_size:.10g}"
                    rewritten = _replaced(leaf, number, converted)
                    return Mixed(written, unit, rate_written, rate_unit, converted, rewritten)
    return None


def mixed_question(found: Mixed) -> str:
    """`MIXED_QUESTION` filled in for what `mixed_units` found."""
    return MIXED_QUESTION.format(
        amount=found.amount,
        unit=found.unit,
        rate=found.rate,
        rate_unit=found.rate_unit,
        converted=found.converted,
        rewritten=found.rewritten,
    )


def _replaced(expression: str, number: float, converted: str) -> str:
    """`expression` with its first number equal to `number` written as `converted`."""
    for match in NUMBER.finditer(expression):
        if float(match.group().replace(",", "")) == number:
            return expression[: match.start()] + converted + expression[match.end() :]
    return expression


def _rates(text: str) -> Iterator[re.Match[str]]:
    yield from _RATE.finditer(text)
    yield from _PRICE_FIRST.finditer(text)
