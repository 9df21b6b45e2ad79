"""benchmarks/calibrate_tool_decision.py's choice of the decision's thresholds, on made-up signals (no model,
no network)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from calibrate_tool_decision import choose, held_out, mark_invented, score

from agentkit.models._tool_decision import tool_use_declined


def row(category: str, margin: float, none: float) -> dict[str, Any]:
    return {"id": f"{category}_{margin}_{none}", "category": category, "margin": margin, "none": none}


ROWS = [
    row("irrelevance", 0.5, -2.0),
    row("irrelevance", 0.1, -3.0),
    row("irrelevance", -0.3, -3.5),  # declined only with a false decline below
    row("irrelevance", -1.0, -9.0),  # never worth declining
    row("simple", -0.6, -7.0),
    row("multiple", -0.2, -3.4),  # an answerable item between the third irrelevance item and the others
    row("parallel", 0.2, -6.0),
    row("parallel_multiple", -0.5, -math.inf),  # "none" not among the alternatives
]


def test_a_false_decline_that_costs_more_than_a_catch_is_avoided() -> None:
    (t0, t1), declined = choose(ROWS, cost=3.0)
    assert declined == {
        "simple": 0,
        "multiple": 0,
        "parallel": 0,
        "parallel_multiple": 0,
        "irrelevance": 2,
        "live_irrelevance": 0,
        "live_simple": 0,
    }
    # the pair found reads the signals as the profile does
    fits = {"choices": [{"logprobs": {"content": [{"top_logprobs": []}]}}]}
    assert t0 < 0.1 and t1 < -3.0 and not tool_use_declined(fits, fits, (t0, t1))


def test_a_cheap_false_decline_buys_another_catch() -> None:
    _, declined = choose(ROWS, cost=0.5)
    assert declined["irrelevance"] == 3 and declined["multiple"] == 1
    assert sum(declined.values()) == 4


def test_ties_go_to_the_pair_that_declines_less() -> None:
    rows = [row("irrelevance", 0.4, -2.5), row("simple", 0.5, -2.0)]
    # the irrelevance item is declined only with the simple one: 1 - 1 = 0, as declining neither
    _, declined = choose(rows, cost=1.0)
    assert sum(declined.values()) == 0


def test_live_irrelevance_counts_as_a_catch_and_live_simple_as_a_false_decline() -> None:
    rows = [
        row("live_irrelevance", 0.4, -2.5),
        row("live_simple", 0.5, -2.0),
        row("live_irrelevance", 0.6, -1.0),
    ]
    _, declined = choose(rows, cost=3.0)
    assert (declined["live_irrelevance"], declined["live_simple"]) == (1, 0)


def test_held_out_reads_each_halfs_choice_on_the_other_half() -> None:
    rows = [row("irrelevance", 0.5, -2.0), row("irrelevance", 0.4, -2.1), row("simple", -1.0, -8.0)] * 2
    (first, on_second), (second, on_first) = held_out(rows, cost=3.0)
    # the halves are rows 0, 2, 4 and 1, 3, 5: each holds both irrelevance values and the simple item once
    assert on_second["irrelevance"] == 2 and on_first["irrelevance"] == 2
    assert on_second["simple"] == on_first["simple"] == 0
    assert first[0] < 0.4 and second[0] < 0.4


def test_the_name_question_is_dropped_when_it_declines_nothing_more() -> None:
    # the margin alone separates: the name signal adds nothing, so it is not asked (one request less)
    rows = [row("irrelevance", 0.5, -9.0), row("irrelevance", 0.3, -1.0), row("simple", -2.0, -1.0)]
    (t0, t1), declined = choose(rows, cost=3.0)
    assert t1 is None and -2.0 < t0 < 0.3 and declined["irrelevance"] == 2


def test_the_name_question_stays_when_it_separates() -> None:
    # the margin cannot tell the simple item from the irrelevance one; the name signal can
    rows = [row("irrelevance", 0.5, -1.0), row("simple", 0.5, -8.0)]
    (_, t1), declined = choose(rows, cost=3.0)
    assert t1 is not None and -8.0 < t1 < -1.0
    assert (declined["irrelevance"], declined["simple"]) == (1, 0)


def test_the_check_declines_invented_replies_whatever_the_thresholds() -> None:
    rows = [
        row("irrelevance", 0.5, -2.0),
        {**row("irrelevance", -3.0, -9.0), "invented": True},  # a call likely, its values from nowhere
        {**row("simple", -2.0, -9.0), "invented": True},  # a false decline the check makes
        row("simple", -1.0, -9.0),
    ]
    _, without = choose(rows, cost=3.0)
    assert (without["irrelevance"], without["simple"]) == (1, 0)
    _, with_check = choose(rows, cost=3.0, check=True)
    assert (with_check["irrelevance"], with_check["simple"]) == (2, 1)
    assert score(with_check, 3.0) == 2 - 3 and score(without, 3.0) == 1


def test_marking_reads_the_recorded_reply_as_the_local_profile_does() -> None:
    item = {
        "id": "irrelevance_x",
        "question": [[{"role": "user", "content": "What is the largest planet in the universe?"}]],
        "function": [
            {
                "name": "space.star_info",
                "description": "Facts about a star.",
                "parameters": {
                    "type": "dict",
                    "properties": {
                        "star_name": {"type": "string", "description": "The star."},
                        "information": {"type": "string", "description": "Which fact."},
                    },
                    "required": ["star_name", "information"],
                },
            }
        ],
    }
    call = '{"name": "space_star_info", "arguments": {"star_name": "Sun", "information": "radius"}}'
    rows = [
        {"id": "irrelevance_x", "reply": call},
        {"id": "irrelevance_x", "reply": "The largest known planet is HD 100546 b."},
        {"id": "irrelevance_x", "reply": call.replace("Sun", "planet").replace("radius", "largest")},
    ]
    mark_invented(rows, {"irrelevance_x": item})
    assert [r["invented"] for r in rows] == [True, False, False]
