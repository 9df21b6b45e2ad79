"""10,000 concurrent 2-turn runs in one process: agentkit against the raw SDK loop.

    python benchmarks/bench_many_runs.py [--runs 10000] [--frameworks raw,agentkit] [--traced] [--json OUT]

The concurrency benchmark of `run.py` (harness.bench_concurrency: 50 warm-up runs, then `--runs` runs at
once with `asyncio.gather`, every answer checked) at a larger count, each framework in a fresh process
against `server.py` (instant answers, keep-alive, TCP_NODELAY), both given the same `AsyncOpenAI` client
(100 connections). Prints, per framework: the time, runs per second, and the peak RSS the runs added over
their count (KiB per run); with `--traced`, one more round under tracemalloc (its peak per run). Then the
ratios agentkit / raw. One round each: at 10,000 runs a round takes minutes on a small machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import FRAMEWORKS, Server, env_for  # noqa: E402


def measure(name: str, runs: int, traced: bool, base_url: str) -> dict[str, Any]:
    fw = next(f for f in FRAMEWORKS if f.name == name)
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        args = [sys.executable, str(HERE / fw.script), "--base-url", base_url, "--bench", "concurrency"]
        args += ["--runs", str(runs), "--concurrency-reps", "1", "--out", out.name]
        done = subprocess.run(
            [*args, *(["--traced"] if traced else [])],
            env={**os.environ, **env_for(fw, base_url)},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{name}: exit {done.returncode}\n{done.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(Path(out.name).read_text())["concurrency"]
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--frameworks", default="raw,agentkit")
    parser.add_argument("--traced", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    for name in args.frameworks.split(","):
        server = Server()  # a fresh server each: nothing left over from the other's runs
        try:
            print(f"{name}: {args.runs} concurrent runs", file=sys.stderr, flush=True)
            figures[name] = measure(name, args.runs, args.traced, server.base_url)
        finally:
            server.close()
    for name, r in figures.items():
        traced = r.get("traced_peak_per_run_bytes")
        print(
            f"{name:<9} {r['runs']} runs in {r['total_s']['median']:.2f} s = {r['runs_per_s']:.0f} runs/s; "
            f"peak RSS {r['peak_rss_per_run_bytes'] / 1024:.1f} KiB per run"
            + (f"; traced {traced / 1024:.1f} KiB per run" if traced else "")
        )
    if {"raw", "agentkit"} <= figures.keys():
        raw, ours = figures["raw"], figures["agentkit"]
        print(
            f"agentkit/raw: {ours['runs_per_s'] / raw['runs_per_s']:.2f}x the throughput, "
            f"{ours['peak_rss_per_run_bytes'] / raw['peak_rss_per_run_bytes']:.2f}x the memory per run"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
