"""Calibrate the local profile's call-or-text decision (`decide_tool_use`) on BFCL items outside the sample.

    python benchmarks/calibrate_tool_decision.py measure [--per-category 24] [--json OUT.json]
    python benchmarks/calibrate_tool_decision.py choose OUT.json [--cost 3]

`measure` sends the decision's two one-token requests (`_tool_decision.decision_bodies`: the reply's own
prompt, and that prompt with "which tool? its name, or none") for each calibration item to the local model,
exactly as a run's first reply would be preceded, and records the two signals (`decision_signals`: log
P(text) - log P(call) of the reply's first token, log P(none)). The calibration items are, in each of the
five categories of the evaluation sample and in BFCL's live (user-written) irrelevance and simple
categories, the first `--per-category` items in the data's order that the evaluation sample of
`bfcl_sample.py` (seed 26) does not hold: nothing is calibrated on what is then measured.

`choose` picks the pair of thresholds the profile's `tool_use_thresholds` holds: among all pairs of
observed values (midpoints), and the first threshold alone (second `None`: the name request is not sent),
the one that declines the most irrelevance items (both kinds) minus `--cost` times the declined items of
the other categories (a question a tool answers sent to text fails its task, worse than a call where none
fits); ties go to the pair that declines fewer items overall, then to the first threshold alone (one
request less per question). It prints what
each category would decline with the pair chosen, and the same choice made on half the items (every other
one) and read on the other half: how well the thresholds hold on items they were not chosen on.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import itertools
import json
import math
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bfcl_sample as bfcl

from agentkit import ModelSettings
from agentkit._support.given import given_text
from agentkit.local import LocalModel, get_local_server
from agentkit.models import ModelRequestParameters
from agentkit.models._chat_format import parse_completion
from agentkit.models._invented_calls import invented_calls
from agentkit.models._tool_decision import decision_bodies, decision_signals
from agentkit.models.profiles import profile_for

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "evals" / "results" / "calibration_tool_decision.json"


LIVE = {"live_irrelevance": "live_irrelevance", "live_simple": "live_simple"}
"""BFCL's live categories calibrated on too (none is in the evaluation sample): category -> file stem."""
CATEGORIES = (*bfcl.CATEGORIES, *LIVE)
DECLINE = ("irrelevance", "live_irrelevance")
"""The categories whose questions no offered tool answers."""


def calibration_items(per_category: int) -> dict[str, list[dict[str, Any]]]:
    """Per category, the first `per_category` items the evaluation sample (seed 26) leaves out."""
    archive = bfcl.wheel()
    chosen: dict[str, list[dict[str, Any]]] = {}
    for category in bfcl.CATEGORIES:
        items = bfcl.load_items(archive, category)
        evaluated = {i["id"] for i in bfcl.sample(items, bfcl.PER_CATEGORY, bfcl.SEED)}
        chosen[category] = [i for i in items if i["id"] not in evaluated][:per_category]
    with zipfile.ZipFile(archive) as whl:
        for category, stem in LIVE.items():
            data = whl.read(f"bfcl_eval/data/BFCL_v4_{stem}.json").decode()
            chosen[category] = [json.loads(line) for line in data.splitlines() if line.strip()][:per_category]
    return chosen


async def measure(per_category: int) -> list[dict[str, Any]]:
    model = LocalModel()
    await model.start()
    server = get_local_server()
    rows: list[dict[str, Any]] = []
    for category, items in calibration_items(per_category).items():
        for item in items:
            definitions, _ = bfcl.tool_definitions(item["function"])
            body = model.request_body(
                bfcl.messages_of(item), ModelRequestParameters(tools=definitions), ModelSettings()
            )
            first, names = (bfcl.post_chat(server.base_url, server.api_key, b) for b in decision_bodies(body))
            margin, none = decision_signals(first, names)
            # the reply the decision precedes, as its check would read it
            reply = bfcl.reply_text(bfcl.post_chat(server.base_url, server.api_key, body))
            rows.append(
                {"id": item["id"], "category": category, "margin": margin, "none": none, "reply": reply}
            )
            print(
                f"{category:<18} {item['id']:<24} margin {margin:7.2f}  none {none:7.2f}  {reply[:60]!r}",
                flush=True,
            )
    return rows


def write(rows: list[dict[str, Any]], per_category: int, out: Path) -> None:
    """A calibration's `rows` as its results file (this one's and `calibrate_more_calls.py`'s)."""
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "bfcl_version": bfcl.BFCL_VERSION,
        "per_category": per_category,
        "model": "local:qwen2.5-coder-1.5b",
        "items": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


