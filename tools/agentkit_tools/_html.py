"""The readable text of an HTML page, with the standard library's `html.parser`, in bounded work.

`HTMLParser` rescans an unfinished construct (`<a <a <a ...`, an endless comment) on every feed, and
`close()` handles one quadratically; some malformed declarations make it raise. So the page is fed in
chunks of `CHUNK_CHARS`; an unfinished construct that has held more than `STUCK_CHARS` characters is dropped
(as is one longer than `CLOSE_CHARS` left at the end), the text stops growing at `max_chars`, and if the
parser still fails the tags are stripped by a linear regex instead.
"""

from __future__ import annotations

import html as html_module
import re
from html.parser import HTMLParser
from urllib.parse import urljoin

__all__ = ["CHUNK_CHARS", "CLOSE_CHARS", "MAX_LINK_CHARS", "STUCK_CHARS", "html_to_text"]

CHUNK_CHARS = 8192
"""Characters handed to the parser at a time."""
STUCK_CHARS = 32768
"""Characters the parser may hold unprocessed (one unfinished tag, comment or script) before they are dropped."""
CLOSE_CHARS = 2048
"""Characters of an unfinished construct at the end handed to `close()` (which handles them quadratically)."""
MAX_LINK_CHARS = 200
"""Characters of a link's address shown at most (a longer one is cut with `...`)."""
_KEPT_TAIL = 16
"""Characters kept when a stuck construct is dropped (a closing `</script` may be starting there)."""
_TAG = re.compile(r"<[^<>]*>")

_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "iframe", "object"})
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "header", "footer", "main", "nav", "aside", "ul", "ol", "table", "tr",
     "blockquote", "pre", "form", "figure", "figcaption", "dl", "dt", "dd", "hr", "address", "details"}
)  # fmt: skip
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_VOID = frozenset(
    {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "wbr"}
)


class _TextParser(HTMLParser):
    def __init__(self, base_url: str, max_chars: int) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.max_chars = max_chars
        self.size = 0
        self.parts: list[str] = []
        self.skipping: list[str] = []
        self.title: list[str] = []
        self.in_title = False
        self.links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping:
            if tag in _SKIPPED and tag not in _VOID:
                self.skipping.append(tag)
            return
        if tag == "title":
            self.in_title = True
        elif tag in _SKIPPED:
            self.skipping.append(tag)
        elif tag in _HEADINGS:
            self.parts.append("\n\n" + "#" * _HEADINGS[tag] + " ")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "br":
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a":
            href = dict(attrs).get("href")
            link = urljoin(self.base_url, href) if href else None
            if link and len(link) > MAX_LINK_CHARS:
                link = link[: MAX_LINK_CHARS - 3] + "..."
            self.links.append(link if link and link.startswith(("http://", "https://")) else None)

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag == "title":
            self.in_title = False
        elif tag in _HEADINGS or tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a" and self.links:
            link = self.links.pop()
            if link:
                self.parts.append(f" ({link})")
                self.size += len(link) + 3

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        elif not self.skipping:
            self.parts.append(data)
        else:
            return
        self.size += len(data)

    @property
    def full(self) -> bool:
        return self.size > self.max_chars

    def feed_bounded(self, html: str) -> None:
        """Feed `html` in chunks, dropping a construct stuck for more than `STUCK_CHARS`; stop once full."""
        for start in range(0, len(html), CHUNK_CHARS):
            self.feed(html[start : start + CHUNK_CHARS])
            if len(self.rawdata) > STUCK_CHARS:
                self.rawdata = self.rawdata[-_KEPT_TAIL:]
            if self.full:
                return
        if len(self.rawdata) > CLOSE_CHARS:
            self.rawdata = ""
        self.close()


def html_to_text(html: str, base_url: str = "", *, max_chars: int = 1_000_000) -> str:
    """Headings (`#`), paragraphs and list items kept as lines; scripts and styles dropped; links as
    `text (url)`; the text cut (with a note) past `max_chars` characters."""
    parser = _TextParser(base_url, max_chars)
    try:
        parser.feed_bounded(html)
    except Exception:  # HTMLParser fails on some malformed input (AssertionError in 3.11)
        text, title = html_module.unescape(_TAG.sub(" ", html[: max_chars + 1])), ""
    else:
        text, title = "".join(parser.parts), " ".join("".join(parser.title).split())[:MAX_LINK_CHARS]
    lines = [re.sub(r"[ \t\r\f\v\xa0]+", " ", line).strip() for line in text.split("\n")]
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if len(body) > max_chars:
        body = body[:max_chars] + f"\n\n[cut: the page's text is longer than {max_chars} characters]"
    return f"Title: {title}\n\n{body}" if title else body
