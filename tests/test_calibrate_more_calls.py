"""benchmarks/calibrate_more_calls.py's choice of the more-calls threshold, on made-up readings (no model)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from calibrate_more_calls import choose, continued


def row(expected: int, more: float | None, calls: int = 1, added: int = 1) -> dict[str, Any]:
    return {
        "id": f"{expected}_{more}",
        "category": "x",
        "calls": calls,
        "expected": expected,
        "more": more,
        "added": added,
    }


ROWS = [
    row(1, 0.0002),
    row(1, 0.0005),
    row(1, 0.05),  # a one-call item the model would go on from
    row(2, 0.004),
    row(2, 0.08),
    row(3, 0.2),
    row(2, None, calls=2),  # already several calls: not probed
]


def test_the_threshold_continues_what_wants_more_and_little_else() -> None:
    threshold, counts = choose(ROWS, cost=1.0)
    # 0.004 < threshold < 0.05 would add the one-call item too: 2 - 1 = 1, below 2 - 0 for 0.05 < t < 0.08
    assert 0.05 < threshold < 0.08
    assert counts == {"wanted": 2, "unwanted": 0, "one_call": 6, "one_call_wanting_more": 3}


def test_a_cheap_unwanted_continuation_buys_another_wanted_one() -> None:
    threshold, counts = choose(ROWS, cost=0.4)
    assert 0.0005 < threshold < 0.004 and (counts["wanted"], counts["unwanted"]) == (3, 1)


def test_a_continuation_that_adds_no_call_costs_nothing() -> None:
    # the one-call item at 0.05 only repeats its call when continued (a run cuts it): no harm in continuing
    rows = [*ROWS[:2], row(1, 0.05, added=0), *ROWS[3:]]
    threshold, counts = choose(rows, cost=1.0)
    assert 0.0005 < threshold < 0.004 and (counts["wanted"], counts["unwanted"]) == (3, 0)


def test_nothing_worth_continuing_gives_a_threshold_above_every_reading() -> None:
    threshold, counts = choose([row(1, 0.3), row(1, 0.1)], cost=1.0)
    assert threshold > 0.3 and counts["wanted"] == counts["unwanted"] == 0
    assert continued([row(2, 0.5)], 0.4) == {
        "wanted": 1,
        "unwanted": 0,
        "one_call": 1,
        "one_call_wanting_more": 1,
    }
