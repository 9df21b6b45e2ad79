"""Numbers of a final answer traced to their source, and values compared as words.

With `RunPolicy(trace_numbers=True)` (the local profile's), each number of a text answer must come from a
source: the prompt (system and user messages), a tool result (a calculator's result is one), or an answer of
an earlier run. Simple restatements count: the value rounded to the decimals written, with or without
thousands separators, a percentage of a given fraction (`15%` of 0.15, and 0.15 of `15%`), a scale word
(`1.5 million` is 1500000, both ways). Arithmetic is not a source: a value worked out in the head is asked
about (naming the computation, for the tool that computes) (a model's sum may be right, but it is the step small models get wrong).

A number with no source gets one question back, naming it and its nearest source, and how it differs: a
power-of-ten slip (`get_employee returned 93840; your 93.84 is that divided by 1000`), two given numbers
combined in the head (asking for the tool that computes, when one is offered), or the nearest number given.
Each number is asked about once per run: given again, it goes through (the model confirms it).

An answer whose numbers all trace but that writes arithmetic out undone (`38125/6`, `240 * 1.085`) gets one
question asking for the tool that computes (`unworked`).

Words are compared as words (`word_set`): casefolded, accents stripped, split on what is not a letter or a
digit, a plural's `s` dropped, so a value the user wrote, reworded, is the user's value.
"""

from __future__ import annotations

import ast
import math
import operator
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..._support.given import ALWAYS_KNOWN, NUMBER, number_words
from ...messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage

if TYPE_CHECKING:
    from ...tool import ToolDefinition

__all__ = [
    "TRACE_QUESTION",
    "Source",
    "Untraced",
    "arithmetic_value",
    "computing_tools",
    "listed",
    "number_readings",
    "question_text",
    "shortened",
    "sources",
    "trace_question",
    "untraced",
    "unworked",
    "unworked_question",
    "word_set",
    "words",
    "written_value",
]

TRACE_QUESTION = (
    "Your answer has {numbers}, which no message and no tool result gives:\n{reasons}\n"
    "{ask} If you are sure {it_is} right, give the same answer again."
)
"""The question about an answer's numbers without a source; each reason names a number and its nearest
source, and `ask` what to do (`COMPUTE`, `LOOK_UP`, or "Correct your answer.")."""
COMPUTE = "Call {tools} to compute {what}, and answer with its result."
LOOK_UP = "Do not work {it} out in your head: call {tools} now{given}."
SCALE = "{origin}; your {written} is that {how} {factor}."
IN_THE_HEAD = "your {written} is {a} {op} {b} ({origins}), worked out in your head."
NEAREST = "the nearest number given: {origin}."
WRITTEN_OUT = "your {written} is `{equation}` worked out in your head."
"""The reason of a number an answer writes as the result of its own arithmetic (`... = 252`)."""
UNWORKED = (
    "Your answer writes {expressions} without working {it} out. {ask} If the answer is meant to be written "
    "that way, give the same answer again."
)
"""The question about an answer that leaves arithmetic for the reader (`38125/6`)."""
WORKED = (
    "Your answer writes {expressions} without working {it} out, but {found}. Answer with {that}, not {written}. "
    "If the answer is meant to be written that way, give the same answer again."
)
"""The question about undone arithmetic whose value a tool result already gives (a calculator that returns
`38125/6 (≈ 6354.17)`): it points at that value."""
NOTHING_NEAR = "nothing in the conversation gives a number near it."

