"""A prompted reply that starts writing its calls again: where to cut it.

A small model that writes several calls, one per line, sometimes does not stop: after the calls it meant it
writes the same calls again, in a loop, until the reply's token cap (measured on the local model: 33 calls,
two of them distinct, 1,024 tokens and 52 s for a reply whose first 60 tokens held everything). With a
profile's `cut_repeated_calls`, a streamed reply is read line by line and cut where a line repeats a call
an earlier line of the same reply made (the same tool, the same arguments); the request is closed there,
so the server stops writing.

Only whole lines count: a call split over lines, or several calls on one line, is never cut.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["repeated_call_at"]


def repeated_call_at(text: str) -> int | None:
    """Where in `text` the first whole line that repeats an earlier call line begins, or `None`.

    A call line is a line holding one JSON object (blanks around it ignored); two are the same call when
    they hold equal objects (`{"a": 1, "b": 2}` and `{"b":2,"a":1}` are one call). The last line counts only
    once it ends (a line break follows it).
    """
    seen: set[str] = set()
    offset = 0
    for line in text.splitlines(keepends=True):
        if not line.endswith(("\n", "\r")):
            break  # still being written
        key = _call_key(line.strip())
        if key is not None:
            if key in seen:
                return offset
            seen.add(key)
        offset += len(line)
    return None


def _call_key(line: str) -> str | None:
    if not (line.startswith("{") and line.endswith("}")):
        return None
    try:
        value: Any = json.loads(line)
    except ValueError:
        return None
    return json.dumps(value, sort_keys=True) if isinstance(value, dict) else None
