"""Where the tool list goes in the local model's system prompt: readiness to call, and prompt seconds.

    python benchmarks/prompt_order.py [--per-category 8] [--json OUT.json]

Three layouts of the prompted tool section, side by side in one run on the local model, for BFCL items
outside the evaluation sample (`bfcl_sample.py`, seed 26), `--per-category` each of simple, parallel and
irrelevance:

- `first`: the tool list, then how and when to call (agentkit's layout before issue 26's third run);
- `last`: how and when to call, then the tool list (the text every request shares comes first, so llama.cpp's
  prompt cache keeps it from one item to the next);
- `last+shape` (agentkit's layout): as `last`, then when to call and the shape of a call again.

Each layout runs over all items in turn (a layout's items follow each other, as a benchmark's or a batch's
requests do), one request per item: the reply's own prompt, one token, its log-probabilities
(`_tool_decision.decision_bodies`). Reported per layout and category: the median of log P(text) - log P(call)
of the first token (`decision_signals`: below 0, a call is likelier), and the median prompt tokens evaluated
and prompt seconds, as llama.cpp's `timings` give them (the prompt cache's share is what was not evaluated).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bfcl_sample as bfcl

from agentkit import ModelSettings
from agentkit.local import LocalModel, get_local_server
from agentkit.models import ModelRequestParameters
from agentkit.models._prompted import _TOOLS_LIST, _USE
from agentkit.models._tool_decision import decision_bodies, decision_signals

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "evals" / "results" / "prompt_order.json"
CATEGORIES = ("simple", "parallel", "irrelevance")
LAYOUTS = ("first", "last", "last+shape")
_LIST_HEAD = _TOOLS_LIST.split("{tools}")[0]
_SHAPE_AGAIN = "\n\n" + _USE + ". "


def layouts(system: str) -> dict[str, str]:
    """The three layouts of a system prompt built as agentkit builds it (`last+shape`)."""
    head, tools_and_shape = system.split(_LIST_HEAD)
    tools = tools_and_shape.split(_SHAPE_AGAIN)[0]
    base, instructions = head.split("\n\n# Tools\n\n")
    first = f"{base}\n\n# Tools\n\nYou have these tools, each described by a JSON object: its name, what it does, "
    first += f"and the JSON Schema of its arguments.\n{tools}\n\n{instructions}"
    return {"first": first, "last": head + _LIST_HEAD + tools, "last+shape": system}


def items(per_category: int) -> list[tuple[str, dict[str, Any]]]:
    archive = bfcl.wheel()
    chosen: list[tuple[str, dict[str, Any]]] = []
    for category in CATEGORIES:
        data = bfcl.load_items(archive, category)
        evaluated = {i["id"] for i in bfcl.sample(data, bfcl.PER_CATEGORY, bfcl.SEED)}
        chosen += [(category, i) for i in data if i["id"] not in evaluated][:per_category]
    return chosen


async def measure(per_category: int) -> list[dict[str, Any]]:
    model = LocalModel()
    await model.start()
    server = get_local_server()
    chosen = items(per_category)
    rows: list[dict[str, Any]] = []
    for layout in LAYOUTS:
        for category, item in chosen:
            definitions, _ = bfcl.tool_definitions(item["function"])
            body = model.request_body(
                bfcl.messages_of(item), ModelRequestParameters(tools=definitions), ModelSettings()
            )
            (first,) = decision_bodies(body, names=False)
            first["messages"][0] = {
                **first["messages"][0],
                "content": layouts(body["messages"][0]["content"])[layout],
            }
            data = bfcl.post_chat(server.base_url, server.api_key, first)
            margin, _ = decision_signals(data, None)
            timings = data.get("timings") or {}
            row = {
                "layout": layout,
                "category": category,
                "id": item["id"],
                "margin": round(margin, 3),
                "prompt_tokens_evaluated": timings.get("prompt_n"),
                "prompt_seconds": round(timings.get("prompt_ms", 0.0) / 1000, 3),
            }
            rows.append(row)
            print(" ".join(f"{v}" for v in row.values()), flush=True)
    return rows


def summary(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for layout in LAYOUTS:
        for category in CATEGORIES:
            some = [r for r in rows if r["layout"] == layout and r["category"] == category]
            if not some:
                continue
            out.append(
                {
                    "layout": layout,
                    "category": category,
                    "items": len(some),
                    "median_margin": round(statistics.median(r["margin"] for r in some), 2),
                    "median_prompt_tokens_evaluated": statistics.median(
                        r["prompt_tokens_evaluated"] or 0 for r in some
                    ),
                    "median_prompt_seconds": round(statistics.median(r["prompt_seconds"] for r in some), 2),
                }
            )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--per-category", type=int, default=8)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    rows = asyncio.run(measure(args.per_category))
    table = summary(rows)
    print(f"{'layout':<11} {'category':<12} {'items':>5} {'margin':>7} {'evaluated':>9} {'prompt s':>8}")
    for r in table:
        print(
            f"{r['layout']:<11} {r['category']:<12} {r['items']:>5} {r['median_margin']:>7} "
            f"{r['median_prompt_tokens_evaluated']:>9} {r['median_prompt_seconds']:>8}"
        )
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "bfcl_version": bfcl.BFCL_VERSION,
        "model": "local:qwen2.5-coder-1.5b",
        "summary": table,
        "items": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
