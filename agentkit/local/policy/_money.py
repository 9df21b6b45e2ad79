"""An amount of money answered with a computation's every decimal (`6354.16666666667 USD`).

A small model copies the calculator's result as it comes; a monthly salary of 6354.16666666667 USD is no
answer a person writes, and a check that looks for 6,354.17 finds none. Part of `GroundingCheck` (the local
profile's): when the question or the answer is about money (a currency, `salary`, `price`, `cost`...), a
number of the answer with four or more decimals (a computation's, not a price of 0.125 EUR per kWh) that
neither the question nor a look-up (a tool that does not compute) writes so (an exchange rate of 0.92345 is
quoted, not computed) gets one question giving it rounded to the cent (to the unit for yen and won).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..._support.given import written_numbers
from ...messages import Message, ToolMessage, UserMessage

__all__ = ["MONEY_QUESTION", "money_question", "unrounded_money"]

MONEY_QUESTION = (
    "Your answer writes {written}, an amount of money with {decimals} decimals; money is written to the {unit}: "
    "{rounded}. Answer again with the amount rounded. If the question asks for every decimal, give the same "
    "answer again."
)
"""The question about an amount of money written with a computation's every decimal."""

_MONEY = re.compile(
    r"\b(?:USD|EUR|GBP|CHF|CAD|AUD|NZD|SEK|NOK|DKK|INR|CNY|JPY|KRW|dollars?|euros?|pounds?|francs?|rupees?"
    r"|yen|won|salary|salaries|wages?|price|prices|cost|costs|fees?|fares?|rent|budget|paid|pay|owe)\b|[$€£¥₹円]",
    re.IGNORECASE,
)
_NO_CENTS = re.compile(r"\b(?:JPY|yen|KRW|won)\b|[¥円]", re.IGNORECASE)


def unrounded_money(
    messages: Sequence[Message], start: int, computes: Sequence[str]
) -> tuple[str, str, int] | None:
    """The first number of the last answer written with four or more decimals, when the run's
    question or the answer is about money and neither the question nor a look-up's result writes the
    number so: (as written, rounded, decimals kept); else `None`."""
    if not messages:
        return None
    answer = str(messages[-1].content)
    asked = [m.text for m in messages[start:] if isinstance(m, UserMessage) and not m.feedback]
    text = "\n".join([*asked, answer])
    if not _MONEY.search(text):
        return None
    cents = 0 if _NO_CENTS.search(text) else 2
    quoted = [
        m.content
        for m in messages[start:]
        if isinstance(m, ToolMessage) and not m.is_error and m.name not in computes
    ]
    written_elsewhere = {w for text in [*asked, *quoted] for _, _, w in written_numbers(text)}
    for value, decimals, written in written_numbers(answer):
        if decimals >= 4 and written not in written_elsewhere:
            return written, f"{value:,.{cents}f}".replace(",", ""), cents
    return None


def money_question(found: tuple[str, str, int]) -> str:
    """`MONEY_QUESTION` for what `unrounded_money` found."""
    written, rounded, cents = found
    return MONEY_QUESTION.format(
        written=written,
        decimals=len(written.partition(".")[2]),
        unit="cent" if cents else "unit",
        rounded=rounded,
    )
