"""Hostile replies and hostile tool results, drawn from a seeded `random.Random`, for the fuzz tests
(test_fuzz_hostile.py). The tools are module-level, so that `agentkit batch --tools tests/hostile.py` loads
the same ones.

A reply is what a careless or adversarial model may send: numbers of thousands of digits, nesting thousands
deep, `NaN` / `Infinity` / `1e400`, lone surrogates (raw and escaped), values of the wrong type, arguments that
are not JSON or not an object, empty and unknown tool names, 500 calls at once. A result is what a tool may
return: lone surrogates, an object whose `str()` raises, a huge string, bytes, a cyclic or 3,000-deep
structure, an exception whose `str()` raises.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from agentkit import AssistantMessage, ModelRetry, TextPart, ToolCall, tool

LONE = "\udcff"
"""A lone surrogate: what `os.listdir` gives for the byte 0xff of a file name that is not UTF-8."""


class Unprintable:
    """An object whose `str()` and `repr()` raise."""

    def __str__(self) -> str:
        raise RuntimeError("no text for you")

    __repr__ = __str__


class UnprintableError(Exception):
    """An exception whose `str()` raises."""

    def __str__(self) -> str:
        raise RuntimeError("no text for this error")


def _deep(depth: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(depth):
        node.append([])
        node = node[0]
    return root


def _cyclic() -> list[Any]:
    items: list[Any] = []
    items.append(items)
    return items


def _raise(error: BaseException) -> Any:
    raise error


RESULTS: list[Callable[[], object]] = [
    lambda: f"report-{LONE}.txt",
    Unprintable,
    lambda: "x" * 300_000,
    lambda: b"\xff\xfe\x00 bytes",
    lambda: _deep(3000),
    _cyclic,
    lambda: {f"k{LONE}": [f"v{LONE}", 1.5]},
    lambda: _raise(UnprintableError()),
    lambda: _raise(FileNotFoundError(2, "No such file or directory", f"caf{LONE}.txt")),
    lambda: {1, 2, 3},
    lambda: float("nan"),
    lambda: 10**5000,
    object,
    lambda: [TextPart(text=f"part {LONE}"), TextPart(text="two")],
    lambda: _raise(ModelRetry(f"try again, not {LONE}")),
    lambda: {"nested": [{"deep": _deep(200)}]},
    lambda: "\x00\x1b[31mred\u2028line\ufeff",
]
"""Hostile return values (or raises), by kind."""


@tool
def hostile(kind: int) -> object:
    """Return hostile result number `kind`.

    Args:
        kind: Which result.
    """
    return RESULTS[kind % len(RESULTS)]()


@tool
async def hostile_async(kind: int) -> object:
    """Return hostile result number `kind`, from an async tool.

    Args:
        kind: Which result.
    """
    return RESULTS[kind % len(RESULTS)]()


@tool
def whole(n: int) -> str:
    """Echo a whole number.

    Args:
        n: The number.
    """
    return f"whole {n % 1000}"


@tool
async def number(x: float) -> str:
    """Echo a number.

    Args:
        x: The number.
    """
    return f"number {x}"


@tool
def text(s: str) -> str:
    """Echo a text.

    Args:
        s: The text.
    """
    return f"text {s[:50]}"


@tool
def anything(value: Any = None) -> str:
    """Take any JSON value.

    Args:
        value: The value.
    """
    return f"took a {type(value).__name__}"


TOOLS = [hostile, hostile_async, whole, number, text, anything]
CHEAP = ["whole", "number", "text", "anything", "nope", ""]


def _digits(rng: random.Random) -> str:
    return "9" * rng.choice([4300, 4301, 5000, 20000])


def _nested(rng: random.Random) -> str:
    depth = rng.choice([50, 99, 100, 101, 1000, 5000])
    if rng.random() < 0.5:
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


ARGUMENTS: list[tuple[str, Callable[[random.Random], str]]] = [
    ("whole", lambda rng: '{"n": ' + rng.choice(["", "-"]) + _digits(rng) + "}"),
    ("number", lambda rng: '{"x": ' + _digits(rng) + "." + _digits(rng)[:50] + "}"),
    (
        "number",
        lambda rng: (
            '{"x": '
            + rng.choice(
                ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", '"NaN"', '"1e400"', '"inf"', "1e308"]
            )
            + "}"
        ),
    ),
    ("anything", lambda rng: '{"value": ' + _nested(rng) + "}"),
    ("anything", lambda rng: '{"value": [1, {"b": [NaN, Infinity]}]}'),
    ("text", lambda rng: json.dumps({"s": f"file-{LONE}"}, ensure_ascii=False)),
    ("text", lambda rng: '{"s": "\\udcff\\ud800"}'),
    (
        "whole",
        lambda rng: rng.choice(
            ["[1, 2]", '"str"', "42", "null", '{"n": "abc"}', '{"n": [1]}', '{"n": {"a": 1}}', '{"n": true}']
        ),
    ),
    ("whole", lambda rng: '{"n": 1, "extra": ' + _digits(rng) + "}"),
    (
        "number",
        lambda rng: rng.choice(
            ['{"x": ', "{{{", "", '{"x": 1}{"x": 2}', "{'x': 1}", '```json\n{"x": 1}\n```']
        ),
    ),
    ("", lambda rng: "{}"),
    ("nope", lambda rng: '{"x": 1}'),
    (f"te{LONE}xt", lambda rng: '{"s": "a"}'),
    ("hostile", lambda rng: json.dumps({"kind": rng.randrange(len(RESULTS))})),
    ("hostile_async", lambda rng: json.dumps({"kind": rng.randrange(len(RESULTS))})),
    ("hostile", lambda rng: json.dumps({"kind": rng.randrange(len(RESULTS))})),
]
"""Hostile calls: a tool name and a function of the random source giving the arguments' text."""


def hostile_call(rng: random.Random, call_id: str) -> ToolCall:
    name, arguments = rng.choice(ARGUMENTS)
    return ToolCall(id=call_id, name=name, arguments=arguments(rng))


def hostile_reply(rng: random.Random, turn: int) -> AssistantMessage:
    """One hostile turn: one to five hostile calls, sometimes 500 (cheap ones), sometimes with text holding
    a lone surrogate."""
    if rng.random() < 0.03:
        calls = [
            ToolCall(id=f"t{turn}c{i}", name=name, arguments='{"n": 1, "x": 2, "s": "a"}')
            for i, name in enumerate(rng.choice(CHEAP) for _ in range(500))
        ]
    else:
        calls = [hostile_call(rng, f"t{turn}c{i}") for i in range(rng.randint(1, 5))]
    content = rng.choice(["", "", "thinking", f"about {LONE}"])
    return AssistantMessage(content=content, tool_calls=calls)


def hostile_script(rng: random.Random, *, turns: int = 4) -> list[AssistantMessage | str]:
    """A run's replies: one to `turns` hostile turns, then an answer (sometimes holding a lone surrogate)."""
    replies: list[AssistantMessage | str] = [
        hostile_reply(rng, turn) for turn in range(rng.randint(1, turns))
    ]
    replies.append(rng.choice(["done", f"done {LONE}", "done \ufffd"]))
    return replies
