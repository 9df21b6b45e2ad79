"""A time a tool gives in UTC, answered as the local time the question asks for.

A tool gives `"departure_utc": "06:45"`; asked "at what local Dubai time does it depart?", a small model
answers "06:45 local time": the time traces (a tool gave it), so nothing else asks. With
`RunPolicy(trace_numbers=True)`, a tool result's times carry UTC when a JSON key names it (`departure_utc`,
`time_gmt`) or `UTC`/`GMT`/`Z` follows the time (`06:45 UTC`). When the question asks for a local time
(local, hora local, heure locale, Ortszeit, 現地, स्थानीय...) and the answer writes such a time (`06:45`,
`6:45`) without saying UTC next to it, it gets one question naming the source and the tools that give an
offset or a time zone; when a result gives the place's offset (`UTC+4:00`), the question works out the local
time instead, and a time asked about before the offset came is asked about once more. Each time is asked
about once (twice with an offset between); the hours and minutes of the answer's times are then this
check's, not number tracing's (`zoned_numbers`: 10:45 is 06:45 moved by an offset).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from ...messages import Message, ToolMessage
from ._tracing import listed, question_text, words
from ._units import json_result

if TYPE_CHECKING:
    from ...tool import ToolDefinition

__all__ = [
    "ZONE_QUESTION",
    "given_offset",
    "offset_tools",
    "utc_times",
    "zone_question",
    "zone_slips",
    "zoned_numbers",
]

ZONE_QUESTION = (
    "Your answer gives {time} as the local time, but {origin}, in UTC. {ask} If the time is right as "
    "written, give the same answer again."
)
"""The question about a UTC time answered as a local one."""
OFFSET_ASK = "{offset_origin}: {utc} UTC is {local} there. Answer with the local time."
"""What the zone question asks when a result gives the place's offset: the local time, worked out."""
_OFFSET = re.compile(r"\b(?:UTC|GMT)\s?([+\-−])\s?(\d{1,2})(?::?([0-5]\d))?(?!\d)")

_TIME = re.compile(r"(?<![\d:.])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])")
_UTC_AFTER = re.compile(r"\s?(?:UTC|GMT|Z)\b")
_ASKS_LOCAL = re.compile(
    r"\blocal\b|\blocale\b|\blokal|\bortszeit\b|\bora locale\b|\bhora local\b|現地|地元|当地|स्थानीय",
    re.IGNORECASE,
)
_OFFSETS = re.compile(r"offset|time ?zone|timezone|\butc\b", re.IGNORECASE)


def utc_times(messages: Sequence[Message], start: int) -> list[tuple[str, str]]:
    """The times this run's tool results give in UTC: each as (hours:minutes, where it comes from)."""
    found: list[tuple[str, str]] = []
    for message in messages[start:]:
        if not isinstance(message, ToolMessage) or message.is_error:
            continue
        data = json_result(message.content)
        if data is not None:
            found.extend((t, f"`{message.name}` gives {key} {shown}") for key, shown, t in _keyed(data, ""))
            continue
        for match in _TIME.finditer(message.content):
            if _UTC_AFTER.match(message.content, match.end()):
                found.append((_normal(match), f"`{message.name}` gives {match.group()} UTC"))
    return found


def _keyed(data: object, key: str) -> Iterator[tuple[str, str, str]]:
    if isinstance(data, dict):
        for name, value in data.items():
            named = str(name) if {"utc", "gmt"} & set(words(str(name))) else ""
            yield from _keyed(value, named or key)
    elif isinstance(data, list):
        for value in data:
            yield from _keyed(value, key)
    elif key and isinstance(data, str):
        for match in _TIME.finditer(data):
            yield key, match.group(), _normal(match)


def zone_slips(
    messages: Sequence[Message], start: int, asked: frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    """When the run's question asks for a local time: the answer's times that a tool gave in UTC, written
    without UTC next to them, each as (the time as written, where it comes from); not one `asked` about."""
    question = question_text(messages, start)
    if not messages or not _ASKS_LOCAL.search(question):
        return []
    given = dict(reversed(utc_times(messages, start)))  # the first source of each time
    answer = str(messages[-1].content)
    out: list[tuple[str, str]] = []
    for match in _TIME.finditer(answer):
        written = match.group()
        origin = given.get(_normal(match))
        if not origin or written in asked or any(w == written for w, _ in out):
            continue
        if not _UTC_AFTER.match(answer, match.end()):
            out.append((written, origin))
    return out


def zoned_numbers(messages: Sequence[Message], start: int) -> frozenset[str]:
    """When the run's question asks for a local time and a tool gave a UTC time: the hours and minutes of
    the answer's times, as written, which number tracing leaves to this check (a local time is a UTC time
    moved by an offset, not a number a tool gives)."""
    question = question_text(messages, start)
    if not messages or not _ASKS_LOCAL.search(question) or not utc_times(messages, start):
        return frozenset()
    return frozenset(part for m in _TIME.finditer(str(messages[-1].content)) for part in m.groups())


def given_offset(messages: Sequence[Message], start: int) -> tuple[str, int] | None:
    """The UTC offset this run's tool results give (`UTC+4:00`, `GMT-3`), when they give one and only one:
    (where it comes from, in minutes); else `None`."""
    found: dict[int, str] = {}
    for message in messages[start:]:
        if not isinstance(message, ToolMessage) or message.is_error:
            continue
        for match in _OFFSET.finditer(message.content):
            sign = -1 if match.group(1) in "-−" else 1
            minutes = sign * (int(match.group(2)) * 60 + int(match.group(3) or 0))
            found.setdefault(minutes, f"`{message.name}` gives {match.group()}")
    return next(((origin, minutes) for minutes, origin in found.items()), None) if len(found) == 1 else None


def zone_question(
    slips: Sequence[tuple[str, str]], offsets: Sequence[str], offset: tuple[str, int] | None = None
) -> str:
    """`ZONE_QUESTION` for the first of `zone_slips`: with the place's `offset` given (`given_offset`),
    the local time worked out; else asking for the tools that give an offset."""
    written, origin = slips[0]
    if offset is not None:
        hours, minutes = (int(part) for part in written.split(":"))
        local = (hours * 60 + minutes + offset[1]) % (24 * 60)
        ask = OFFSET_ASK.format(
            offset_origin=offset[0][0].upper() + offset[0][1:],
            utc=written,
            local=f"{local // 60:02d}:{local % 60:02d}",
        )
        return ZONE_QUESTION.format(time=written, origin=origin, ask=ask)
    offsets = [n for n in offsets if f"`{n}`" not in origin]  # not the tool that gave the time
    if offsets:
        tools = listed([f"`{n}`" for n in offsets], "or")
        ask = f"Find the place's UTC offset with {tools}, add it, and answer with the local time."
    else:
        ask = "Add the place's UTC offset and answer with the local time."
    return ZONE_QUESTION.format(time=written, origin=origin, ask=ask)


def offset_tools(tools: Mapping[str, ToolDefinition]) -> list[str]:
    """The tools that give a UTC offset or a time zone (by their name or description)."""
    return [n for n, t in tools.items() if _OFFSETS.search(f"{n.replace('_', ' ')} {t.description}")]


def _normal(match: re.Match[str]) -> str:
    return f"{int(match.group(1)):02d}:{match.group(2)}"
