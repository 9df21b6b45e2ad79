"""Choices a tool's description offers, of which a call takes one while the question names another.

Asked "Do you have boots in size 42 for 150 euros or less?", a small model copies the description's example
and searches `category:jackets AND size:42 AND max_price:150`: the description lists the categories
(`category (boots, jackets)`), the question names boots, and the call takes jackets. Every number of the
call is given and the value is not the whole example, so the other checks are content.

Part of `GroundingCheck` (the local profile's): the choices are a parameter's `enum`, a list in parentheses
(`(boots, jackets)`, `(celsius or fahrenheit)`) and a list joined by "or" (`radius, mass or age`) in the
tool's description or its parameters' descriptions. A call whose string argument holds one choice of a
list, while the run's question names another of the same list and not that one, is not run and asked about
once; made again in the next turn, it runs (the model confirms it). Choices are compared as words
(`_tracing.word_set`: case, accents and a plural's `s` aside).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..._support.given import leaves
from ._tracing import listed, word_set

__all__ = ["CHOICE_QUESTION", "Choice", "choice_question", "choices", "contradicted_choice", "descriptions"]

CHOICE_QUESTION = (
    "Not run: your call has {used}, but the question asks for {named} (the tool's choices: {options}). "
    "Make the call with {named}. If {used} is right, make the same call again."
)
"""The question about a call that takes another of the description's choices than the question names."""

_PARENS = re.compile(r"\(([^()\n]{3,160})\)")
_OR_LIST = re.compile(r"(?<![\w-])[^\W\d_][\w-]*(?:\s*,\s*[^\W\d_][\w-]*)*,?\s+or\s+[^\W\d_][\w-]*")
_SEPARATOR = re.compile(r"\s*,\s*(?:or\s+|and\s+)?|\s+or\s+|\s+and\s+|\s*/\s*")
_NOT_A_CHOICE = frozenset({
    "a", "an", "the", "as", "in", "of", "to", "for", "on", "at", "by", "from", "with", "is", "be", "it",
    "this", "that", "each", "every", "one", "more", "any", "all", "both", "either", "none", "other", "some",
    "no", "not", "e", "g", "eg", "etc",
})  # fmt: skip
"""Words that make a list no list of choices ("one or more", "from the question or from a result")."""


@dataclass(frozen=True)
class Choice:
    """A choice the call takes (`used`, as the call writes it) where the question names another (`named`,
    as the description writes it), and the list both are from."""

    used: str
    named: str
    options: tuple[str, ...]


def choices(description: str, parameters: dict[str, Any]) -> tuple[tuple[str, ...], ...]:
    """The lists of choices a tool's description and its parameters give: `enum`s of two or more strings,
    lists in parentheses and lists joined by "or", each of two or more one- or two-word options."""
    found: list[tuple[str, ...]] = [tuple(e) for e in _enums(parameters)]
    for text in [description, *descriptions(parameters)]:
        for match in _PARENS.finditer(text):
            found.append(_options(match.group(1)))
        for match in _OR_LIST.finditer(text):
            found.append(_options(match.group()))
    unique = dict.fromkeys(options for options in found if len(options) >= 2)
    return tuple(unique)


def contradicted_choice(value: Any, lists: tuple[tuple[str, ...], ...], question: str) -> Choice | None:
    """The first string of a call's decoded arguments holding a choice of one of `lists` that the
    `question` does not name, where the question names another choice of that list; else `None`."""
    if not lists:
        return None
    asked = word_set(question)
    for leaf in leaves(value):
        if not isinstance(leaf, str):
            continue
        held = word_set(leaf)
        for options in lists:
            keys = [(option, word_set(option)) for option in options]
            used = [option for option, key in keys if key <= held]
            named = [option for option, key in keys if key <= asked]
            if used and named and not set(used) & set(named):
                return Choice(used=_as_written(leaf, used[0]), named=named[0], options=options)
    return None


def choice_question(found: Choice) -> str:
    """`CHOICE_QUESTION` filled in for what `contradicted_choice` found."""
    return CHOICE_QUESTION.format(
        used=found.used, named=found.named, options=listed(list(found.options), "and")
    )


def _options(text: str) -> tuple[str, ...]:
    """A list's options, or `()` when it is no list of choices (an option of more than two words, one
    with a digit, or a function word)."""
    parts = [part.strip(" .:;\"'`") for part in _SEPARATOR.split(text.strip())]
    if any(
        not part
        or len(part.split()) > 2
        or any(c.isdigit() for c in part)
        or any(word in _NOT_A_CHOICE for word in part.lower().split())
        for part in parts
    ):
        return ()
    return tuple(dict.fromkeys(parts))


def _as_written(leaf: str, option: str) -> str:
    """The option as the call's string writes it (`Jacket` in `category:Jacket AND size:42`)."""
    key = word_set(option)
    tokens = [m.group() for m in re.finditer(r"[^\W_]+", leaf)]
    spans = [*tokens, *(" ".join(pair) for pair in itertools.pairwise(tokens))]
    return next((span for span in spans if word_set(span) == key), option)


def _enums(schema: Any) -> Iterator[list[str]]:
    if isinstance(schema, dict):
        enum = schema.get("enum")
        if isinstance(enum, list) and all(isinstance(v, str) for v in enum):
            yield [v for v in enum if isinstance(v, str)]
        for value in schema.values():
            yield from _enums(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _enums(item)


def descriptions(schema: Any) -> Iterator[str]:
    """The `description`s of a JSON schema and of every schema inside it."""
    if isinstance(schema, dict):
        if isinstance(schema.get("description"), str):
            yield schema["description"]
        for value in schema.values():
            yield from descriptions(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from descriptions(item)
