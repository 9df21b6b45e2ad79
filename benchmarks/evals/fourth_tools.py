"""Tools of the fourth suite (`benchmarks/evals/local_fourth.yaml`): eight tools over made-up data.

A warehouse's stock (unit costs in euro cents), two towns' budgets (in thousands of euros), regional sales
tax rates (in percent), electricity meter readings (a month written YYYY-MM), tide times (a date written
YYYY-MM-DD), a shop catalogue searched with a small filter language, museums' opening hours and ticket
prices, and agentkit's `calculator`. None of these domains is in the other three suites. The values are made
up, so the model can only answer by looking them up. A tool whose argument breaks the syntax its description
states refuses it with `ModelRetry`, saying what it takes.

    agentkit eval benchmarks/evals/local_fourth.yaml --tools benchmarks/evals/fourth_tools.py --model local
"""

from __future__ import annotations

import re
from typing import Any

from agentkit_tools import calculator

from agentkit import ModelRetry, tool

__all__ = [
    "calculator",
    "catalogue_search",
    "energy_usage",
    "museum_info",
    "sales_tax",
    "tide_times",
    "town_budget",
    "warehouse_stock",
]

# -- the world the tools see (made-up values) --------------------------------------------------------------

STOCK = {  # sku: (item, units on hand, unit cost in euro cents)
    "SKU-4471": ("brass desk lamp", 1_240, 385),
    "SKU-5820": ("linen tea towel", 96, 212),
    "SKU-6610": ("oak cutting board", 57, 1_890),
    "SKU-7302": ("enamel kettle", 2_315, 1_475),
}
BUDGETS = {  # town: (population, {line: thousands of euros}), year 2025
    "dunmere": ("Dunmere", 12_500, {"total": 48_250, "roads": 5_250, "culture": 3_870, "schools": 14_600}),
    "halvik": ("Halvik", 23_870, {"total": 61_900, "roads": 8_120, "culture": 4_405, "schools": 19_300}),
}
SALES_TAX_PERCENT = {"lornedal": ("Lornedal", 8.5), "halvik": ("Halvik", 12.0), "dunmere": ("Dunmere", 6.25)}
METERS = {  # meter: {month: kWh}
    "M-2291": {"2026-01": 455, "2026-02": 412, "2026-03": 388},
    "M-3307": {"2026-01": 1_180, "2026-02": 1_064, "2026-03": 997},
}
TARIFF_CENTS_PER_KWH = 27.5
TIDES = {  # (harbour, date): (high tides as (time, metres), low tides)
    ("port selby", "2026-04-03"): ([("06:12", 4.12), ("18:37", 3.98)], ["00:05", "12:24"]),
    ("port selby", "2026-04-04"): ([("06:55", 4.05), ("19:21", 3.91)], ["00:48", "13:02"]),
    ("carrow bay", "2026-04-03"): ([("05:40", 2.87), ("18:02", 2.75)], ["11:51", "23:58"]),
}
PRODUCTS = [  # (name, category, sizes, colour, price in EUR)
    ("Fjellsko Trail GTX", "boots", ("40", "41", "42", "43", "44", "45"), "brown", 139.00),
    ("Brume Ranger", "boots", ("41", "42", "43", "44"), "black", 162.00),
    ("Kivi Low", "boots", ("38", "39", "40", "41", "42", "43"), "grey", 95.00),
    ("Kivi Mid", "boots", ("43", "44", "45", "46"), "grey", 109.00),
    ("Solvang Parka", "jackets", ("S", "M", "L"), "red", 210.00),
    ("Tern Windbreaker", "jackets", ("M", "L", "XL"), "green", 88.00),
]
MUSEUMS = {  # museum: (name, opens, closes, closed on, adult ticket in EUR)
    "kessel glass museum": ("Kessel Glass Museum", "10:00", "18:00", "Monday", 12.00),
    "marrow street gallery": ("Marrow Street Gallery", "09:30", "17:30", "Tuesday", 14.50),
    "oyelaran textile house": ("Oyelaran Textile House", "11:00", "19:00", "Wednesday", 11.80),
}
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TERM = re.compile(r"^(category|size|colour|max_price):(\S+)$")
FILTER_FIELDS = ("category", "size", "colour", "max_price")


@tool
def warehouse_stock(sku: str) -> dict[str, Any]:
    """Stock of one article in the warehouse: its name, units on hand and unit cost.

    Args:
        sku: The article's stock-keeping unit, e.g. "SKU-1000".
    """
    key = sku.strip().upper().replace(" ", "-")
    key = key if key.startswith("SKU-") else f"SKU-{key.removeprefix('SKU')}"
    entry = STOCK.get(key)
    if entry is None:
        return {"error": f"no article {sku} in the warehouse"}
    item, units, cents = entry
    return {"sku": key, "item": item, "on_hand_units": units, "unit_cost_euro_cents": cents}


