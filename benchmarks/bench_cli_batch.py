"""`agentkit batch` against the library's own concurrent runs, side by side in one run.

    python benchmarks/bench_cli_batch.py [--tasks 2000] [--concurrency 64] [--rounds 3] [--engine ray]
                                         [--json OUT]

Both sides run the same 2-turn task (one `get_weather` call, then the answer) against `server.py` (the
instant loopback server, keep-alive, TCP_NODELAY), each in a fresh process with the same agent built from
the environment, as the README shows it:

- **cli**: `python -m agentkit batch tasks.jsonl --out results.jsonl --tools reference_tools.py:get_weather
  --concurrency C --json-summary` (progress as plain lines: stderr is a pipe), every result line checked;
- **library**: `asyncio.gather` over `agent.run(prompt)` for every task, `C` at once (a semaphore);
- **ray** (with `--engine ray`, needs `agentkit[ray]`): the same `agentkit batch` command with `--engine
  ray`, on a local Ray it starts (one worker per CPU): its throughput, and its start-up cost (Ray started
  and the workers' agents built, `engine_start_s` of the summary) apart.

Throughput is tasks per second from the first task started to the last one finished (the CLI reports its
own span in `--json-summary`; process start-up and imports are outside it on both sides, and reported
apart as the whole process's wall time). The ratio cli / library is the cost of the command's driver,
progress and file writes (goal: at least 0.9). Memory per in-flight task is the peak RSS of a run at
concurrency C less that of a run at concurrency 1 (same tasks), over C - 1. Rounds alternate which side
goes first; medians are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PROMPT = "scenario=2turn Please help me with my errands."
EXPECTED = "done after 1 tool results"
TOOLS_SPEC = f"{HERE / 'reference_tools.py'}:get_weather"
BASELINE_TASKS = 50


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def environment(base_url: str) -> dict[str, str]:
    from server import MODEL_NAME

    path = os.pathsep.join(filter(None, [str(REPO), str(HERE), os.environ.get("PYTHONPATH", "")]))
    return {
        **os.environ,
        "AGENTKIT_BASE_URL": base_url,
        "AGENTKIT_MODEL": MODEL_NAME,
        "AGENTKIT_API_KEY": "x",
        "PYTHONPATH": path,
    }


def run_process(args: list[str], env: dict[str, str]) -> tuple[str, float]:
    """Run `args`; its stdout and wall seconds (start-up included)."""
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{args[:4]}... exited {done.returncode}:\n{done.stderr[-2000:]}")
    return done.stdout, wall


def cli_side(
    base_url: str, tasks: int, concurrency: int, work: Path, *, engine: str = "local"
) -> dict[str, Any]:
    tasks_file, out = work / "tasks.jsonl", work / f"results-{tasks}-{concurrency}.jsonl"
    tasks_file.write_text(
        "".join(json.dumps({"id": i, "prompt": PROMPT}) + "\n" for i in range(tasks)), encoding="utf-8"
    )
    out.unlink(missing_ok=True)
    args = [
        sys.executable,
        str(Path(__file__)),
        "--child-cli",
        str(tasks_file),
        str(out),
        str(concurrency),
        engine,
    ]
    stdout, wall = run_process(args, environment(base_url))
    report = json.loads(stdout)
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    bad = [r for r in lines if r["error"] is not None or r["output"] != EXPECTED]
    if len(lines) != tasks or bad:
        raise RuntimeError(f"{engine}: {len(lines)} lines for {tasks} tasks, {len(bad)} wrong: {bad[:2]}")
    summary = report["summary"]
    return {
        "tasks_per_s": tasks / summary["elapsed_s"],
        "wall_s": wall,
        "peak_rss": report["rss"],
        "engine_start_s": summary["engine_start_s"],
    }


def library_side(base_url: str, tasks: int, concurrency: int) -> dict[str, Any]:
    args = [sys.executable, str(Path(__file__)), "--child-library", str(tasks), str(concurrency)]
    stdout, wall = run_process(args, environment(base_url))
    report = json.loads(stdout)
    return {"tasks_per_s": tasks / report["elapsed_s"], "wall_s": wall, "peak_rss": report["rss"]}


def child_cli(tasks_file: str, out: str, concurrency: int, engine: str) -> None:
    """In the child: `agentkit batch` as the console script runs it, then this process's peak RSS."""
    import contextlib
    import io
    import resource

    from reference_tools import INSTRUCTIONS

    from agentkit.cli import main

    argv = ["batch", tasks_file, "--out", out, "--tools", TOOLS_SPEC, "--instructions", INSTRUCTIONS]
    argv += ["--concurrency", str(concurrency), "--json-summary", "--engine", engine]
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        code = main(argv)
    if code != 0:
        raise SystemExit(f"agentkit batch exited {code}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"summary": json.loads(captured.getvalue()), "rss": rss}))


def child_library(tasks: int, concurrency: int) -> None:
    """In the child: the library's own concurrent runs of the same agent."""
    import resource

    from reference_tools import INSTRUCTIONS, get_weather

    from agentkit import Agent

    agent = Agent(instructions=INSTRUCTIONS, tools=[get_weather])

    async def main() -> float:
        limit = asyncio.Semaphore(concurrency)

        async def one() -> str:
            async with limit:
                return (await agent.run(PROMPT)).output

        start = time.perf_counter()
        outputs = await asyncio.gather(*(one() for _ in range(tasks)))
        elapsed = time.perf_counter() - start
        await agent.model.aclose()
        if any(output != EXPECTED for output in outputs):
            raise SystemExit("library: a wrong answer")
        return elapsed

    elapsed = asyncio.run(main())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"elapsed_s": elapsed, "rss": rss}))


