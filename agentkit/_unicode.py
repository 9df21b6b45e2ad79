"""Text that can be written as UTF-8: lone surrogates (U+D800..U+DFFF) replaced with U+FFFD.

Python strings may hold lone surrogates (a file name that is not UTF-8 decodes to them, and so does a JSON
`"\\udcff"` escape); UTF-8 cannot encode them, so a request, a transcript's JSON or a session row holding one
would fail to be written. Each edge that writes text replaces them: tool results (the model is told,
`_tool_calls`), requests (`models._chat_format`), `messages_to_json`, the command line's output.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["REPLACEMENT", "replace_surrogates", "valid_unicode"]

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_surrogates(text: str) -> tuple[str, int]:
    """`text` with each lone surrogate replaced by U+FFFD, and how many were replaced."""
    if text.isascii():
        return text, 0
    replaced, count = _SURROGATE.subn(REPLACEMENT, text)
    return (replaced, count) if count else (text, 0)


def valid_unicode(value: Any) -> Any:
    """`value` (JSON-like: dicts, lists, strings, ...) with lone surrogates replaced in every string and key;
    `value` itself when it holds none."""
    if isinstance(value, str):
        return replace_surrogates(value)[0]
    if isinstance(value, dict):
        items = [(valid_unicode(k), valid_unicode(v)) for k, v in value.items()]
        if all(k is a and v is b for (k, v), (a, b) in zip(items, value.items(), strict=True)):
            return value
        return dict(items)
    if isinstance(value, list):
        values = [valid_unicode(v) for v in value]
        return value if all(v is w for v, w in zip(values, value, strict=True)) else values
    return value
