"""The docs' table of the local model's figures, from the JSON files `agentkit eval --json` and
`bfcl_sample.py --json` wrote.

    python benchmarks/evals/table.py benchmarks/evals/results/baseline

reads `PREFIX_{main,holdout,third,fourth}.json` and `PREFIX_bfcl.json` (those that exist) and prints two
Markdown tables: the suites (passes/cases, seconds (mean and median), requests, decision requests
(`usage.decisions`: 0 in files written before it was counted apart) and tokens per task, runs that raised) and the
leaderboard sample's categories (passes/items, seconds and tokens per item).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

SUITES = ("main", "holdout", "third", "fourth")


def suite_rows(prefix: str) -> list[str]:
    rows = [
        "| suite | passed | s/task (mean) | s/task (median) | requests/task | decisions/task | tokens/task | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in SUITES:
        path = Path(f"{prefix}_{name}.json")
        if not path.exists():
            continue
        report = json.loads(path.read_text())
        summary = next(iter(report["summary"].values()))
        median = statistics.median(run["seconds"] for run in report["runs"])
        decisions = statistics.fmean((run.get("usage") or {}).get("decisions", 0) for run in report["runs"])
        rows.append(
            f"| {name} | {summary['passed']}/{summary['runs']} | {summary['mean_seconds']:.1f} | {median:.1f} | "
            f"{summary['requests']:.2f} | {decisions:.2f} | {summary['tokens']:.0f} | {summary['errors']} |"
        )
    return rows


def bfcl_rows(prefix: str) -> list[str]:
    path = Path(f"{prefix}_bfcl.json")
    if not path.exists():
        return []
    rows = ["| category | passed | s/item | tokens/item |", "|---|---|---|---|"]
    for row in json.loads(path.read_text())["summary"]:
        rows.append(
            f"| {row['category']} | {row['passed']}/{row['items']} | {row['seconds_per_item']:.1f} | "
            f"{row['tokens_per_item']:.0f} |"
        )
    return rows


def main(argv: list[str]) -> int:
    prefix = argv[0] if argv else "benchmarks/evals/results/baseline"
    print("\n".join(suite_rows(prefix)))
    bfcl = bfcl_rows(prefix)
    if bfcl:
        print()
        print("\n".join(bfcl))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
