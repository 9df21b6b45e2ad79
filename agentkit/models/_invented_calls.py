"""Calls whose arguments come from nowhere: a first reply's calls with more required values that the
transcript does not hold than values it does.

Asked a question no offered tool answers ("the largest planet?" with a star-lookup tool), a 1.5B model calls
the nearest tool anyway, and fills its required arguments with values nobody gave (`star_name: "Sun"`,
`information: "radius"`). Asked a question a tool answers, it takes them from the question (`radius: 5`
for "a circle of radius 5"). On BFCL items outside any evaluation, the calls of about half the questions no
tool answers hold more invented required values than given ones, against 1 in 120 of the questions a tool
answers (docs/local-evals.md), whatever the reply's first token leaned to.

A value is read by kind:
- a number is given when the transcript writes it (its sign aside), also at a scale (a percent, thousands,
  millions, billions: "5%" gives 0.05, "1.5 million" gives 1,500,000) or as a number word ("five", "a decade");
- a string is given when one of its numbers is (an expression: `"1500000 / 3200"` for "1.5 million divided
  by 3,200"), or one of its words starts as a word of the transcript does (the first four characters:
  "London" for "Londres") or is written in it ("東京" in "東京の天気");
- not counted either way: booleans and nulls, a value of the parameter's `enum` or its `default`, a code
  (two to five capitals: `USD`, `AAPL`), an ISO date or a clock time (both often worked out from "tomorrow"
  or "tonight"), and a string in Latin letters when the transcript is mostly in another script (the model
  then translates names, which words cannot compare).
Only the required parameters count: optional ones are often filled from the model's head, rightly so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .._support.given import NUMBER, decoded_arguments, leaves, number_words
from ..messages import ToolCall
from ..tool import ToolDefinition

__all__ = ["given_and_invented", "invented_calls"]

_SCALES = (1.0, 0.01, 100.0, 0.001, 1e3, 1e6, 1e9)
"""A number the transcript writes, as a value may hold it: as written, a percent either way, in thousands,
millions and billions."""
_SPANS = {"decade": 10.0, "century": 100.0, "week": 7.0, "first": 1.0, "second": 2.0}
"""Words for numbers a call takes as a count, beside the number words a calculation uses (`number_words`)."""
_WORD = re.compile(r"\w+")
_CODE = re.compile(r"[A-Z]{2,5}")
_DATE_OR_TIME = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}")
_STEM = 4


def invented_calls(calls: Sequence[ToolCall], tools: Sequence[ToolDefinition], text: str) -> bool:
    """Whether `calls` hold more required values that `text` (the transcript) does not give than values it
    does (see the module's docstring)."""
    given, invented = given_and_invented(calls, tools, text)
    return invented > given


def given_and_invented(
    calls: Sequence[ToolCall], tools: Sequence[ToolDefinition], text: str
) -> tuple[int, int]:
    """How many of the required values of `calls` `text` gives, and how many it does not (values counted
    neither way left out)."""
    known = _Known(text)
    schemas = {t.name: t.parameters for t in tools}
    given = invented = 0
    for call in calls:
        schema = schemas.get(call.name)
        arguments = decoded_arguments(call.arguments)
        if schema is None or not isinstance(arguments, dict):
            continue
        properties = schema.get("properties") or {}
        for name in schema.get("required") or ():
            if name not in arguments:
                continue
            spec = _resolved(properties.get(name) or {}, schema)
            for value in leaves(arguments[name]):
                verdict = known.holds(value, spec)
                if verdict is not None:
                    given += verdict
                    invented += not verdict
    return given, invented


class _Known:
    """What a transcript's text gives: its numbers at their scales, its words and their stems."""

    def __init__(self, text: str) -> None:
        self._text = text.casefold()
        words = _WORD.findall(self._text)
        self._stems = {w[:_STEM] for w in words}
        written = [float(m.group().replace(",", "")) for m in NUMBER.finditer(text)]
        self._numbers = {_key(n * scale) for n in written for scale in _SCALES}
        self._numbers |= {_key(n) for _, values in number_words(text) for n in values}
        self._numbers |= {_key(_SPANS[w]) for w in words if w in _SPANS}
        latin = sum(1 for c in text if c.isalpha() and ord(c) < 0x250)
        self._latin = latin * 2 >= sum(1 for c in text if c.isalpha())

    def holds(self, value: object, spec: Mapping[str, Any]) -> bool | None:
        """Whether the text gives `value` (of a parameter described by `spec`); `None`: not counted."""
        if value is None or isinstance(value, bool) or value in _choices(spec):
            return None
        if "default" in spec and value == spec["default"]:
            return None
        if isinstance(value, (int, float)):
            return self._number(value)
        if not isinstance(value, str) or _CODE.fullmatch(value) or _DATE_OR_TIME.match(value):
            return None
        numbers = [float(n.replace(",", "")) for n in NUMBER.findall(value)]
        words = [w for w in _WORD.findall(value.casefold()) if len(w) >= 2 and not w.isdecimal()]
        if not self._latin:
            words = [w for w in words if not all(ord(c) < 0x250 for c in w)]
        if not numbers and not words:
            return None
        return any(map(self._number, numbers)) or any(
            w[:_STEM] in self._stems or w in self._text for w in words
        )

    def _number(self, value: float) -> bool:
        return _key(abs(value)) in self._numbers


def _key(number: float) -> float:
    """`number` to 12 significant digits: a number and the same number at a scale (`5 * 0.01`, `0.05`)
    compare equal, in one lookup however many numbers the transcript holds."""
    return float(f"{number:.12g}")


def _choices(spec: Mapping[str, Any]) -> list[Any]:
    """The values a parameter's schema lists (`enum`, `const`, in any branch of an `anyOf`)."""
    found = list(spec.get("enum") or ())
    if "const" in spec:
        found.append(spec["const"])
    for branch in spec.get("anyOf") or ():
        if isinstance(branch, dict):
            found += _choices(branch)
    return found


def _resolved(spec: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """`spec`, or the definition its local `$ref` (`#/$defs/Name`) points to."""
    ref = spec.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        found = (root.get("$defs") or {}).get(ref.removeprefix("#/$defs/"))
        if isinstance(found, dict):
            return found
    return spec
