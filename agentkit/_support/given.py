"""What a conversation gives: the numbers its messages hold, the question asked, and the numbers a text or a
call's arguments hold that nothing gave.

Pure readers over the transcript, below both of their users: the small model's grounding check
(`agentkit.local.policy`) and prompted tool calling's reminders (`models._prompted`, which blanks the made-up
values of a call still to make). What counts as given: the system prompt, the user's messages (not
agentkit's feedback), tool results (not error messages) and answers from before this run, plus number words
(`half`, `cubed`, `percent`) and month names (`avril` is 4). A number counts as supported when it is a given
one, or one step from two given ones (`a + b`, `a - b`, `a * b`, `a / b`), rounded to the decimals it is
written with; `15%` also gives 0.15.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..messages import Message, SystemMessage, ToolMessage, UserMessage

__all__ = [
    "ALWAYS_KNOWN",
    "MONTHS",
    "NOT_JSON",
    "NUMBER",
    "NUMBER_WORDS",
    "decoded_arguments",
    "given_text",
    "known_numbers",
    "last_question",
    "leaves",
    "number_words",
    "numbers_in_value",
    "rounds_to",
    "unsupported_in_arguments",
    "unsupported_in_text",
    "unsupported_in_value",
    "written_numbers",
]

ALWAYS_KNOWN = frozenset({0.0, 1.0})
"""Numbers no one needs to be told."""

NUMBER = re.compile(r"\d+(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?")
"""An unsigned number; commas between groups of three digits are thousands separators."""
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_PERCENT = re.compile(r"\s*(?:%|percent\b|per cent\b)")
NUMBER_WORDS: dict[str, tuple[float, ...]] = {
    "zero": (0,), "one": (1,), "two": (2,), "three": (3,), "four": (4,), "five": (5,), "six": (6,),
    "seven": (7,), "eight": (8,), "nine": (9,), "ten": (10,), "eleven": (11,), "twelve": (12,),
    "thirteen": (13,), "fourteen": (14,), "fifteen": (15,), "sixteen": (16,), "seventeen": (17,),
    "eighteen": (18,), "nineteen": (19,), "twenty": (20,), "thirty": (30,), "forty": (40,), "fifty": (50,),
    "sixty": (60,), "seventy": (70,), "eighty": (80,), "ninety": (90,),
    "hundred": (100,), "thousand": (1000,),
    "million": (1e6,), "billion": (1e9,), "dozen": (12,), "half": (2, 0.5), "quarter": (4, 0.25),
    "third": (3,), "twice": (2,), "double": (2,), "doubled": (2,), "triple": (3,), "tripled": (3,),
    "squared": (2,), "square": (2, 0.5), "cubed": (3,), "cube": (3,), "percent": (100,), "per cent": (100,),
    "%": (100,),
    "fourth": (4,), "fifth": (5,), "sixth": (6,), "seventh": (7,), "eighth": (8,), "ninth": (9,),
    "tenth": (10,), "eleventh": (11,), "twelfth": (12,), "thirteenth": (13,), "fourteenth": (14,),
    "fifteenth": (15,), "sixteenth": (16,), "seventeenth": (17,), "eighteenth": (18,), "nineteenth": (19,),
    "twentieth": (20,), "thirtieth": (30,),
}  # fmt: skip
"""Words that stand for numbers a calculation may use (`the square root` is `** 0.5`, `cubed` is `** 3`),
and ordinals from `fourth` (dates: "the fourteenth of March"; `first` and `second` say other things too)."""
_UNITS: dict[str, float] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9,
}  # fmt: skip
"""What may follow "twenty-" and the other tens: a unit or an ordinal."""
_MONTH_NAMES = (
    "january february march april may june july august september october november december",  # English
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",  # French
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",  # Spanish
    "januar februar märz april mai juni juli august september oktober november dezember",  # German
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",  # Italian
    "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",  # Portuguese
    "januari februari maart april mei juni juli augustus september oktober november december",  # Dutch
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",  # Russian, "of"
    "январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь",  # Russian
    "jan feb mar apr may jun jul aug sep oct nov dec",  # English, abbreviated
)
MONTHS: dict[str, int] = {
    name: number for names in _MONTH_NAMES for number, name in enumerate(names.split(), start=1)
} | {"sept": 9, "fevrier": 2, "aout": 8, "decembre": 12, "maerz": 3, "jänner": 1, "setiembre": 9}
"""Month names and their numbers, in the languages questions come in (a date's month: "le 3 avril" gives
4); accents may be left out where people leave them out. Compared case-insensitively, except the English
names that are also words (`may`, `march`) and the abbreviations (`mar`, `jun`), which must be capitalised."""
_CAPITALISED_MONTHS = frozenset({"may", "march", *_MONTH_NAMES[-1].split(), "sept"})
_WORD_TOKEN = re.compile(r"(?<!\w)[^\W\d_]+(?!\w)|%")
"""A word (letters only) or `%`: what `number_words` looks up, one token at a time (a regex of every number
word and month name tried at every position is slow on a long text)."""
_TENS = frozenset({"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"})
_TWO_WORDS = frozenset(w for w in NUMBER_WORDS if " " in w)
"""Number words written as two (`per cent`)."""


_HOUR_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven")
_HOURS = "|".join(_HOUR_WORDS)
_AFTERNOON = re.compile(
    rf"\b(\d{{1,2}}|{_HOURS})(?:[:.]\d{{2}})?\s*(?:p\.\s?m\b\.?|pm\b|(?:o'clock\s+)?in the (?:afternoon|evening)\b"
    r"|(?:o'clock\s+)?at night\b)",
    re.IGNORECASE,
)
_CLOCK_WORDS = re.compile(r"\b(?:quarter past|quarter to|half past|noon|midday|midnight)\b", re.IGNORECASE)
_CLOCK_VALUES: dict[str, tuple[float, ...]] = {
    "quarter past": (15,), "quarter to": (45,), "half past": (30,), "noon": (12,), "midday": (12,),
    "midnight": (0, 24),
}  # fmt: skip


def number_words(text: str) -> Iterator[tuple[str, tuple[float, ...]]]:
    """Each number word of `text` as written, with the numbers it may stand for: the words of
    `NUMBER_WORDS`, tens joined to a unit or an ordinal ("twenty-one", "thirty first"), month names
    (`MONTHS`: "avril" is 4), and the hours and minutes of a time of day said in words ("3 pm" and "three in
    the afternoon" are 15, "a quarter past" is 15 minutes, "noon" 12)."""
    found: list[tuple[int, str, tuple[float, ...]]] = []
    for match in _AFTERNOON.finditer(text):
        hour = match.group(1).lower()
        number = int(hour) if hour.isdigit() else _HOUR_WORDS.index(hour) + 1
        if number < 12:
            found.append((match.start(), match.group(), (number + 12,)))
    for match in _CLOCK_WORDS.finditer(text):
        found.append((match.start(), match.group(), _CLOCK_VALUES[match.group().lower()]))
    tokens = list(_WORD_TOKEN.finditer(text))
    index = 0
    while index < len(tokens):
        token = tokens[index]
        word, lowered = token.group(), token.group().lower()
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if following is not None and text[token.end() : following.start()] in (" ", "-"):
            second = following.group().lower()
            joined = text[token.start() : following.end()]
            if f"{lowered} {second}" in _TWO_WORDS and text[token.end()] == " ":
                found.append((token.start(), joined, NUMBER_WORDS[f"{lowered} {second}"]))
                index += 2
                continue
            if lowered in _TENS and second in _UNITS:  # "twenty-one", "thirty first"
                found.append((token.start(), joined, (NUMBER_WORDS[lowered][0] + _UNITS[second],)))
                index += 2
                continue
        if lowered in NUMBER_WORDS:
            found.append((token.start(), word, NUMBER_WORDS[lowered]))
        elif lowered in MONTHS and (lowered not in _CAPITALISED_MONTHS or word == word.capitalize()):
            found.append((token.start(), word, (MONTHS[lowered],)))
        index += 1
    for _, word, values in sorted(found, key=lambda item: item[0]):
        yield word, values


def known_numbers(messages: Sequence[Message], before: int) -> frozenset[float]:
    """The numbers the conversation gives: system and user messages (not agentkit's feedback), tool
    results, and assistant text from before index `before` (earlier runs)."""
    known = set(ALWAYS_KNOWN)
    for index, message in enumerate(messages):
        text = _given_text(message, index < before)
        # both readings of `1,234`: a thousands separator, or a list (JSON results write `[1,234]`)
        for pattern in (NUMBER, _PLAIN_NUMBER):
            for match in pattern.finditer(text):
                value = float(match.group().replace(",", ""))
                known.add(value)
                if _PERCENT.match(text, match.end()):
                    known.add(value / 100)
        for _, values in number_words(text):
            known.update(values)
    return frozenset(known)


def last_question(messages: Sequence[Message]) -> str:
    """The text of the last message from the user (the question the latest results serve); agentkit's own
    feedback messages are skipped."""
    return next((m.text for m in reversed(messages) if isinstance(m, UserMessage) and not m.feedback), "")


def given_text(messages: Sequence[Message], before: int) -> str:
    """The text the conversation gives (the sources of `known_numbers`), lowercased."""
    return "\n".join(_given_text(m, i < before) for i, m in enumerate(messages)).lower()


def leaves(value: Any) -> Iterator[Any]:
    """The scalars of a decoded JSON value."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    else:
        yield value


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
    return _unsupported(written_numbers(text), known)


def unsupported_in_arguments(arguments: str, known: frozenset[float]) -> list[str]:
    """`unsupported_in_value` for a past call's JSON text (text that does not parse has none)."""
    value = decoded_arguments(arguments)
    return [] if value is NOT_JSON else unsupported_in_value(value, known)


def unsupported_in_value(value: Any, known: frozenset[float]) -> list[str]:
    """The numbers in a call's decoded arguments (number values, and numbers inside strings) that `known`
    does not support."""
    return _unsupported(numbers_in_value(value), known)


def written_numbers(text: str) -> Iterator[tuple[float, int, str]]:
    for match in NUMBER.finditer(text):
        digits = match.group().replace(",", "")
        yield float(digits), len(digits.partition(".")[2]), match.group()


def numbers_in_value(value: Any) -> Iterator[tuple[float, int, str]]:
    for leaf in leaves(value):
        if isinstance(leaf, bool) or leaf is None:
            continue
        if isinstance(leaf, (int, float)):
            written = json.dumps(leaf)
            if re.fullmatch(r"-?\d+(?:\.\d+)?", written):  # not inf/nan/exponent forms
                digits = written.lstrip("-")
                yield float(digits), len(digits.partition(".")[2]), digits
            else:
                yield abs(float(leaf)), 0, written
        elif isinstance(leaf, str):
            yield from written_numbers(leaf)


def _unsupported(found: Iterable[tuple[float, int, str]], known: frozenset[float]) -> list[str]:
    out: list[str] = []
    for value, decimals, written in found:
        if written not in out and not _supported(value, decimals, known):
            out.append(written)
    return out


def _supported(value: float, decimals: int, known: frozenset[float]) -> bool:
    """`value` is known, or one step from known numbers (`a + b`, `a - b`, `a * b`, `a / b`), rounded to the
    `decimals` it is written with: a model may add two results in its head (`24 - -3` is 27), and a wrong
    sum is caught because it is no such step."""
    if rounds_to(value, decimals, known):
        return True
    tolerance = 0.5 * 10**-decimals + 1e-9
    operands = [k for k in known if k not in ALWAYS_KNOWN]  # with 0 and 1 every k ± 1 would pass
    for index, a in enumerate(operands):
        for b in operands[index:]:
            results = (a + b, abs(a - b), a * b, a / b if b else a, b / a if a else b)
            if any(abs(r - value) <= tolerance for r in results):
                return True
    return False


NOT_JSON: Any = object()


def decoded_arguments(arguments: str) -> Any:
    """A call's arguments decoded (empty text is `{}`), or `NOT_JSON` when they are not JSON."""
    try:
        return json.loads(arguments) if arguments.strip() else {}
    except (
        ValueError,
        RecursionError,
    ):  # not JSON, or past what the decoder takes (too many digits, too deep)
        return NOT_JSON


def rounds_to(value: float, decimals: int, known: frozenset[float]) -> bool:
    """`value` is a known number, rounded to the `decimals` it is written with."""
    tolerance = 0.5 * 10**-decimals + 1e-9
    return value in known or any(abs(k - value) <= tolerance for k in known)
