"""The local model's four eval suites (and the leaderboard sample) with issue 26's mechanisms on or off.

    python benchmarks/local_suites.py run --tag after                 # the local profile as shipped
    python benchmarks/local_suites.py run --tag before --off new      # all five mechanisms off
    python benchmarks/local_suites.py run --tag no-trace --off trace_numbers --suites fourth,third
    python benchmarks/local_suites.py run --tag decide --on decide_tool_use --bfcl
    python benchmarks/local_suites.py table before after              # side by side, as markdown

`run` calls `agentkit eval CASES --agent benchmarks/evals/local_agents.py:SUITE --concurrency 1 --json
benchmarks/evals/results/TAG_SUITE.json` for each suite, with `AGENTKIT_LOCAL_OFF` set from `--off`
(see local_agents.py), and with `--bfcl` also `bfcl_sample.py` with the same profile fields off
(`TAG_bfcl.json`; the run policy plays no part in a first reply). `table` reads those files: passes,
seconds, requests and tokens per task, for each suite and each leaderboard category.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "evals" / "results"
SUITES = ("main", "holdout", "third", "fourth")
sys.path.insert(0, str(HERE / "evals"))


def run(tag: str, off: str, on: str, suites: list[str], bfcl: bool) -> None:
    from local_agents import PROFILE_FIELDS, switched_off

    RESULTS.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "AGENTKIT_LOCAL_OFF": off, "AGENTKIT_LOCAL_ON": on}
    for suite in suites:
        out = RESULTS / f"{tag}_{suite}.json"
        command = [
            sys.executable, "-m", "agentkit", "eval", str(HERE / "evals" / f"local_{suite}.yaml"),
            "--agent", f"{HERE / 'evals' / 'local_agents.py'}:{suite}", "--concurrency", "1", "--json", str(out),
        ]  # fmt: skip
        print("$", " ".join(command), flush=True)
        subprocess.run(command, env=env, check=True)
    if bfcl:
        fields = [f"--profile={name}=true" for name in PROFILE_FIELDS if name in switched_off(on)]
        fields += [f"--profile={name}=false" for name in PROFILE_FIELDS if name in switched_off(off)]
        command = [
            sys.executable,
            str(HERE / "bfcl_sample.py"),
            *fields,
            "--json",
            str(RESULTS / f"{tag}_bfcl.json"),
        ]
        print("$", " ".join(command), flush=True)
        subprocess.run(command, check=True)


def _suite_row(path: Path) -> str:
    if not path.exists():
        return "–"
    summary = next(iter(json.loads(path.read_text())["summary"].values()))
    return (
        f"{summary['passed']}/{summary['runs']}, {summary['mean_seconds']:.1f} s, "
        f"{summary['requests']:.1f} req, {summary['tokens']:,.0f} tok"
    )


def _bfcl_rows(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text())
    return {
        row["category"]: f"{row['passed']}/{row['items']}, {row['seconds_per_item']:.1f} s, "
        f"{row['tokens_per_item']:,.0f} tok"
        for row in data["summary"]
    }


def table(tags: list[str]) -> str:
    lines = ["| | " + " | ".join(tags) + " |", "|---" * (len(tags) + 1) + "|"]
    for suite in SUITES:
        lines.append(
            f"| suite {suite} | " + " | ".join(_suite_row(RESULTS / f"{t}_{suite}.json") for t in tags) + " |"
        )
    bfcl = [_bfcl_rows(RESULTS / f"{t}_bfcl.json") for t in tags]
    for name in dict.fromkeys(k for rows in bfcl for k in rows):
        lines.append(f"| BFCL {name} | " + " | ".join(rows.get(name, "–") for rows in bfcl) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run")
    runner.add_argument("--tag", required=True)
    runner.add_argument("--off", default="", help="mechanisms off, comma-separated (new: all five)")
    runner.add_argument(
        "--on", default="", help="mechanisms on that the local profile leaves off (decide_tool_use)"
    )
    runner.add_argument("--suites", default=",".join(SUITES))
    runner.add_argument("--bfcl", action="store_true", help="also the leaderboard sample")
    shower = commands.add_parser("table")
    shower.add_argument("tags", nargs="+")
    args = parser.parse_args()
    if args.command == "run":
        run(args.tag, args.off, args.on, [s for s in args.suites.split(",") if s], args.bfcl)
    else:
        print(table(args.tags))


if __name__ == "__main__":
    main()