def _cuts(values: Sequence[float]) -> list[float]:
    """Thresholds between consecutive observed values, below the lowest and above the highest (declining
    nothing is a choice too)."""
    finite = sorted({v for v in values if math.isfinite(v)})
    if not finite:
        return [0.0]
    middles = [round((a + b) / 2, 3) for a, b in itertools.pairwise(finite)]
    return [round(finite[0] - 1.0, 3), *middles, round(finite[-1] + 1.0, 3)]


Pair = tuple[float, float | None]


def choose(
    rows: Sequence[dict[str, Any]], cost: float, *, check: bool = False
) -> tuple[Pair, dict[str, int]]:
    """The thresholds (see the module's docstring) and what each category declines with them; with `check`,
    the items whose reply's calls are `invented` are declined too, whatever the thresholds."""
    best: tuple[float, int, Pair] | None = None
    for t0 in _cuts([r["margin"] for r in rows]):
        for t1 in [None, *_cuts([r["none"] for r in rows])]:
            counts = declined(rows, (t0, t1), check=check)
            key = (score(counts, cost), -sum(counts.values()), (t0, t1))
            if best is None or key[:2] > best[:2]:
                best = key
    assert best is not None
    return best[2], declined(rows, best[2], check=check)


def declined(rows: Sequence[dict[str, Any]], pair: Pair, *, check: bool = False) -> dict[str, int]:
    """Per category, how many of `rows` the thresholds `pair` decline (a second of `None`: the first alone),
    and with `check` those whose reply's calls are `invented`."""
    counts = dict.fromkeys(CATEGORIES, 0)
    for row in rows:
        margin, none = float(row["margin"]), float(row["none"])
        by_signals = margin > pair[0] and (pair[1] is None or none > pair[1])
        counts[row["category"]] += by_signals or (check and bool(row.get("invented")))
    return counts


def score(counts: dict[str, int], cost: float) -> float:
    """Declined irrelevance items minus `cost` times the other items declined."""
    caught = sum(v for k, v in counts.items() if k in DECLINE)
    return caught - cost * (sum(counts.values()) - caught)


def held_out(
    rows: Sequence[dict[str, Any]], cost: float, *, check: bool = False
) -> list[tuple[Pair, dict[str, int]]]:
    """The choice made on every other item, read on the items between, both ways round."""
    halves = (rows[0::2], rows[1::2])
    return [
        (pair, declined(halves[1 - i], pair, check=check))
        for i in (0, 1)
        for pair in [choose(halves[i], cost, check=check)[0]]
    ]


def mark_invented(rows: Sequence[dict[str, Any]], items: dict[str, dict[str, Any]]) -> None:
    """Set each row's `invented`: whether its recorded `reply`, read as the local profile reads a reply,
    holds calls whose required values the item's question mostly does not give (`decline_invented_calls`)."""
    for row in rows:
        item = items[row["id"]]
        definitions, _ = bfcl.tool_definitions(item["function"])
        messages = bfcl.messages_of(item)
        parameters = ModelRequestParameters(tools=definitions)
        completion = {"choices": [{"message": {"role": "assistant", "content": row["reply"]}}]}
        message = parse_completion(completion, profile_for("local"), (), parameters, ModelSettings())
        row["invented"] = invented_calls(message.tool_calls, definitions, given_text(messages, len(messages)))


def _shown(counts: dict[str, int], rows: Sequence[dict[str, Any]]) -> str:
    total = dict.fromkeys(CATEGORIES, 0)
    for row in rows:
        total[row["category"]] += 1
    return ", ".join(f"{c} {counts[c]}/{total[c]}" for c in CATEGORIES if total[c])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("measure")
    run.add_argument("--per-category", type=int, default=24)
    run.add_argument("--json", type=Path, default=DEFAULT_JSON)
    pick = sub.add_parser("choose")
    pick.add_argument("json", type=Path, nargs="?", default=DEFAULT_JSON)
    pick.add_argument("--cost", type=float, default=3.0)
    args = parser.parse_args(argv)
    if args.command == "measure":
        write(asyncio.run(measure(args.per_category)), args.per_category, args.json)
        return 0
    report = json.loads(args.json.read_text())
    rows = report["items"]
    checks = [False]
    if all("reply" in r for r in rows):
        items = {i["id"]: i for group in calibration_items(report["per_category"]).values() for i in group}
        mark_invented(rows, items)
        checks.append(True)
    for check in checks:
        pair, counts = choose(rows, args.cost, check=check)
        print(
            f"decline_invented_calls={check} tool_use_thresholds=({pair[0]}, {pair[1]})  "
            f"(cost of a false decline: {args.cost}; score {score(counts, args.cost):g})"
        )
        print(f"  declined: {_shown(counts, rows)}")
        for index, (half_pair, half_counts) in enumerate(held_out(rows, args.cost, check=check)):
            other = rows[1 - index :: 2]
            print(
                f"  chosen on half {index + 1} ({half_pair[0]}, {half_pair[1]}), "
                f"read on the other: {_shown(half_counts, other)}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
