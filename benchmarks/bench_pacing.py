"""Concurrent runs against a rate-limited provider: do they wait their turn instead of collecting 429s?

    python benchmarks/bench_pacing.py [--quick] [--runs 500] [--limit 60] [--window 10] [--sides library,cli]
                                      [--json OUT]

`server.py --rate-limit 60/10` allows 60 requests per fixed 10-second window (the first starts at the first
request) and answers HTTP 429 past it; every answer states the limit in OpenRouter's headers
(`X-RateLimit-Limit`, `-Remaining`, `-Reset`), a 429 adds `Retry-After`. Against it, in a fresh process each
and a fresh server each, with nothing configured (agentkit learns the limit from the headers):

- **library**: `asyncio.gather` over `agent.run(prompt)` for `--runs` runs at once (`Agent()` from the
  environment, as the README shows it), one request per run;
- **cli**: `agentkit batch TASKS --out RESULTS --concurrency RUNS` (local engine), every result line checked;
- **ray** (with `--sides ...,ray`, needs `agentkit[ray]`): the same command with `--engine ray`.

Figures per side: runs that failed (goal 0), the share of requests answered 429 (goal at most 1%), and the
throughput: requests served per second from the server's first request to its last served one, over the
allowed rate `limit / window` (goal at least 0.9). With fixed windows the first window's requests all go at
once and the last request arrives as the last window opens, so the best possible figure is
`runs / ((ceil(runs / limit) - 1) * window)` over the allowed rate (printed too). `--quick` is 200 runs with a 2-second window. `--cost` measures only the pacer's own
work per request when nothing waits (taking a slot, reading the answer's headers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PROMPT = "scenario=1turn Please answer."
EXPECTED = "done after 0 tool results"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class RateLimitedServer:
    """`server.py --rate-limit N/S` in a subprocess."""

    def __init__(self, limit: int, window: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "server.py"), "--rate-limit", f"{limit}/{window}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.base_url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}/v1"

    def health(self) -> dict[str, Any]:
        root = self.base_url.removesuffix("/v1")
        with urllib.request.urlopen(f"{root}/health", timeout=10) as response:
            result: dict[str, Any] = json.load(response)
            return result

    def __enter__(self) -> RateLimitedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def environment(base_url: str) -> dict[str, str]:
    from server import MODEL_NAME

    path = os.pathsep.join(filter(None, [str(REPO), str(HERE), os.environ.get("PYTHONPATH", "")]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTKIT_")}
    return {
        **env,
        "AGENTKIT_BASE_URL": base_url,
        "AGENTKIT_MODEL": MODEL_NAME,
        "AGENTKIT_API_KEY": "x",
        "PYTHONPATH": path,
    }


def child_library(runs: int) -> None:
    """In the child: `runs` concurrent runs of the README's agent; failures counted, not raised."""
    from agentkit import Agent

    agent = Agent()

    async def one() -> bool:
        try:
            return (await agent.run(PROMPT)).output == EXPECTED
        except Exception as exc:  # a failed run is a figure here
            log(f"run failed: {type(exc).__name__}: {exc}")
            return False

    async def main() -> tuple[float, int]:
        start = time.time()
        ok = await asyncio.gather(*(one() for _ in range(runs)))
        return time.time() - start, ok.count(False)

    elapsed, failed = asyncio.run(main())
    print(json.dumps({"elapsed_s": elapsed, "failed": failed}))


def child_cli(tasks_file: str, out: str, runs: int, engine: str) -> None:
    """In the child: `agentkit batch` as the console script runs it."""
    import contextlib
    import io

    from agentkit.cli import main

    argv = [
        "batch",
        tasks_file,
        "--out",
        out,
        "--concurrency",
        str(runs),
        "--json-summary",
        "--engine",
        engine,
    ]
    captured = io.StringIO()
    start = time.time()
    with contextlib.redirect_stdout(captured):
        code = main(argv)
    elapsed = time.time() - start
    lines = [json.loads(line) for line in Path(out).read_text(encoding="utf-8").splitlines()]
    failed = runs - sum(1 for r in lines if r["error"] is None and r["output"] == EXPECTED)
    summary = json.loads(captured.getvalue())
    print(
        json.dumps(
            {
                "elapsed_s": elapsed,
                "failed": failed,
                "exit": code,
                "summary": summary,
            }
        )
    )


