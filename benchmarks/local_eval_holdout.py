"""Held-out tasks for `local_eval.py` (`--suite holdout`): 20 tasks the local profile was not tuned on.

New tools and made-up tables (flights, a bookshop's inventory, nutrition values, city populations, UTC
offsets, a unit converter), new prompts, the same kinds of task as the main suite: 3 arithmetic through
`calculator`, 4 single look-ups, 5 look-ups followed by a computation or a conversion, 3 choices among all
seven tools, 2 questions that need no tool, 3 structured outputs. The `Task` type and the checks are those
of `local_eval.py`.
"""

from __future__ import annotations

from typing import Any

from agentkit_tools import calculator
from local_eval import Task, fields, has_number, has_text
from pydantic import BaseModel

from agentkit import tool

# -- the world the tools see (made-up values, so the model has to look them up) --------------------------

FLIGHTS = {
    "KX482": {"flight": "KX 482", "origin": "Copenhagen", "destination": "Reykjavik", "departure_utc": "14:20",
              "gate": "B17", "distance_km": 1284, "duration_minutes": 165},
    "LM907": {"flight": "LM 907", "origin": "Warsaw", "destination": "Porto", "departure_utc": "17:05",
              "gate": "C4", "distance_km": 2210, "duration_minutes": 205},
    "RA219": {"flight": "RA 219", "origin": "Dubai", "destination": "Nairobi", "departure_utc": "06:45",
              "gate": "A9", "distance_km": 3540, "duration_minutes": 290},
}  # fmt: skip
BOOKS = {
    "the glass orchard": ("The Glass Orchard", "Mirela Voss", 4, 22.90),
    "salt and ember": ("Salt and Ember", "Tomas Reinholt", 7, 18.45),
    "a map of quiet rivers": ("A Map of Quiet Rivers", "Ines Achterberg", 2, 31.60),
}
NUTRITION = {  # per 100 g: kcal, protein in g
    "lentil stew": (112, 7.4),
    "quinoa salad": (143, 4.9),
    "mushroom risotto": (138, 3.1),
}
POPULATION = {
    "tallinn": ("Estonia", 452_318),
    "porto": ("Portugal", 231_962),
    "windhoek": ("Namibia", 486_170),
    "reykjavik": ("Iceland", 139_875),
}
UTC_OFFSET_MINUTES = {"dubai": 240, "nairobi": 180, "kathmandu": 345, "reykjavik": 0, "tallinn": 120}
UNITS = {"km": "km", "kilometer": "km", "kilometre": "km", "mi": "mi", "mile": "mi", "kg": "kg",
         "kilogram": "kg", "lb": "lb", "pound": "lb"}  # fmt: skip
FACTORS = {("km", "mi"): 0.621371, ("mi", "km"): 1.609344, ("kg", "lb"): 2.20462, ("lb", "kg"): 0.453592}


@tool
def get_flight(flight_number: str) -> dict[str, Any]:
    """Look up a flight: origin, destination, departure time (UTC), gate, distance in km, duration in minutes.

    Args:
        flight_number: Airline code and number, e.g. "BA 117".
    """
    entry = FLIGHTS.get(flight_number.replace(" ", "").replace("-", "").upper())
    return {"error": f"no flight {flight_number}"} if entry is None else dict(entry)


@tool
def get_book(title: str) -> str:
    """Look up a book in the bookshop's inventory: author, copies available, price in USD.

    Args:
        title: The book's title, e.g. "The Old Man and the Sea".
    """
    entry = BOOKS.get(title.strip().strip("'\"").lower())
    if entry is None:
        return f"No book titled {title} in the inventory."
    name, author, copies, price = entry
    return f"{name} by {author}: {copies} copies available, {price:.2f} USD each"


@tool
def get_nutrition(food: str) -> str:
    """Nutrition values of a dish per 100 grams: calories (kcal) and protein.

    Args:
        food: Name of the dish, e.g. "chicken curry".
    """
    entry = NUTRITION.get(food.strip().lower())
    if entry is None:
        return f"No nutrition data for {food}."
    return f"{food.strip().lower()}, per 100 g: {entry[0]} kcal, {entry[1]:g} g protein"


@tool
def get_population(city: str) -> dict[str, Any]:
    """Population of a city (latest census) and the country it is in.

    Args:
        city: City name, e.g. "Lisbon".
    """
    entry = POPULATION.get(city.strip().lower())
    if entry is None:
        return {"error": f"no population data for {city}"}
    return {"city": city.strip().title(), "country": entry[0], "population": entry[1]}


@tool
def convert_units(value: float, from_unit: str, to_unit: str) -> str:
    """Convert a distance or a weight between units: kilometres and miles, kilograms and pounds.

    Args:
        value: The quantity to convert.
        from_unit: Unit of `value`: "km", "mi", "kg" or "lb".
        to_unit: Unit wanted: "km", "mi", "kg" or "lb".
    """
    source = UNITS.get(from_unit.strip().lower().rstrip("s"))
    target = UNITS.get(to_unit.strip().lower().rstrip("s"))
    if source is None or target is None:
        return "Unknown unit; known: km, mi, kg, lb."
    if source == target:
        return f"{value:g} {source} = {value:g} {target}"
    factor = FACTORS.get((source, target))
    if factor is None:
        return f"Cannot convert {source} to {target}."
    return f"{value:g} {source} = {round(value * factor, 2):g} {target}"


