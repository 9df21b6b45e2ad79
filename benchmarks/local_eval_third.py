"""Third suite of tasks for `local_eval.py` (`--suite third`): 20 tasks, other tools and other phrasings.

New tools and made-up tables (a library's lending accounts, a train timetable, a recipe scaler, a server
inventory, a hotel's free rooms, exam grades), and prompts unlike those of the other suites: terse commands,
chatty or indirect requests, one in German and one in Spanish, values written the way people write them
("1.5 million", "3,200", "the fourteenth of March 2025", "a quarter past three in the afternoon").
Tools take one to three typed parameters, one of them an enum (`server_status`'s `metric`) and two with
a default. Kinds of task: 3 arithmetic through `calculator`, 4 single look-ups, 4 look-ups followed by a
computation, 3 choices among all seven tools, 2 questions that need no tool (one of them asks for
something none of the offered tools can help with), 2 requests needing independent calls made side by
side, 2 structured outputs. The `Task` type and the checks are those of `local_eval.py`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from agentkit_tools import calculator
from local_eval import Task, all_of, fields, has_number, has_text
from pydantic import BaseModel

from agentkit import tool

# -- the world the tools see (made-up values, so the model has to look them up) --------------------------

LIBRARY_CARDS = {
    "C-20417": {"member": "Priya Kalnins", "loans": ["The Copper Lantern", "Notes from Vell Harbour"],
                "days_overdue": 9, "fine_per_day_eur": 0.25},
    "C-31186": {"member": "Bruno Ferreira-Lind", "loans": ["Winter Atlas of Odd Birds"],
                "days_overdue": 0, "fine_per_day_eur": 0.25},
    "C-58902": {"member": "Hal Okonkwo", "loans": ["The Saltmarsh Ledger", "Clockwork Gardens",
                "A Brief History of Lamps"], "days_overdue": 14, "fine_per_day_eur": 0.25},
}  # fmt: skip
TIMETABLE = {  # (origin, destination): trains as (train, departs, arrives, platform, fare in EUR)
    ("kellmoor", "brenholt"): [
        ("IC 311", "06:40", "08:05", "4", 23.50),
        ("RE 517", "09:12", "10:58", "2", 17.80),
        ("IC 315", "13:40", "15:05", "4", 23.50),
        ("RE 523", "17:42", "19:31", "1", 17.80),
    ],
    ("brenholt", "saltry cross"): [
        ("RB 88", "07:15", "07:54", "3", 6.20),
        ("RB 92", "16:05", "16:44", "3", 6.20),
        ("RB 96", "20:35", "21:14", "5", 6.20),
    ],
}
RECIPES = {  # servings of the base recipe, then (ingredient, quantity, unit)
    "harbour fish pie": (4, [("white fish", 600, "g"), ("potatoes", 900, "g"), ("butter", 60, "g"),
                             ("milk", 300, "ml")]),
    "vellmoor plum cake": (8, [("flour", 400, "g"), ("plums", 750, "g"), ("sugar", 180, "g"),
                               ("eggs", 4, "")]),
}  # fmt: skip
SERVERS = {
    "web-kestrel-07": {"uptime_days": 213, "cpu_load_percent": 37.5, "disk_free_gb": 118.4, "rack": "R12-B"},
    "db-tern-02": {"uptime_days": 41, "cpu_load_percent": 82.25, "disk_free_gb": 612, "rack": "R03-A"},
    "cache-heron-01": {"uptime_days": 388, "cpu_load_percent": 12, "disk_free_gb": 9.6, "rack": "R12-C"},
}
HOTELS = {  # nightly rate in EUR, free rooms per night
    "birchwood lodge": ("Birchwood Lodge", 96.00, {"2025-03-13": 5, "2025-03-14": 3, "2025-03-15": 2,
                                                   "2025-03-16": 1, "2025-03-17": 0, "2025-03-18": 4}),
    "marisol quay": ("Hotel Marisol Quay", 142.50, {"2025-03-13": 0, "2025-03-14": 6, "2025-03-15": 6,
                                                    "2025-03-16": 2, "2025-03-17": 7, "2025-03-18": 7}),
}  # fmt: skip
GRADES = {  # (student, course): exam scores out of 100
    ("ana ruiz", "CHEM201"): [78, 91, 86],
    ("ana ruiz", "HIST110"): [64, 70, 73],
    ("jonas petrak", "CHEM201"): [88, 93, 95],
    ("mei lindqvist", "CHEM201"): [55, 81, 74],
}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@tool
def library_account(card_number: str) -> dict[str, Any]:
    """Look up a library card: the member, the books on loan, days overdue and the late fee per day.

    Args:
        card_number: Library card number, e.g. "C-10001".
    """
    entry = LIBRARY_CARDS.get(card_number.strip().upper().replace(" ", ""))
    return {"error": f"no library card {card_number}"} if entry is None else {"card": card_number, **entry}


@tool
def train_departures(origin: str, destination: str, after: str = "00:00") -> str:
    """Direct trains of today's timetable between two stations: train, departure, arrival, platform, fare.

    Args:
        origin: Station the trip starts from, e.g. "Hallam".
        destination: Station the trip ends at, e.g. "Dunmore".
        after: Earliest departure wanted, 24-hour "HH:MM" (default: the whole day).
    """
    match = _TIME.match(after.strip())
    if match is None:
        return f"after must be a 24-hour time HH:MM, e.g. 08:30, not {after!r}."
    earliest = f"{int(match[1]):02d}:{match[2]}"
    trains = TIMETABLE.get((origin.strip().lower(), destination.strip().lower()))
    if trains is None:
        return f"No direct trains from {origin} to {destination}."
    lines = [
        f"{train}: departs {departs}, arrives {arrives}, platform {platform}, fare {fare:.2f} EUR"
        for train, departs, arrives, platform, fare in trains
        if departs >= earliest
    ]
    return "\n".join(lines) or f"No more trains from {origin} to {destination} after {earliest} today."


@tool
def scale_recipe(recipe: str, servings: int) -> str:
    """The ingredients of a recipe from the cookbook, scaled to a number of servings.

    Args:
        recipe: Name of the recipe, e.g. "apple crumble".
        servings: How many servings to make.
    """
    entry = RECIPES.get(recipe.strip().lower())
    if entry is None:
        return f"No recipe called {recipe}; known: {', '.join(RECIPES)}."
    if servings < 1:
        return "servings must be at least 1."
    base, ingredients = entry
    parts = [
        f"{round(quantity * servings / base, 1):g} {unit} {name}".replace("  ", " ")
        for name, quantity, unit in ingredients
    ]
    return f"{recipe.strip().lower()} for {servings} servings: " + ", ".join(parts)


@tool
def server_status(
    hostname: str, metric: Literal["uptime_days", "cpu_load_percent", "disk_free_gb", "rack"]
) -> str:
    """One figure from the server inventory for a host.

    Args:
        hostname: The server's host name, e.g. "app-finch-03".
        metric: Which figure: "uptime_days" (days since the last reboot), "cpu_load_percent" (average over
            the last hour), "disk_free_gb" (free space on the data disk) or "rack" (where it is mounted).
    """
    entry = SERVERS.get(hostname.strip().lower())
    if entry is None:
        return f"No server {hostname} in the inventory."
    return f"{hostname.strip().lower()} {metric}: {entry[metric]}"


@tool
def hotel_availability(hotel: str, check_in: str, nights: int = 1) -> str:
    """Free rooms of a hotel for each night of a stay, and its rate per night.

    Args:
        hotel: The hotel's name, e.g. "Harbour Inn".
        check_in: Date of arrival, written YYYY-MM-DD.
        nights: Number of nights of the stay (default 1).
    """
    name = re.sub(r"^(the |hotel )+", "", hotel.strip().lower())
    entry = HOTELS.get(name)
    if entry is None:
        return f"No hotel called {hotel}."
    day = check_in.strip()
    if nights < 1:
        return "nights must be at least 1."
    if _DATE.match(day) is None:
        return f"check_in must be a date written YYYY-MM-DD, e.g. 2025-01-31, not {check_in!r}."
    title, rate, free = entry
    dates = sorted(free)
    stay = dates[dates.index(day) : dates.index(day) + nights] if day in free else []
    if len(stay) < nights:
        return f"No data for {nights} night(s) from {day}; known nights: {dates[0]} to {dates[-1]}."
    per_night = ", ".join(f"{d}: {free[d]}" for d in stay)
    return f"{title}, free rooms per night: {per_night}. Rate: {rate:.2f} EUR per room per night."


@tool
def exam_grades(student: str, course: str) -> str:
    """A student's exam scores (out of 100) in one course, in the order the exams were taken.

    Args:
        student: The student's full name, e.g. "Sam Lee".
        course: Course code, e.g. "MATH-101".
    """
    scores = GRADES.get((student.strip().lower(), re.sub(r"[^A-Z0-9]", "", course.upper())))
    if scores is None:
        return f"No grades for {student} in {course}."
    return f"{student.strip().title()}, {course.strip().upper()}: exam scores {', '.join(map(str, scores))}"


ALL_TOOLS = [
    calculator,
    library_account,
    train_departures,
    scale_recipe,
    server_status,
    hotel_availability,
    exam_grades,
]


# -- structured outputs ------------------------------------------------------------------------------------


class TrainChoice(BaseModel):
    train: str
    departure: str
    arrival: str
    platform: str


class ServerFacts(BaseModel):
    hostname: str
    rack: str
    disk_free_gb: float


TASKS = [
    Task(name="calc-million", kind="arithmetic", prompt="What's 1.5 million divided by 3,200?", tools=[calculator], check=has_number(468.75)),
    Task(name="calc-terse", kind="arithmetic", prompt="17.5% of 86,400. Number only.", tools=[calculator], check=has_number(15_120)),
    Task(name="calc-tickets", kind="arithmetic", prompt="So my band sold 3,200 tickets at 18.75 each, and the venue keeps 20% of the takings. How much is left for us?", tools=[calculator], check=has_number(48_000)),
    Task(name="loans-terse", kind="lookup", prompt="books on loan, library card C-58902", tools=[library_account], check=all_of(has_text("Saltmarsh Ledger"), has_text("Clockwork Gardens"), has_text("History of Lamps")), must_call=["library_account"]),
    Task(name="grades-terse", kind="lookup", prompt="grades for Ana Ruiz, course CHEM-201", tools=[exam_grades], check=all_of(has_number(78, 0), has_number(91, 0), has_number(86, 0)), must_call=["exam_grades"]),
    Task(name="uptime-chatty", kind="lookup", prompt="Our monitoring dashboard is down again, so I can't see it myself... would you mind finding out how many days web-kestrel-07 has been running since its last reboot?", tools=[server_status], check=has_number(213, 0), must_call=["server_status"]),
    Task(name="train-german", kind="lookup", prompt="Welcher Zug fährt nach 9 Uhr als nächster von Kellmoor nach Brenholt, und wann kommt er an?", tools=[train_departures], check=all_of(has_text("517"), has_text("10:58")), must_call=["train_departures"]),
    Task(name="library-fine", kind="two-step", prompt="How much does the holder of library card C-20417 owe in late fees, in euros?", tools=[library_account, calculator], check=has_number(2.25), must_call=["library_account"]),
    Task(name="grades-spanish", kind="two-step", prompt="¿Cuál es la nota media de Jonas Petrak en los exámenes del curso CHEM-201?", tools=[exam_grades, calculator], check=has_number(92), must_call=["exam_grades"]),
    Task(name="hotel-stay", kind="two-step", prompt="We're thinking of three nights at Birchwood Lodge, arriving on the fourteenth of March 2025. Is a room free every night, and what would the stay cost in total for one room?", tools=[hotel_availability, calculator], check=has_number(288), must_call=["hotel_availability"]),
    Task(name="fish-cost", kind="two-step", prompt="White fish is 18.40 euros a kilo at my market. If I make the harbour fish pie for 6 people, what will the fish cost me?", tools=[scale_recipe, calculator], check=has_number(16.56), must_call=["scale_recipe"]),
    Task(name="choose-cake", kind="choose", prompt="I'm baking the Vellmoor plum cake for two dozen guests. How many eggs and how many grams of flour will I need?", tools=ALL_TOOLS, check=all_of(has_number(12, 0), has_number(1200, 0)), must_call=["scale_recipe"]),
    Task(name="choose-disk", kind="choose", prompt="Is db-tern-02 about to run out of disk space? How many GB are free on it?", tools=ALL_TOOLS, check=has_number(612, 0), must_call=["server_status"]),
    Task(name="choose-train", kind="choose", prompt="I have to get from Brenholt to Saltry Cross, leaving no earlier than a quarter past three in the afternoon. Which train should I take, and from which platform?", tools=ALL_TOOLS, check=all_of(has_text("RB 92", "RB92"), has_text("16:05")), must_call=["train_departures"]),
    Task(name="no-tool-haiku", kind="no-tool", prompt="Write a haiku about a night train.", tools=ALL_TOOLS, check=has_text("train", "rail", "night"), no_tools_expected=True),
    Task(name="no-tool-given", kind="no-tool", prompt="I just read the label myself: web-kestrel-07 is mounted in rack R12-B. Reply only with 'Rack: <id>' so I can paste it into the ticket.", tools=ALL_TOOLS, check=has_text("R12-B"), no_tools_expected=True),
    Task(name="parallel-uptime", kind="parallel", prompt="Compare the uptime of web-kestrel-07 and cache-heron-01: how many days has each been up?", tools=[server_status], check=all_of(has_number(213, 0), has_number(388, 0)), must_call=["server_status"]),
    Task(name="parallel-mixed", kind="parallel", prompt="Two quick things: what did Mei Lindqvist score on her CHEM-201 exams, and which book does library card C-31186 have out?", tools=[exam_grades, library_account], check=all_of(has_number(55, 0), has_number(81, 0), has_number(74, 0), has_text("Winter Atlas")), must_call=["exam_grades", "library_account"]),
    Task(name="struct-train", kind="structured", prompt="Kellmoor to Brenholt, first train after 1 pm: train, departure, arrival, platform.", tools=[train_departures], output_type=TrainChoice, check=fields(train="IC 315", departure="13:40", arrival="15:05", platform="4"), must_call=["train_departures"]),
    Task(name="struct-server", kind="structured", prompt="Fill in the inventory card for cache-heron-01: its rack and its free disk space in GB.", tools=[server_status], output_type=ServerFacts, check=fields(hostname="cache-heron-01", rack="R12-C", disk_free_gb=9.6), must_call=["server_status"]),
]  # fmt: skip