_SCALE_WORDS = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "trillion": 1e12,
}
_SCALE = re.compile(r"\s?(thousand|million|billion|trillion|mn|bn|k)\b", re.IGNORECASE)
_PERCENT = re.compile(r"\s*(?:%|percent\b|per cent\b)")
_PLAIN = re.compile(r"\d+(?:\.\d+)?")
_LIST_MARK = re.compile(r"[.)] ")
_MAX_OPERANDS = 200
_EXPRESSION = re.compile(
    rf"(?<![\w.,/:-])\(?(?:{NUMBER.pattern})(?:\s*(?:[*×÷/+]|\s-\s)\s*\(?(?:{NUMBER.pattern})\)?)+"
    r"(?![\w/:-]|[.,]\d|\s*%)(?!\s*\(?\s*[=≈])"
)
"""Arithmetic written out in an answer and not worked out: two or more numbers joined by `*`, `×`, `÷`, `/`,
`+` or a spaced `-`, with no `=` or `≈` after (`38125/6`, `240 * 1.085`; `135/58 (≈ 2.33)` is worked out); not a date (`12/05/2026` is read whole
and has two slashes), a fraction (`1/2`, see `_worth_working_out`), a range (`10-12`) or a percentage."""
_EQUALS = re.compile(r"=\s*$")
_CLAUSE_END = re.compile(r"[.!?:;](?:\s|$)|\n|=")
"""Where the arithmetic before an `=` starts: after a sentence, a line, a colon or an earlier `=`."""
_COMPUTES = re.compile(r"calculat|comput|evaluat|arithmetic|\bmath|expression|formula", re.IGNORECASE)
_WORD_PART = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Source:
    """A number the conversation gives, and where."""

    value: float
    written: str
    origin: str
    """Where, as a phrase with the number: "`get_employee` returned 93840", "the question gives 12"."""
    digits: bool = True
    """Written in digits (not a number word such as `half`)."""


@dataclass(frozen=True)
class Untraced:
    """A number of an answer without a source, and why: its nearest source."""

    written: str
    reason: str
    computation: str = ""
    """The two given numbers it combines (`76250 / 12`), when it is that: a tool that computes should."""
    invented: bool = False
    """Nothing given is near it (no scale slip, no step): a tool not used yet may give it."""


