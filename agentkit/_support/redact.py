"""Secrets taken out of text, bytes and decoded JSON, in whatever form a server sends them back.

A server that refuses a key often quotes it in its error body ("Invalid API key: sk-or-v1-..."), and not
always as plain text: JSON may escape it (`\\u0073\\u006b...`), a URL percent-encode it (`%73%6B...`), a
body arrive as UTF-16 (a NUL byte after each character), the key travel as base64 (`Basic ...`) or hex.
`redact` finds all of these, and any run of `MIN_FRAGMENT` or more consecutive characters of the key (a
truncated key still leaks), also with its separators (`-`, `_`, `.`...) dropped.

How: the text is read as a sequence of characters, each escape decoded to the character it stands for,
NUL bytes and separators skipped, anything else breaking a run; the key and its base64 and hex forms are
searched for in that sequence (ignoring case), and each hit is mapped back to the span of the original
text it came from. Text is fast to check first: the slow reading happens only when a piece of a key (or
an escape) is there at all.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

__all__ = [
    "MIN_FRAGMENT",
    "MIN_SECRET",
    "REDACTED_KEY",
    "header_secrets",
    "is_secret_name",
    "redact",
    "redact_bytes",
    "redact_value",
]

REDACTED_KEY = "[API key]"
MIN_SECRET = 4
"""Shorter values are not treated as secrets (they would match everywhere)."""
MIN_FRAGMENT = 12
"""A run of this many characters of a longer secret counts as the secret (a truncated key still leaks)."""

_SKIPPED = frozenset("\x00-_.~+/=:\\")
"""Characters a run of a key's characters may hold or lose: separators, base64 symbols, UTF-16/32's NULs,
the backslashes of escapes escaped again."""
_BREAK = "\x01"
"""Stands for any other character in the sequence searched: no run crosses it."""
_TOKEN = re.compile(
    r"\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|%[0-9a-fA-F]{2}|&#[xX][0-9a-fA-F]{1,6};|&#[0-9]{1,7};|.",
    re.DOTALL,
)
_ESCAPE_HINT = re.compile(r"\\[ux]|%[0-9a-fA-F]{2}|&#|\x00")
_SECRET_NAME = re.compile(r"auth|key|token|secret|password|passwd|credential|signature|sig$|cookie", re.I)


def is_secret_name(name: str) -> bool:
    """Whether a header or query parameter named `name` carries a key or token."""
    return bool(_SECRET_NAME.search(name))


def header_secrets(headers: Iterable[tuple[str, str]]) -> Iterator[str]:
    """The secret values among request headers (`Authorization: Bearer <key>` gives the key, and the whole)."""
    for name, value in headers:
        if is_secret_name(name):
            yield value
            scheme, _, credential = value.partition(" ")
            if credential and scheme.isalpha():
                yield credential.strip()


@lru_cache(maxsize=64)
def _forms(secret: str) -> tuple[str, ...]:
    """What to look for, for `secret`: itself, its base64 (at each of the three byte alignments, without
    the edge characters its neighbours share) and its hex, each lower-cased without skipped characters (a
    secret with a space or other break in it is found in its base64 and hex forms only)."""
    raw = secret.encode("utf-8", "surrogatepass")
    forms = [secret]
    for shift in range(3):
        encoded = base64.b64encode(b"\x00" * shift + raw).decode("ascii")
        start = -(-8 * shift // 6)
        end = 8 * (shift + len(raw)) // 6
        forms.append(encoded[start:end])
    forms.append(raw.hex())
    found = []
    for form in forms:
        flat = "".join(c for c in form.lower() if c not in _SKIPPED)
        if len(flat) >= MIN_SECRET and flat.isalnum() and flat not in found:
            found.append(flat)
    return tuple(found)


@lru_cache(maxsize=64)
def _grams(form: str) -> tuple[re.Pattern[str], int, dict[str, list[int]]]:
    """A pattern finding the start of `form` in a sequence: any `MIN_FRAGMENT` characters of it (all of it
    when shorter); that length; and where each such piece starts in `form`."""
    size = min(len(form), MIN_FRAGMENT)
    starts: dict[str, list[int]] = {}
    for i in range(len(form) - size + 1):
        starts.setdefault(form[i : i + size], []).append(i)
    pattern = re.compile("|".join(re.escape(g) for g in sorted(starts, key=len, reverse=True)))
    return pattern, size, starts


def _quick_check(text: str, forms: Iterable[str]) -> bool:
    """Whether `text` may hold a secret at all: an escape, or a piece of a form once separators are gone."""
    if _ESCAPE_HINT.search(text):
        return True
    flat = text.lower()
    for skipped in _SKIPPED:
        if skipped in flat:
            flat = flat.replace(skipped, "")
    return any(gram in flat for form in forms for gram in _grams(form)[2])


def _decode(token: str) -> str:
    if len(token) == 1:
        return token
    if token[0] == "\\":
        return chr(int(token[2:], 16))
    if token[0] == "%":
        return chr(int(token[1:], 16))
    number = token[2:-1]
    value = int(number[1:], 16) if number[:1] in "xX" else int(number)
    return chr(value) if value < 0x110000 else _BREAK


def _sequence(text: str) -> tuple[str, list[tuple[int, int]]]:
    """`text` as the searched sequence (decoded, lower-cased, skipped characters gone, others breaks), and
    the span of `text` each of its characters came from."""
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    for match in _TOKEN.finditer(text):
        char = _decode(match.group())
        if char in _SKIPPED:
            continue
        low = char.lower()
        chars.append((low if len(low) == 1 else char) if char.isalnum() else _BREAK)
        spans.append(match.span())
    return "".join(chars), spans


def _hits(sequence: str, form: str) -> Iterator[tuple[int, int]]:
    """Where runs of `form` (whole, or `MIN_FRAGMENT` characters or more) are in `sequence`."""
    pattern, size, starts = _grams(form)
    position = 0
    while (match := pattern.search(sequence, position)) is not None:
        begin = match.start()
        longest = size
        for offset in starts[match.group()]:
            length = size
            while (
                begin + length < len(sequence)
                and offset + length < len(form)
                and sequence[begin + length] == form[offset + length]
            ):
                length += 1
            longest = max(longest, length)
        yield begin, begin + longest
        position = begin + longest


def _spans(text: str, secrets: Iterable[str]) -> list[tuple[int, int]]:
    """The spans of `text` that hold a secret, merged and in order."""
    forms = [f for s in secrets if len(s) >= MIN_SECRET for f in _forms(s)]
    if not forms or not _quick_check(text, forms):
        return []
    sequence, positions = _sequence(text)
    found = sorted(
        (positions[begin][0], positions[end - 1][1]) for form in forms for begin, end in _hits(sequence, form)
    )
    merged: list[tuple[int, int]] = []
    for begin, end in found:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((begin, end))
    return merged


def redact(text: str, secrets: Iterable[str | None], *, marker: str = REDACTED_KEY) -> str:
    """`text` with every secret of `secrets` (in any of the forms above) replaced with `marker`."""
    spans = _spans(text, [s for s in secrets if s])
    if not spans:
        return text
    pieces: list[str] = []
    last = 0
    for begin, end in spans:
        pieces.extend((text[last:begin], marker))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def redact_bytes(data: bytes, secrets: Iterable[str | None]) -> bytes:
    """`data` (in any encoding) with the characters of every secret masked with `*`, its length kept, so
    that the rest decodes as before (a UTF-16 body stays UTF-16)."""
    text = data.decode("latin-1")  # one character per byte: spans are byte offsets
    spans = _spans(text, [s for s in secrets if s])
    if not spans:
        return data
    masked = bytearray(data)
    for begin, end in spans:
        for match in _TOKEN.finditer(text, begin, end):
            if _decode(match.group()).isalnum():
                masked[match.start() : match.end()] = b"*" * (match.end() - match.start())
    return bytes(masked)


def redact_value(value: Any, secrets: Iterable[str | None], *, marker: str = REDACTED_KEY) -> Any:
    """A decoded JSON value (or text, or bytes) with the secrets taken out of every string, keys included."""
    keys = [s for s in secrets if s]
    if not keys:
        return value
    if isinstance(value, str):
        return redact(value, keys, marker=marker)
    if isinstance(value, bytes):
        return redact_bytes(value, keys)
    if isinstance(value, Mapping):
        return {
            redact_value(k, keys, marker=marker): redact_value(v, keys, marker=marker)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v, keys, marker=marker) for v in value)
    return value