def side(name: str, runs: int, limit: int, window: float) -> dict[str, Any]:
    with RateLimitedServer(limit, window) as server, tempfile.TemporaryDirectory() as folder:
        if name == "library":
            args = [sys.executable, __file__, "--child-library", str(runs)]
        else:
            tasks, out = Path(folder) / "tasks.jsonl", Path(folder) / "results.jsonl"
            tasks.write_text("".join(json.dumps({"id": i, "prompt": PROMPT}) + "\n" for i in range(runs)))
            engine = "ray" if name == "ray" else "local"
            args = [sys.executable, __file__, "--child-cli", str(tasks), str(out), str(runs), engine]
        done = subprocess.run(
            args, env=environment(server.base_url), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{name}: exit {done.returncode}\n{done.stderr[-3000:]}")
        child = json.loads(done.stdout.strip().splitlines()[-1])
        stats = server.health()
    # From the server's first request to its last served one: the child's start-up, imports, Ray's start and
    # shutdown are not the limiter's doing.
    served, refused = stats["allowed"], stats["refused"]
    elapsed = stats["last_s"] - stats["first_s"]
    allowed_rate = limit / window
    ideal = runs / ((math.ceil(runs / limit) - 1) * window) if runs > limit else math.inf
    return {
        "runs": runs,
        "failed": child["failed"],
        "requests": served + refused,
        "served": served,
        "refused_429": refused,
        "share_429": refused / max(1, served + refused),
        "elapsed_s": elapsed,
        "served_per_s": served / elapsed,
        "allowed_per_s": allowed_rate,
        "throughput_over_allowed": served / elapsed / allowed_rate,
        "ideal_over_allowed": ideal / allowed_rate,
    }


def bookkeeping_cost(n: int = 100_000) -> dict[str, float]:
    """µs per request of the pacer's own work when no request waits (best of 5 loops of `n`): taking a slot and
    reading an answer's headers, without limit headers and with OpenRouter's."""
    import httpx2

    from agentkit.models._pacing import Pacer

    plain = {
        "content-type": "application/json",
        "content-length": "500",
        "date": "x",
        "connection": "keep-alive",
    }
    reset = str(int((time.time() + 3600) * 1000))
    stated = {
        **plain,
        "X-RateLimit-Limit": "1000000",
        "X-RateLimit-Remaining": "999999",
        "X-RateLimit-Reset": reset,
    }

    async def loop(headers: httpx2.Headers) -> float:
        pacer = Pacer()
        pacer.seen = True
        best = math.inf
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(n):
                await pacer.acquire()
                pacer.learn(headers, 200)
            best = min(best, (time.perf_counter() - start) / n * 1e6)
        return best

    return {
        "no_limit_headers_us": asyncio.run(loop(httpx2.Headers(plain))),
        "openrouter_headers_us": asyncio.run(loop(httpx2.Headers(stated))),
    }


def render(results: dict[str, Any], limit: int, window: float) -> str:
    lines = [f"  server: {limit} requests per {window:g} s, then 429 (OpenRouter's headers)"]
    for name, r in results.items():
        lines.append(
            f"  {name:<8} {r['runs']} runs, {r['failed']} failed; {r['requests']} requests, "
            f"{r['refused_429']} answered 429 ({100 * r['share_429']:.2f}%); {r['served_per_s']:.2f} req/s in "
            f"{r['elapsed_s']:.1f} s = {r['throughput_over_allowed']:.3f} of the allowed rate "
            f"(ideal {r['ideal_over_allowed']:.3f})"
        )
    return "\n".join(lines)


def measure(runs: int, limit: int, window: float, sides: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in sides:
        log(f"pacing: {name}, {runs} runs against {limit} requests per {window:g} s")
        results[name] = side(name, runs, limit, window)
    return {"limit": limit, "window_s": window, "sides": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 runs, 60 requests per 2 s")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--window", type=float)
    parser.add_argument("--sides", default="library,cli", help="comma-separated: library, cli, ray")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--cost", action="store_true", help="only the pacer's own cost per request (µs)")
    parser.add_argument("--child-library", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-cli", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_library is not None:
        child_library(args.child_library)
        return
    if args.child_cli is not None:
        tasks, out, runs, engine = args.child_cli
        child_cli(tasks, out, int(runs), engine)
        return
    if args.cost:
        cost = bookkeeping_cost()
        print(
            f"pacer bookkeeping per request: {cost['no_limit_headers_us']:.2f} µs without limit headers, "
            f"{cost['openrouter_headers_us']:.2f} µs with OpenRouter's"
        )
        return
    runs = args.runs or (200 if args.quick else 500)
    window = args.window or (2.0 if args.quick else 10.0)
    figures = measure(runs, args.limit, window, [s for s in args.sides.split(",") if s])
    print(render(figures["sides"], args.limit, window))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