def words(text: str) -> list[str]:
    """`text`'s words: accents stripped, casefolded, split on what is not a letter or a digit, a plural's
    trailing `s` (`es` after s, x, z, ch, sh) dropped."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return [_singular(w) for w in _WORD_PART.findall(plain.casefold()) if w != "s"]  # `'s` is no word


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("es") and re.search(r"(?:s|x|z|ch|sh)es$", word):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def word_set(text: str) -> frozenset[str]:
    """`words(text)` as a set: what a value is compared with (order does not matter)."""
    return frozenset(words(text))


def sources(messages: Sequence[Message], before: int) -> list[Source]:
    """The numbers the conversation gives, with where: system and user messages (not agentkit's feedback),
    tool results (not errors), and answers before index `before` (earlier runs); each number also as its
    percentage fraction and scaled by a scale word written after it."""
    found: list[Source] = []
    for index, message in enumerate(messages):
        origin = _origin(message, index < before)
        if origin is None:
            continue
        text = message.content if not isinstance(message, UserMessage) else message.text
        found.extend(_numbers_of(text, origin))
    return found


def _origin(message: Message, earlier_run: bool) -> str | None:
    if isinstance(message, UserMessage):
        return None if message.feedback else "the question gives {}"
    if isinstance(message, ToolMessage):
        return None if message.is_error else f"`{message.name}` returned {{}}"
    if isinstance(message, SystemMessage):
        return "the instructions give {}"
    if isinstance(message, AssistantMessage) and earlier_run:
        return "an earlier answer gave {}"
    return None


def _numbers_of(text: str, origin: str) -> Iterator[Source]:
    # both readings of `1,234` in JSON: a thousands separator, or a list (JSON results write `[1,234]`);
    # in prose, `3,870` is one number
    for pattern in (NUMBER, _PLAIN) if text.lstrip()[:1] in ("[", "{") else (NUMBER,):
        for match in pattern.finditer(text):
            written = match.group()
            value = float(written.replace(",", ""))
            yield Source(value=value, written=written, origin=origin.format(written))
            if _PERCENT.match(text, match.end()):
                yield Source(value=value / 100, written=f"{written}%", origin=origin.format(f"{written}%"))
            scale = _SCALE.match(text, match.end())
            if scale:
                shown = f"{written} {scale.group(1)}"
                factor = _SCALE_WORDS[scale.group(1).lower()]
                yield Source(value=value * factor, written=shown, origin=origin.format(shown))
    for word, values in number_words(text):
        for value in values:
            yield Source(value=float(value), written=word, origin=origin.format(word), digits=False)


def number_readings(text: str) -> Iterator[tuple[str, int, list[tuple[float, float]]]]:
    """Each number of an answer as written, where it ends, and the values it may stand for with the tolerance
    of each (half a unit of its last decimal written, scaled with it; a round number of two or more
    significant digits, `94,000`, is rounded to its last one). A list's numbering (`2. `, `3) ` at a line's
    start) is no claim."""
    for match in NUMBER.finditer(text):
        if _list_mark(text, match.start(), match.end()):
            continue
        written = match.group()
        digits = written.replace(",", "")
        value = float(digits)
        tolerance = 0.5 * 10 ** -len(digits.partition(".")[2]) + 1e-9
        zeros = len(digits) - len(digits.rstrip("0")) if "." not in digits else 0
        if zeros >= 3 and len(digits) - zeros >= 2:
            tolerance = 0.5 * 10**zeros
        readings = [(value, tolerance)]
        if _PERCENT.match(text, match.end()):
            readings.append((value / 100, tolerance / 100))
        scale = _SCALE.match(text, match.end())
        if scale:
            factor = _SCALE_WORDS[scale.group(1).lower()]
            readings.append((value * factor, tolerance * factor))
        yield written, match.end(), readings


def _list_mark(text: str, start: int, end: int) -> bool:
    line = text[text.rfind("\n", 0, start) + 1 : start]
    return not line.strip() and _LIST_MARK.match(text, end) is not None


def untraced(text: str, given: Sequence[Source], asked: frozenset[str] = frozenset()) -> list[Untraced]:
    """The numbers of an answer `text` that no `given` source supports (restated as the module says), each
    once, leaving out those `asked` about already, each with the reason it gives for its nearest source."""
    values = [s.value for s in given]
    out: list[Untraced] = []
    for written, end, readings in number_readings(text):
        if written in asked or any(u.written == written for u in out):
            continue
        if any(_near(v, tol, ALWAYS_KNOWN) or _near(v, tol, values) for v, tol in readings):
            continue
        equation = _written_before(text, end - len(written))
        if equation:
            reason = WRITTEN_OUT.format(written=written, equation=equation)
            out.append(Untraced(written=written, reason=reason, computation=equation))
            continue
        out.append(_diagnosed(written, readings[0], given))
    return out


def _written_before(text: str, start: int) -> str:
    """The arithmetic an answer writes before `= number` at `start` (`240 euros + (240 euros * 8.5%) = 252`),
    its words left out (`240 + (240 * 8.5%)`): two numbers and an operator at least; else empty."""
    equals = _EQUALS.search(text, max(0, start - 3), start)
    if equals is None:
        return ""
    begin = max((m.end() for m in _CLAUSE_END.finditer(text, 0, equals.start())), default=0)
    left = re.sub(r"[^\d\s.,()+*/×÷%-]", " ", text[begin : equals.start()])
    left = re.sub(r"\s+", " ", re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", left))).strip(" ,.")
    numbers = NUMBER.findall(left)
    return left if len(numbers) >= 2 and re.search(r"[+*/×÷]|\s-\s", left) else ""


def _near(value: float, tolerance: float, known: Iterable[float]) -> bool:
    return any(abs(k - value) <= tolerance for k in known)


def _diagnosed(written: str, reading: tuple[float, float], given: Sequence[Source]) -> Untraced:
    value, tolerance = reading
    operands = _operands(given)
    # a slip of scale needs digits enough to tell (`93.84` is 93840 / 1000; `3` is not 25 / 10)
    for power in range(1, 7) if abs(value) >= 20 * tolerance else ():
        factor = 10**power
        for source in operands:
            if abs(source.value / factor - value) <= tolerance:
                how = "divided by"
            elif abs(source.value * factor - value) <= tolerance:
                how = "multiplied by"
            else:
                continue
            reason = SCALE.format(origin=source.origin, written=written, how=how, factor=factor)
            return Untraced(written=written, reason=reason)
    step = _one_step(value, tolerance, operands) if _step_tells(value, tolerance, len(operands)) else None
    if step is not None:
        a, op, b = step
        origins = "; ".join(dict.fromkeys([a.origin, b.origin]))
        reason = IN_THE_HEAD.format(written=written, a=a.written, op=op, b=b.written, origins=origins)
        return Untraced(written=written, reason=reason, computation=f"{a.written} {op} {b.written}")
    nearest = min(operands, key=lambda s: _distance(s.value, value), default=None)
    reason = NEAREST.format(origin=nearest.origin) if nearest is not None else NOTHING_NEAR
    return Untraced(written=written, reason=reason, invented=True)


def _step_tells(value: float, tolerance: float, operands: int) -> bool:
    """Whether a value written to this `tolerance` can be told to be one step from two of `operands` given
    numbers: the steps that would hit it by chance (six per pair, each as if spread evenly up to twice the
    value, covering `2 * tolerance` of it) number two at most. With four numbers given, `37` is 30 + 7;
    with fifteen, `2.3` is some pair's quotient by chance (`2025 / 870`), and the question would name a
    wrong computation."""
    operands = min(operands, _MAX_OPERANDS)
    pairs = operands * (operands + 1) / 2
    return value != 0 and pairs * 6 * tolerance / abs(value) <= 2


def _operands(given: Sequence[Source]) -> list[Source]:
    """The sources a value may be derived from: written in digits, not 0 or 1, each value once."""
    seen: set[float] = set()
    out: list[Source] = []
    for source in given:
        if source.digits and source.value not in ALWAYS_KNOWN and source.value not in seen:
            seen.add(source.value)
            out.append(source)
    return out


def _one_step(
    value: float, tolerance: float, operands: Sequence[Source]
) -> tuple[Source, str, Source] | None:
    operands = operands[:_MAX_OPERANDS]  # a long result: its first numbers (the cost is their square)
    for index, a in enumerate(operands):
        for b in operands[index:]:
            steps = [
                (a, "+", b, a.value + b.value),
                (a, "*", b, a.value * b.value),
                (a, "-", b, a.value - b.value),
                (b, "-", a, b.value - a.value),
                (a, "/", b, a.value / b.value),
                (b, "/", a, b.value / a.value),
            ]
            for x, op, y, result in steps:
                if abs(result - value) <= tolerance:
                    return x, op, y
    return None


def _distance(a: float, b: float) -> float:
    """How far apart two numbers are, relatively (so 0.92 is nearer 0.9 than 12 is to 10)."""
    return abs(math.log10(abs(a) + 1e-12) - math.log10(abs(b) + 1e-12)) + abs(a - b) / max(abs(a), abs(b))


def unworked(text: str, asked: frozenset[str] = frozenset()) -> list[str]:
    """The arithmetic an answer writes out without its result (`_EXPRESSION`), each once, leaving out what
    was `asked` about already and what a date reads like (two or more slashes)."""
    out: list[str] = []
    for match in _EXPRESSION.finditer(text):
        expression = match.group().strip()
        if expression in asked or expression in out or not _worth_working_out(expression):
            continue
        out.append(expression)
    return out


def _worth_working_out(expression: str) -> bool:
    """Not a date (two or more slashes) and, when `/` is its only operator, not a fraction or an idiom
    (`1/2`, `24/7`, `3.8/3.9`): a division left undone starts with a number of three digits or more."""
    if expression.count("/") >= 2:
        return False
    if re.search(r"[*×÷+]|\s-\s", expression):
        return True
    first = NUMBER.search(expression)
    return first is not None and abs(float(first.group().replace(",", ""))) >= 100


def unworked_question(
    expressions: Sequence[str], computes: Sequence[str], given: Sequence[Source] = ()
) -> str:
    """`UNWORKED` for the `expressions` `unworked` found, asking for one of the tools that compute; or, when
    a tool result among `given` holds each one's value (a number within half a unit of its last decimal),
    `WORKED`, pointing at those values."""
    worked = [_worked_in(e, given) for e in expressions]
    if all(worked):
        found = [
            f"{w.origin}, which is `{e}` worked out" for e, w in zip(expressions, worked, strict=True) if w
        ]
        return WORKED.format(
            expressions=listed([f"`{e}`" for e in expressions]),
            it="it" if len(expressions) == 1 else "them",
            found=listed(found),
            that="that number" if len(expressions) == 1 else "those numbers",
            written="the expression" if len(expressions) == 1 else "the expressions",
        )
    ask = (
        f"Call {_either(computes)} to compute {'it' if len(expressions) == 1 else 'each'}, and answer with the "
        "result."
        if computes
        else "Work it out and answer with the result."
    )
    shown = listed([f"`{e}`" for e in expressions])
    return UNWORKED.format(expressions=shown, it="it" if len(expressions) == 1 else "them", ask=ask)


def _worked_in(expression: str, given: Sequence[Source]) -> Source | None:
    """The first tool result's number among `given` that is `expression`'s value, if any."""
    value = arithmetic_value(expression)
    if value is None:
        return None
    for source in given:
        decimals = len(source.written.replace(",", "").partition(".")[2])
        if source.origin.startswith("`") and abs(source.value - value) <= 0.5 * 10**-decimals + 1e-9:
            return source
    return None


def arithmetic_value(expression: str) -> float | None:
    """The value of arithmetic as `unworked` finds it (numbers, `+ - * / × ÷`, parentheses), or `None`."""
    text = expression.replace("×", "*").replace("÷", "/").replace(",", "")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return None
    return _value_of(tree.body)


def _value_of(node: ast.expr) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _value_of(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATIONS:
        left, right = _value_of(node.left), _value_of(node.right)
        if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
            return None
        return float(_OPERATIONS[type(node.op)](left, right))
    return None


_OPERATIONS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def shortened(text: str, limit: int = 80) -> str:
    """`text` cut to `limit` characters, `...` marking the cut: a result quoted in a question."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def listed(items: Sequence[str], word: str = "and") -> str:
    """`a`, `a and b`, `a, b and c` (or with another `word`): items as a question lists them."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} {items[-1]}"


def question_text(messages: Sequence[Message], start: int) -> str:
    """The run's question: the text of its user messages from index `start` (not agentkit's feedback)."""
    return "\n".join(m.text for m in messages[start:] if isinstance(m, UserMessage) and not m.feedback)


def written_value(written: str) -> float:
    """A number as written (`1,240.5`), as a float."""
    return float(written.replace(",", ""))


def computing_tools(tools: Mapping[str, ToolDefinition]) -> list[str]:
    """The tools that compute (by what their name or description says: calculate, evaluate, math...)."""
    return [
        name for name, t in tools.items() if _COMPUTES.search(f"{name.replace('_', ' ')} {t.description}")
    ]


def trace_question(
    found: Sequence[Untraced], computes: Sequence[str], lookups: Sequence[str] = (), given: Sequence[str] = ()
) -> str:
    """`TRACE_QUESTION` for the numbers `found`: asking for one of the tools that compute (`computes`) when a
    number was worked out in the head; when one has no near source, for the tools that compute or look up
    (`lookups`: those not used yet) with the numbers `given` so far."""
    shown = [u.written for u in found]
    numbers = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" and {shown[-1]}"
    reasons = "\n".join(f"- {u.written}: {u.reason}" for u in found)
    asks: list[str] = []
    computations = [u.computation for u in found if u.computation]
    if computations:
        what = " and ".join(computations)
        asks.append(
            COMPUTE.format(tools=_either(computes), what=what) if computes else f"Compute {what} with a tool."
        )
    tools = [*computes, *(n for n in lookups if n not in computes)]
    invented = [u for u in found if u.invented]
    if tools and invented:
        at_hand = f", with the numbers you have ({', '.join(given)})" if given else ""
        asks.append(
            LOOK_UP.format(it="it" if len(invented) == 1 else "them", tools=_either(tools), given=at_hand)
        )
    return TRACE_QUESTION.format(
        numbers=numbers,
        reasons=reasons,
        ask=" ".join(asks) or "Correct your answer.",
        it_is="it is" if len(found) == 1 else "they are",
    )


def _either(names: Sequence[str]) -> str:
    return listed([f"`{n}`" for n in names], "or")
