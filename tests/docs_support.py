"""Helpers for the tests of the documentation pages: their code blocks, run in order, and their links."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from agentkit import Agent, tool

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def page(name: str) -> Path:
    """A docs page by file name, or the README."""
    return README if name == "README.md" else DOCS / name


def blocks(name: str, language: str = "python") -> list[str]:
    """The page's fenced code blocks in `language` (`""` for the unmarked ones), in page order."""
    text = page(name).read_text(encoding="utf-8")
    return [code for lang, code in _FENCE.findall(text) if lang == language]


def run_block(name: str, code: str, namespace: dict[str, Any]) -> None:
    """Run one block in `namespace` (shared by a page's blocks, so later ones see earlier names)."""
    exec(compile(code, str(page(name)), "exec"), namespace)


def links(path: Path) -> list[str]:
    """The targets of the Markdown links of a file (images excluded)."""
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    return _LINK.findall(text)


# -- the names the pages' fragments use, defined elsewhere on the page or in the README ---------------------


@tool
def get_weather(city: str) -> str:
    """Current weather in a city.

    Args:
        city: City name, e.g. "Oslo".
    """
    return f"{city}: 3°C, light snow"


@tool
def search_hotels(city: str, quiet: bool = False) -> str:
    """Hotels in a city.

    Args:
        city: The city.
        quiet: Only quiet hotels.
    """
    return f"{city}: Casa Calma (quiet, 95 EUR), Hotel Central (120 EUR)"


BOOKED: list[str] = []


@tool(requires_approval=True)
def book_hotel(hotel: str, nights: int) -> str:
    """Book a hotel.

    Args:
        hotel: The hotel's name.
        nights: How many nights.
    """
    BOOKED.append(f"{hotel} x{nights}")
    return f"Booked {hotel} for {nights} nights."


def prelude() -> dict[str, Any]:
    """A fresh namespace with the names the pages' fragments take as given: `get_weather` (the README's tool),
    `search_hotels`, `book_hotel` (it requires approval), and an `agent` with those tools on the default
    model (the test points the environment at a loopback server)."""
    BOOKED.clear()
    agent = Agent(instructions="Answer in one sentence.", tools=[get_weather, search_hotels, book_hotel])
    return {
        "__name__": "docs_page",
        "get_weather": get_weather,
        "search_hotels": search_hotels,
        "book_hotel": book_hotel,
        "agent": agent,
    }