def run_side(side: str, base_url: str, tasks: int, concurrency: int, work: Path) -> dict[str, Any]:
    if side == "cli":
        return cli_side(base_url, tasks, concurrency, work)
    if side == "ray":
        return cli_side(base_url, tasks, concurrency, work, engine="ray")
    return library_side(base_url, tasks, concurrency)


def measure(base_url: str, tasks: int, concurrency: int, rounds: int, *, ray: bool) -> dict[str, Any]:
    names = ["cli", "library", *(["ray"] if ray else [])]
    sides: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        baseline = {
            "cli": cli_side(base_url, BASELINE_TASKS, 1, work)["peak_rss"],
            "library": library_side(base_url, BASELINE_TASKS, 1)["peak_rss"],
        }
        for round_ in range(rounds):
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for side in order:
                log(f"round {round_ + 1}/{rounds}: {side}, {tasks} tasks at concurrency {concurrency}")
                sides[side].append(run_side(side, base_url, tasks, concurrency, work))
    figures: dict[str, Any] = {}
    for side, results in sides.items():
        peak = statistics.median(r["peak_rss"] for r in results)
        figures[side] = {
            "tasks_per_s": statistics.median(r["tasks_per_s"] for r in results),
            "tasks_per_s_all": [round(r["tasks_per_s"], 1) for r in results],
            "process_wall_s": statistics.median(r["wall_s"] for r in results),
            "peak_rss_mib": peak / 2**20,
        }
        if side in baseline:
            extra = max(0.0, peak - baseline[side]) / max(1, concurrency - 1) / 1024
            figures[side]["rss_per_in_flight_task_kib"] = extra
        if side == "ray":  # the driver's RSS only: the workers are processes of their own
            figures[side]["engine_start_s"] = statistics.median(r["engine_start_s"] for r in results)
    figures["throughput_ratio_cli_over_library"] = (
        figures["cli"]["tasks_per_s"] / figures["library"]["tasks_per_s"]
    )
    return figures


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-cli":
        child_cli(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--child-library":
        child_library(int(sys.argv[2]), int(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--engine", choices=["local", "ray"], default="local", help="ray: also the batch on a local Ray"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    from run import Server, machine_info

    server = Server()
    try:
        figures = measure(
            server.base_url, args.tasks, args.concurrency, args.rounds, ray=args.engine == "ray"
        )
    finally:
        server.close()
    document = {
        "machine": machine_info(),
        "load_average_end": os.getloadavg(),
        "tasks": args.tasks,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        **figures,
    }
    print(render(document))
    if args.json:
        args.json.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return 0


def render(document: dict[str, Any]) -> str:
    cli, library = document["cli"], document["library"]
    rows = [
        f"{document['tasks']} tasks, concurrency {document['concurrency']}, {document['rounds']} rounds "
        f"(load average {document['machine']['load_average_start'][0]:.2f} -> "
        f"{document['load_average_end'][0]:.2f})",
        f"{'':34} {'agentkit batch':>16} {'library gather':>16}",
        f"{'tasks/s (median)':34} {cli['tasks_per_s']:>16.1f} {library['tasks_per_s']:>16.1f}",
        f"{'process wall time, start-up incl.':34} {cli['process_wall_s']:>15.2f}s {library['process_wall_s']:>15.2f}s",
        f"{'peak RSS':34} {cli['peak_rss_mib']:>12.1f} MiB {library['peak_rss_mib']:>12.1f} MiB",
        f"{'RSS per in-flight task':34} {cli['rss_per_in_flight_task_kib']:>12.1f} KiB "
        f"{library['rss_per_in_flight_task_kib']:>12.1f} KiB",
        f"throughput ratio cli / library: {document['throughput_ratio_cli_over_library']:.3f} (goal >= 0.9)",
    ]
    if "ray" in document:
        ray = document["ray"]
        rows += [
            f"{'':34} {'batch --engine ray':>20} {'batch (local)':>16}",
            f"{'tasks/s (median)':34} {ray['tasks_per_s']:>20.1f} {cli['tasks_per_s']:>16.1f}",
            f"{'start-up: Ray and workers ready':34} {ray['engine_start_s']:>19.2f}s {'-':>16}",
            f"{'process wall time, start-up incl.':34} {ray['process_wall_s']:>19.2f}s {cli['process_wall_s']:>15.2f}s",
            f"{'peak RSS (driver only for ray)':34} {ray['peak_rss_mib']:>16.1f} MiB {cli['peak_rss_mib']:>12.1f} MiB",
        ]
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
