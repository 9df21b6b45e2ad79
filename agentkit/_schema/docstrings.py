"""Docstring -> tool description and per-parameter descriptions, in any style docstring-parser knows."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

__all__ = ["ParsedDoc", "parse_docstring"]

_STYLE_HINTS = (
    (re.compile(r"^\s*:(param|parameter|arg|argument|key|keyword|returns?|raises?)\b", re.M), "REST"),
    (re.compile(r"^\s*@(param|return|raise|type|rtype)\b", re.M), "EPYDOC"),
    (re.compile(r"^\s*(Parameters|Returns|Yields|Raises|Other Parameters)\s*\n\s*-{3,}", re.M), "NUMPYDOC"),
    (
        re.compile(
            r"^\s*(Args|Arguments|Parameters|Params|Keyword Args|Returns?|Yields?|Raises|Example)s?:", re.M
        ),
        "GOOGLE",
    ),
)


@dataclass(kw_only=True)
class ParsedDoc:
    """What a docstring says about a function."""

    description: str = ""
    """Summary and body, then the `Returns` section, as one Markdown text."""
    params: dict[str, str] = field(default_factory=dict)
    """Parameter name -> its description."""


def parse_docstring(obj: object) -> ParsedDoc:
    """Parse `obj`'s docstring; the style (Google, NumPy, reST/Sphinx, Epydoc) is detected."""
    doc = inspect.getdoc(obj)
    if not doc:
        return ParsedDoc()
    style_name = next((name for pattern, name in _STYLE_HINTS if pattern.search(doc)), None)
    if style_name is None:
        return ParsedDoc(description=doc.strip())
    import docstring_parser

    try:
        parsed = docstring_parser.parse(doc, style=docstring_parser.DocstringStyle[style_name])
    except docstring_parser.ParseError:  # a section it cannot read: the text is still a fine description
        return ParsedDoc(description=doc.strip())
    parts = [p.strip() for p in (parsed.short_description, parsed.long_description) if p and p.strip()]
    returns = parsed.returns
    if returns is not None and returns.description:
        parts.append(f"Returns: {returns.description.strip()}")
    params = {
        p.arg_name: p.description.strip() for p in parsed.params if p.description and p.description.strip()
    }
    return ParsedDoc(description="\n\n".join(parts), params=params)
