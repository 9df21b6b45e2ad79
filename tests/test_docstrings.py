"""Docstrings in Google, NumPy, reST/Sphinx and Epydoc style, detected automatically."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit._schema.docstrings import ParsedDoc, parse_docstring
from agentkit._schema.function import function_schema


def google(city: str, days: int = 1) -> str:
    """Get the weather forecast.

    Uses the national weather service;
    results are cached for an hour.

    Args:
        city: The city name,
            for example "Paris".
        days (int): How many days ahead.

    Returns:
        str: The forecast as text.

    Raises:
        ValueError: For an unknown city.
    """
    return city


def numpy(city: str, days: int = 1) -> str:
    """Get the weather forecast.

    Uses the national weather service;
    results are cached for an hour.

    Parameters
    ----------
    city : str
        The city name,
        for example "Paris".
    days : int
        How many days ahead.

    Returns
    -------
    str
        The forecast as text.
    """
    return city


def rest(city: str, days: int = 1) -> str:
    """Get the weather forecast.

    Uses the national weather service;
    results are cached for an hour.

    :param city: The city name,
        for example "Paris".
    :type city: str
    :param int days: How many days ahead.
    :returns: The forecast as text.
    :rtype: str
    :raises ValueError: For an unknown city.
    """
    return city


def epydoc(city: str, days: int = 1) -> str:
    """Get the weather forecast.

    Uses the national weather service;
    results are cached for an hour.

    @param city: The city name,
        for example "Paris".
    @type city: str
    @param days: How many days ahead.
    @return: The forecast as text.
    @rtype: str
    """
    return city


EXPECTED = ParsedDoc(
    description=(
        "Get the weather forecast.\n\nUses the national weather service;\nresults are cached for an hour."
        "\n\nReturns: The forecast as text."
    ),
    params={"city": 'The city name,\nfor example "Paris".', "days": "How many days ahead."},
)


@pytest.mark.parametrize("func", [google, numpy, rest, epydoc], ids=lambda f: f.__name__)
def test_every_style_gives_the_same_result(func: Any) -> None:
    assert parse_docstring(func) == EXPECTED
    schema = function_schema(func)
    assert schema.description == EXPECTED.description
    assert schema.parameters["properties"]["city"]["description"] == EXPECTED.params["city"]
    assert schema.parameters["properties"]["days"]["description"] == "How many days ahead."


def test_no_docstring() -> None:
    def f() -> None: ...

    assert parse_docstring(f) == ParsedDoc()
    assert parse_docstring(lambda: None) == ParsedDoc(description="")


def test_plain_text_is_the_description() -> None:
    def f() -> None:
        """Do the thing.

        It has no sections. Note: this is prose, not a section.
        """

    assert parse_docstring(f) == ParsedDoc(
        description="Do the thing.\n\nIt has no sections. Note: this is prose, not a section."
    )


def test_summary_only_and_sections_without_text() -> None:
    def f(a: int) -> None:
        """Summary.

        Args:
            a:

        Returns:
        """

    assert parse_docstring(f) == ParsedDoc(description="Summary.")


def test_a_section_the_parser_cannot_read_keeps_the_whole_text() -> None:
    def f(a: int) -> None:
        """Summary.

        Args:
            a missing colon here
        """

    parsed = parse_docstring(f)
    assert parsed.description == "Summary.\n\nArgs:\n    a missing colon here"
    assert parsed.params == {}


def test_inherited_method_docstring() -> None:
    class Base:
        def run(self, n: int) -> None:
            """Run.

            Args:
                n: How many.
            """

    class Child(Base):
        def run(self, n: int) -> None: ...

    assert parse_docstring(Child().run) == ParsedDoc(description="Run.", params={"n": "How many."})