@tool
def town_budget(town: str, year: int = 2025) -> str:
    """A town's budget for a year, by line (total, roads, culture, schools), and its population.

    Args:
        town: The town's name, e.g. "Arnfield".
        year: The budget year (default 2025).
    """
    entry = BUDGETS.get(town.strip().lower())
    if entry is None:
        return f"No budget on file for {town}; known towns: Dunmere, Halvik."
    if year != 2025:
        return f"No {year} budget for {entry[0]}; on file: 2025."
    name, population, lines = entry
    amounts = "; ".join(f"{line} {amount:,}" for line, amount in lines.items())
    return (
        f"{name}, {year} budget (all amounts in thousands of euros): {amounts}. Population: {population:,}."
    )


@tool
def sales_tax(region: str) -> str:
    """The sales tax rate of a region, added to prices before tax.

    Args:
        region: The region's name, e.g. "Westmark".
    """
    entry = SALES_TAX_PERCENT.get(region.strip().lower())
    if entry is None:
        return f"No sales tax rate on file for {region}."
    return f"Sales tax in {entry[0]}: {entry[1]:g}%"


@tool
def energy_usage(meter_id: str, month: str) -> str:
    """Electricity a meter recorded in one month, in kWh, and the tariff.

    Args:
        meter_id: The meter's id, e.g. "M-1000".
        month: The month, written YYYY-MM (e.g. "2025-11" for November 2025); no other form is accepted.
    """
    if _MONTH.match(month.strip()) is None:
        raise ModelRetry(f"month must be written YYYY-MM, e.g. 2025-11, not {month!r}.")
    readings = METERS.get(meter_id.strip().upper())
    if readings is None:
        return f"No meter {meter_id}."
    used = readings.get(month.strip())
    if used is None:
        return f"No reading of {meter_id} for {month}; on file: {', '.join(readings)}."
    return (
        f"Meter {meter_id.strip().upper()}, {month.strip()}: {used:,} kWh used; "
        f"tariff {TARIFF_CENTS_PER_KWH:g} euro cents per kWh."
    )


@tool
def tide_times(harbour: str, date: str) -> str:
    """High and low tides at a harbour on one day (local time, heights in metres).

    Args:
        harbour: The harbour's name, e.g. "Kingsferry".
        date: The day, written YYYY-MM-DD (e.g. "2026-01-31"); no other form is accepted.
    """
    if _DATE.match(date.strip()) is None:
        raise ModelRetry(f"date must be written YYYY-MM-DD, e.g. 2026-01-31, not {date!r}.")
    entry = TIDES.get((harbour.strip().lower(), date.strip()))
    if entry is None:
        return f"No tide table for {harbour} on {date}."
    highs, lows = entry
    high = " and ".join(f"{time} ({metres:.2f} m)" for time, metres in highs)
    return f"{harbour.strip().title()}, {date.strip()}: high tide {high}; low tide {' and '.join(lows)}."


@tool
def catalogue_search(query: str) -> str:
    """Search the shop's catalogue; returns the matching products with their sizes, colour and price in EUR.

    Args:
        query: A filter expression: one or more terms `field:value` joined by ` AND `, with no other
            words. Fields: category (boots, jackets), size, colour, max_price (in EUR). Example:
            "category:jackets AND colour:red AND max_price:200".
    """
    terms = [term.strip() for term in query.strip().split(" AND ")]
    parsed = [_TERM.match(term) for term in terms]
    if not terms or any(match is None for match in parsed):
        raise ModelRetry(
            "filter must be terms field:value joined by ' AND ' (fields: category, size, colour, "
            f"max_price), e.g. 'category:jackets AND colour:red AND max_price:200', not {query!r}."
        )
    wanted = {match[1]: match[2].lower() for match in parsed if match is not None}
    try:
        limit = float(wanted.get("max_price", "inf"))
    except ValueError:
        raise ModelRetry(f"max_price must be a number of euros, not {wanted['max_price']!r}.") from None
    found = [
        f"{name}: {category}, sizes {'/'.join(sizes)}, {colour}, {price:.2f} EUR"
        for name, category, sizes, colour, price in PRODUCTS
        if wanted.get("category", category).rstrip("s") == category.rstrip("s")
        and wanted.get("size", "").upper() in ("", *sizes)
        and wanted.get("colour", colour) == colour
        and price <= limit
    ]
    return "\n".join(found) or "No product matches the filter."


@tool
def museum_info(museum: str) -> str:
    """A museum's opening hours, the day it is closed, and the price of an adult ticket.

    Args:
        museum: The museum's name, e.g. "Harbour Maritime Museum".
    """
    entry = MUSEUMS.get(re.sub(r"^the ", "", museum.strip().lower()))
    if entry is None:
        return f"No museum called {museum}; known: {', '.join(m[0] for m in MUSEUMS.values())}."
    name, opens, closes, closed, price = entry
    return f"{name}: open {opens} to {closes}, closed on {closed}s; adult ticket {price:.2f} EUR."
