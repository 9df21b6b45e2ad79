"""The local model's suites as case files (benchmarks/evals/local_{holdout,third,fourth}.yaml): a model that
makes the calls a task needs and then answers right passes every case; one that guesses fails every case.
This checks the checks against the truth, with the suites' own tools running. No network, no local model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentkit import Agent, Message
from agentkit.cli._specs import load_tools
from agentkit.evals import Dataset
from agentkit.testing import FunctionModel, RequestInfo, last_user_text, tool_calls_response

ROOT = Path(__file__).resolve().parents[1]
Calls = list[tuple[str, dict[str, Any]]]

HOLDOUT: dict[str, tuple[Calls, str]] = {
    "calc-parens": ([("calculator", {"expression": "(845 - 278) * 19"})], "(845 - 278) * 19 = 10,773."),
    "calc-divide": ([], "98,765 / 25 = 3950.6"),
    "calc-cube": ([], "37^3 - 1000 = 49653."),
    "flight-gate": ([("get_flight", {"flight_number": "KX 482"})], "It leaves from gate B17."),
    "book-copies": ([("get_book", {"title": "The Glass Orchard"})], "There are 4 copies available."),
    "calories-lookup": ([("get_nutrition", {"food": "quinoa salad"})], "143 kcal per 100 g."),
    "population": ([("get_population", {"city": "Windhoek"})], "Windhoek has 486,170 inhabitants."),
    "flight-miles": ([("get_flight", {"flight_number": "LM 907"})], "2210 km, that is 1,373.23 miles."),
    "book-total": ([("get_book", {"title": "Salt and Ember"})], "3 copies cost 55.35 USD."),
    "calories-portion": ([("get_nutrition", {"food": "lentil stew"})], "250 g have 280 kcal."),
    "population-diff": ([("get_population", {"city": "Tallinn"})], "220,356 more people live in Tallinn."),
    "flight-local-time": ([("get_flight", {"flight_number": "RA 219"})], "At 10:45 local time."),
    "choose-units": ([("convert_units", {"value": 150, "from_unit": "km", "to_unit": "mi"})], "93.21 miles."),
    "choose-departure": ([("get_flight", {"flight_number": "KX 482"})], "It departs at 14:20 UTC."),
    "choose-offset": ([("get_utc_offset", {"city": "Kathmandu"})], "UTC+5:45."),
    "no-tool-km": ([], "Kilometre."),
    "no-tool-paint": ([], "Green."),
}
THIRD: dict[str, tuple[Calls, str]] = {
    "calc-million": ([], "1,500,000 / 3,200 = 468.75"),
    "calc-terse": ([], "15,120"),
    "calc-tickets": ([("calculator", {"expression": "3200 * 18.75 * 0.8"})], "You keep 48,000."),
    "loans-terse": (
        [("library_account", {"card_number": "C-58902"})],
        "The Saltmarsh Ledger, Clockwork Gardens and A Brief History of Lamps.",
    ),
    "grades-terse": ([("exam_grades", {"student": "Ana Ruiz", "course": "CHEM-201"})], "78, 91 and 86."),
    "uptime-chatty": (
        [("server_status", {"hostname": "web-kestrel-07", "metric": "uptime_days"})],
        "213 days.",
    ),
    "train-german": (
        [("train_departures", {"origin": "Kellmoor", "destination": "Brenholt", "after": "09:00"})],
        "Der RE 517 um 09:12, Ankunft 10:58.",
    ),
    "library-fine": ([("library_account", {"card_number": "C-20417"})], "9 days at 0.25 EUR: 2.25 EUR."),
    "grades-spanish": (
        [("exam_grades", {"student": "Jonas Petrak", "course": "CHEM-201"})],
        "La media es 92.",
    ),
    "hotel-stay": (
        [("hotel_availability", {"hotel": "Birchwood Lodge", "check_in": "2025-03-14", "nights": 3})],
        "Yes, rooms are free each night; 3 nights at 96 EUR cost 288 EUR.",
    ),
    "fish-cost": (
        [("scale_recipe", {"recipe": "harbour fish pie", "servings": 6})],
        "900 g of fish: 16.56 euros.",
    ),
    "choose-cake": (
        [("scale_recipe", {"recipe": "vellmoor plum cake", "servings": 24})],
        "12 eggs and 1200 g of flour.",
    ),
    "choose-disk": (
        [("server_status", {"hostname": "db-tern-02", "metric": "disk_free_gb"})],
        "612 GB free.",
    ),
    "choose-train": (
        [("train_departures", {"origin": "Brenholt", "destination": "Saltry Cross", "after": "15:15"})],
        "Take RB 92 at 16:05 from platform 3.",
    ),
    "no-tool-haiku": ([], "Night train hums along / ..."),
    "no-tool-given": ([], "Rack: R12-B"),
    "parallel-uptime": (
        [
            ("server_status", {"hostname": "web-kestrel-07", "metric": "uptime_days"}),
            ("server_status", {"hostname": "cache-heron-01", "metric": "uptime_days"}),
        ],
        "web-kestrel-07: 213 days; cache-heron-01: 388 days.",
    ),
    "parallel-mixed": (
        [
            ("exam_grades", {"student": "Mei Lindqvist", "course": "CHEM-201"}),
            ("library_account", {"card_number": "C-31186"}),
        ],
        "Mei scored 55, 81 and 74; the card has Winter Atlas of Odd Birds out.",
    ),
}
FOURTH: dict[str, tuple[Calls, str]] = {
    "stock-value-fr": ([("warehouse_stock", {"sku": "SKU-4471"})], "1 240 unités à 3,85 € : 4 774,00 €."),
    "roads-per-inhabitant": (
        [("town_budget", {"town": "Dunmere"})],
        "5,250,000 EUR / 12,500 = 420 EUR each.",
    ),
    "price-with-tax": ([("sales_tax", {"region": "Lornedal"})], "With 8.5% tax: 260.40 euros."),
    "budget-gap": (
        [("town_budget", {"town": "Halvik"}), ("town_budget", {"town": "Dunmere"})],
        "61,900 - 48,250 thousand: 13,650,000 euros.",
    ),
    "electricity-bill-ja": (
        [("energy_usage", {"meter_id": "M-2291", "month": "2026-02"})],
        "412 kWh × 27.5セント = 113.30ユーロです。",
    ),
    "parallel-stock": (
        [("warehouse_stock", {"sku": "SKU-5820"}), ("warehouse_stock", {"sku": "SKU-7302"})],
        "SKU-5820: 96 units; SKU-7302: 2,315 units.",
    ),
    "parallel-museums-fr": (
        [
            ("museum_info", {"museum": "Kessel Glass Museum"}),
            ("museum_info", {"museum": "Marrow Street Gallery"}),
        ],
        "Kessel : de 10 h à 18 h ; Marrow Street : de 9 h 30 à 17 h 30.",
    ),
    "parallel-three": (
        [
            ("sales_tax", {"region": "Halvik"}),
            ("museum_info", {"museum": "Marrow Street Gallery"}),
            ("warehouse_stock", {"sku": "SKU-4471"}),
        ],
        "Halvik: 12%; ticket: 14.50 EUR; SKU-4471: 1,240 units.",
    ),
    "no-tool-tides": ([], "Mostly the Moon's gravity, with the Earth's rotation."),
    "no-tool-kwh-fr": ([], "Kilowattheure."),
    "no-tool-ja": ([], "Sunday です。"),
    "tide-date-fr": (
        [("tide_times", {"harbour": "Port Selby", "date": "2026-04-03"})],
        "Marées hautes à 06:12 et 18:37.",
    ),
    "catalogue-boots": (
        [("catalogue_search", {"query": "category:boots AND size:42 AND max_price:150"})],
        "Fjellsko Trail GTX (139 EUR) and Kivi Low (95 EUR).",
    ),
    "thanks-then-stock": ([("warehouse_stock", {"sku": "SKU-6610"})], "You're welcome! 57 left."),
    "explain-then-museum": ([("museum_info", {"museum": "Kessel Glass Museum"})], "It is closed on Mondays."),
    "museum-ticket": ([("museum_info", {"museum": "Oyelaran Textile House"})], "11.80 EUR."),
    "tax-hindi": ([("sales_tax", {"region": "Dunmere"})], "Dunmere में बिक्री कर 6.25% है।"),
    "stock-item-ja": ([("warehouse_stock", {"sku": "SKU-7302"})], "ホーローケトルで、在庫は2,315個です。"),
    "town-population": ([("town_budget", {"town": "Halvik"})], "23,870 people."),
    "low-tide": ([("tide_times", {"harbour": "Port Selby", "date": "2026-04-04"})], "At 00:48 and 13:02."),
}
SUITES = {
    "local_holdout.yaml": ("benchmarks/local_eval_holdout.py", HOLDOUT),
    "local_third.yaml": ("benchmarks/local_eval_third.py", THIRD),
    "local_fourth.yaml": ("benchmarks/evals/fourth_tools.py", FOURTH),
}


@pytest.mark.parametrize("name", list(SUITES))
def test_a_suite_passes_right_answers_and_fails_guesses(name: str) -> None:
    tools_file, answers = SUITES[name]
    dataset = Dataset.from_file(ROOT / "benchmarks" / "evals" / name)
    assert [case.name for case in dataset.cases] == list(answers)
    prompts = {case.prompt: case.name for case in dataset.cases}
    tools = load_tools([str(ROOT / tools_file)])

    def oracle(messages: list[Message], info: RequestInfo) -> Any:
        calls, text = answers[prompts[last_user_text(messages)]]
        if not calls or info.tool_results:
            assert all(not result.is_error for result in info.tool_results), info.tool_results
            return text
        return tool_calls_response(calls)

    right = dataset.evaluate_sync(Agent(FunctionModel(oracle), tools=tools), concurrency=1)
    assert [(r.case, r.error, r.results) for r in right.runs if not r.passed] == []
    wrong = dataset.evaluate_sync(Agent(FunctionModel(lambda m, i: "I don't know, about 12."), tools=tools))
    assert [r.case for r in wrong.runs if r.passed] == []


def test_the_fourth_suites_strict_tools_refuse_the_natural_phrasing() -> None:
    """The two tools with a strict syntax ask again, quoting the form they take, for what the prompts say."""
    from agentkit import ModelRetry

    tools = {t.name: t for t in load_tools([str(ROOT / "benchmarks" / "evals" / "fourth_tools.py")])}
    with pytest.raises(ModelRetry, match="YYYY-MM-DD"):
        tools["tide_times"].function(harbour="Port Selby", date="3 avril 2026")
    with pytest.raises(ModelRetry, match="field:value"):
        tools["catalogue_search"].function(query="boots in size 42 under 150 euros")
    with pytest.raises(ModelRetry, match="YYYY-MM"):
        tools["energy_usage"].function(meter_id="M-2291", month="2026年2月")
