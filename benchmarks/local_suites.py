"""The local model's four eval suites (and the leaderboard sample) with issue 26's mechanisms on or off.

    python benchmarks/local_suites.py run --tag after                 # the local profile as shipped
    python benchmarks/local_suites.py run --tag before --off new      # all eight mechanisms off
    python benchmarks/local_suites.py run --tag no-trace --off trace_numbers --suites fourth,third
    python benchmarks/local_suites.py run --tag no-decide --off decide_tool_use --bfcl
    python benchmarks/evals/table.py benchmarks/evals/results/after   # the figures, as markdown

`run` calls `agentkit eval CASES --agent benchmarks/evals/local_agents.py:SUITE --concurrency 1 --json
benchmarks/evals/results/TAG_SUITE.json` for each suite, with `AGENTKIT_LOCAL_OFF` set from `--off`
(see local_agents.py), and with `--bfcl` also `bfcl_sample.py` with the same profile fields off
(`TAG_bfcl.json`; the run policy plays no part in a first reply). `evals/table.py` reads those files.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "evals" / "results"
SUITES = ("main", "holdout", "third", "fourth")
sys.path.insert(0, str(HERE / "evals"))


def run(tag: str, off: str, on: str, suites: list[str], bfcl: bool) -> None:
    from local_agents import profile_overrides, switched_off

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
        switched = profile_overrides(switched_off(off), switched_off(on))
        fields = [f"--profile={override}" for override in switched]
        command = [
            sys.executable,
            str(HERE / "bfcl_sample.py"),
            *fields,
            "--json",
            str(RESULTS / f"{tag}_bfcl.json"),
        ]
        print("$", " ".join(command), flush=True)
        subprocess.run(command, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run")
    runner.add_argument("--tag", required=True)
    runner.add_argument("--off", default="", help="mechanisms off, comma-separated (new: all eight)")
    runner.add_argument("--on", default="", help="mechanisms to turn on (any the local profile leaves off)")
    runner.add_argument("--suites", default=",".join(SUITES))
    runner.add_argument("--bfcl", action="store_true", help="also the leaderboard sample")
    args = parser.parse_args()
    run(args.tag, args.off, args.on, [s for s in args.suites.split(",") if s], args.bfcl)


if __name__ == "__main__":
    main()
