"""Calibrate the local profile's `more_calls_threshold` on BFCL items outside the evaluation sample.

    python benchmarks/calibrate_more_calls.py measure [--per-category 12] [--json OUT.json]
    python benchmarks/calibrate_more_calls.py choose OUT.json [--cost 1]

`measure` asks the local model for the first reply to each calibration item (the request a run sends, its
grammar too, not streamed), and when the reply is one call line, sends the one-token probe a run would
(`_more_calls.probe_body`) and records P(another line) (`more_likely`), the calls the reply made and the
calls the item expects; when P is above `--floor`, it also asks for the continuation a run would
(`continuation_body`) and records how many calls it adds that differ from the first (a repeat is cut in a
run, so it adds nothing). The items are, in BFCL's simple, multiple, parallel, parallel-multiple and live
simple categories, the first `--per-category` items that the evaluation sample of `bfcl_sample.py` (seed
26) does not hold (`calibrate_tool_decision.calibration_items`): nothing is calibrated on what is then
measured.

`choose` picks the threshold among the observed values (midpoints): the one whose continuations add a call
to the most one-call replies of items expecting several, minus `--cost` times those that add a call to
replies of items expecting one (a wrong call); ties go to the higher threshold (fewer continuations). A
reading at or below the floor was not continued, and counts as adding nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bfcl_sample as bfcl
from calibrate_tool_decision import calibration_items, write

from agentkit import ModelSettings
from agentkit.local import LocalModel, get_local_server
from agentkit.models import ModelRequestParameters
from agentkit.models._more_calls import continuation_body, more_likely, one_call_line, probe_body

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "evals" / "results" / "calibration_more_calls.json"
CATEGORIES = ("simple", "multiple", "parallel", "parallel_multiple", "live_simple")


def measure(per_category: int, floor: float) -> list[dict[str, Any]]:
    import asyncio

    model = LocalModel()
    asyncio.run(model.start())
    server = get_local_server()
    items = calibration_items(per_category)
    rows: list[dict[str, Any]] = []
    for category in CATEGORIES:
        for item in items[category]:
            definitions, _ = bfcl.tool_definitions(item["function"])
            body = model.request_body(
                bfcl.messages_of(item), ModelRequestParameters(tools=definitions), ModelSettings()
            )
            plain = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
            text = bfcl.reply_text(bfcl.post_chat(server.base_url, server.api_key, plain))
            calls = sum(1 for line in text.splitlines() if line.strip().startswith("{"))
            more, added = None, 0
            if one_call_line(text):
                more = more_likely(bfcl.post_chat(server.base_url, server.api_key, probe_body(body, text)))
                if more > floor:
                    added = _added(plain, text, server.base_url, server.api_key)
            expected = len(item.get("possible_answer") or [None])
            rows.append(
                {
                    "id": item["id"],
                    "category": category,
                    "calls": calls,
                    "expected": expected,
                    "more": more,
                    "added": added,
                }
            )
            shown = "-" if more is None else f"{more:.4f}"
            print(
                f"{category:<18} {item['id']:<24} calls {calls} of {expected}  more {shown}  added {added}",
                flush=True,
            )
    return rows


def _added(body: dict[str, Any], text: str, base_url: str, api_key: str) -> int:
    """How many calls the continuation of the one-call reply `text` adds that differ from it."""
    more = bfcl.reply_text(bfcl.post_chat(base_url, api_key, continuation_body(body, text)))
    first = _call(text)
    seen = [first]
    for line in more.splitlines():
        call = _call(line)
        if call is not None and call not in seen:
            seen.append(call)
    return len(seen) - 1


def _call(line: str) -> Any:
    try:
        return json.loads(line.strip())
    except ValueError:
        return None


def choose(rows: Sequence[dict[str, Any]], cost: float) -> tuple[float, dict[str, int]]:
    """The threshold (see the module's docstring) and, for it, how many one-call replies it continues:
    `wanted` (items expecting several calls), `unwanted` (items expecting one), of `one_call` in all."""
    probed = [r for r in rows if r["more"] is not None]
    values = sorted({float(r["more"]) for r in probed if r.get("added")})
    # below the lowest reading that adds a call, between readings, and above them all (continue nothing)
    cuts = [
        *([round(values[0] / 2, 6)] if values else []),
        *(round((a + b) / 2, 6) for a, b in itertools.pairwise(values)),
        (values[-1] + 1) if values else 1.0,
    ]
    best: tuple[float, float, dict[str, int]] | None = None
    for cut in cuts:
        counts = continued(probed, cut)
        score = counts["wanted"] - cost * counts["unwanted"]
        if best is None or (score, cut) > (best[0], best[1]):
            best = (score, cut, counts)
    assert best is not None
    return best[1], best[2]


def continued(rows: Sequence[dict[str, Any]], threshold: float) -> dict[str, int]:
    """How many one-call replies `threshold` continues with a call added, by what their items expect."""
    above = [r for r in rows if r["more"] is not None and float(r["more"]) > threshold and r.get("added")]
    return {
        "wanted": sum(1 for r in above if r["expected"] > 1),
        "unwanted": sum(1 for r in above if r["expected"] <= 1),
        "one_call": sum(1 for r in rows if r["more"] is not None),
        "one_call_wanting_more": sum(1 for r in rows if r["more"] is not None and r["expected"] > 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("measure")
    run.add_argument("--per-category", type=int, default=12)
    run.add_argument("--json", type=Path, default=DEFAULT_JSON)
    run.add_argument("--floor", type=float, default=0.001, help="continue only replies read above this")
    pick = sub.add_parser("choose")
    pick.add_argument("json", type=Path, nargs="?", default=DEFAULT_JSON)
    pick.add_argument("--cost", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.command == "measure":
        write(measure(args.per_category, args.floor), args.per_category, args.json)
        return 0
    rows = json.loads(args.json.read_text())["items"]
    threshold, counts = choose(rows, args.cost)
    print(f"more_calls_threshold={threshold}  (cost of an unwanted continuation: {args.cost})")
    print(
        f"  one-call replies: {counts['one_call']}, of which {counts['one_call_wanting_more']} to items expecting "
        f"several calls; continued: {counts['wanted']} of those, {counts['unwanted']} of the others"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