@tool
def get_utc_offset(city: str) -> str:
    """Standard-time offset of a city's local time from UTC.

    Args:
        city: City name, e.g. "Berlin".
    """
    minutes = UTC_OFFSET_MINUTES.get(city.strip().lower())
    if minutes is None:
        return f"No time zone data for {city}."
    sign = "+" if minutes >= 0 else "-"
    return f"{city.strip().title()}: UTC{sign}{abs(minutes) // 60}:{abs(minutes) % 60:02d}"


ALL_TOOLS = [calculator, get_flight, get_book, get_nutrition, get_population, convert_units, get_utc_offset]


# -- structured outputs ------------------------------------------------------------------------------------


class FlightInfo(BaseModel):
    destination: str
    gate: str
    duration_minutes: int


class BookInfo(BaseModel):
    title: str
    author: str
    copies_available: int
    price_usd: float


class CityFacts(BaseModel):
    city: str
    country: str
    population: int


TASKS = [
    Task(name="calc-parens", kind="arithmetic", prompt="What is (845 - 278) * 19?", tools=[calculator], check=has_number(10_773)),
    Task(name="calc-divide", kind="arithmetic", prompt="Divide 98,765 by 25.", tools=[calculator], check=has_number(3950.6)),
    Task(name="calc-cube", kind="arithmetic", prompt="What is 37 cubed minus 1,000?", tools=[calculator], check=has_number(49_653)),
    Task(name="flight-gate", kind="lookup", prompt="Which gate does flight KX 482 leave from?", tools=[get_flight], check=has_text("B17"), must_call=["get_flight"]),
    Task(name="book-copies", kind="lookup", prompt="How many copies of The Glass Orchard are available in the bookshop?", tools=[get_book], check=has_number(4, 0), must_call=["get_book"]),
    Task(name="calories-lookup", kind="lookup", prompt="How many calories does 100 g of quinoa salad have?", tools=[get_nutrition], check=has_number(143, 0), must_call=["get_nutrition"]),
    Task(name="population", kind="lookup", prompt="What is the population of Windhoek?", tools=[get_population], check=has_number(486_170, 0), must_call=["get_population"]),
    Task(name="flight-miles", kind="two-step", prompt="How long is the route of flight LM 907, in miles?", tools=[get_flight, convert_units], check=has_number(1373.23), must_call=["get_flight"]),
    Task(name="book-total", kind="two-step", prompt="What do 3 copies of Salt and Ember cost in total, in USD?", tools=[get_book, calculator], check=has_number(55.35), must_call=["get_book"]),
    Task(name="calories-portion", kind="two-step", prompt="How many calories are in a 250 g portion of lentil stew?", tools=[get_nutrition, calculator], check=has_number(280, 0), must_call=["get_nutrition"]),
    Task(name="population-diff", kind="two-step", prompt="How many more people live in Tallinn than in Porto?", tools=[get_population, calculator], check=has_number(220_356, 0), must_call=["get_population"]),
    Task(name="flight-local-time", kind="two-step", prompt="Flight RA 219 leaves from Dubai. At what local Dubai time does it depart?", tools=[get_flight, get_utc_offset], check=has_text("10:45"), must_call=["get_flight"]),
    Task(name="choose-units", kind="choose", prompt="Convert 150 kilometres to miles.", tools=ALL_TOOLS, check=has_number(93.21)),
    Task(name="choose-departure", kind="choose", prompt="At what time (UTC) does flight KX 482 depart?", tools=ALL_TOOLS, check=has_text("14:20"), must_call=["get_flight"]),
    Task(name="choose-offset", kind="choose", prompt="What is the UTC offset of Kathmandu?", tools=ALL_TOOLS, check=has_text("5:45", "5.75"), must_call=["get_utc_offset"]),
    Task(name="no-tool-km", kind="no-tool", prompt="What does the abbreviation 'km' stand for?", tools=ALL_TOOLS, check=has_text("kilometre", "kilometer"), no_tools_expected=True),
    Task(name="no-tool-paint", kind="no-tool", prompt="Which colour do you get by mixing blue and yellow paint? Answer in one word.", tools=ALL_TOOLS, check=has_text("green"), no_tools_expected=True),
    Task(name="struct-flight", kind="structured", prompt="Look up flight LM 907 and give its destination, gate and duration in minutes.", tools=[get_flight], output_type=FlightInfo, check=fields(destination="Porto", gate="C4", duration_minutes=205), must_call=["get_flight"]),
    Task(name="struct-book", kind="structured", prompt="Look up the book A Map of Quiet Rivers: title, author, copies available and price.", tools=[get_book, calculator], output_type=BookInfo, check=fields(title="A Map of Quiet Rivers", author="Ines Achterberg", copies_available=2, price_usd=31.6), must_call=["get_book"]),
    Task(name="struct-city", kind="structured", prompt="Which country is Reykjavik in, and how many people live there?", tools=ALL_TOOLS, output_type=CityFacts, check=fields(city="Reykjavik", country="Iceland", population=139_875), must_call=["get_population"]),
]  # fmt: skip
