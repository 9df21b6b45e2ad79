"""The measuring side of one framework's benchmark process, shared by the `runner_*.py` scripts.

A runner script defines, in its framework's idiom, how to make an agent run and how to build the reference
tools, then calls `main(sys.modules[__name__])`. `run.py` starts each runner as a subprocess with that
framework's own Python (so peers can live in separate venvs), and reads back a JSON file.

A runner module provides:

* `NAME`: the framework's short name; `DISTRIBUTION`: its distribution name on PyPI (for the version).
* `make_run(base_url, toolset) -> async (prompt) -> str`: a callable that does one whole agent run and returns
  the final text. `toolset` is `"reference"` (the 10 tools), `"pause_sync"` or `"pause_async"`.
* `build_tools(functions) -> list[dict]`: tools built from scratch from the reference functions (fresh copies,
  so no per-function cache answers), in the form the framework sends as the chat-completions `tools` array
  for a Gemini model. The raw loop's are hand-written, so it ignores `functions`.
* `make_stream(base_url) -> async (prompt, on_text) -> str`: one streamed run over the reference tools that
  calls `on_text(piece)` for every text delta the framework hands its user, and returns the final text.
* `make_default(base_url) -> (sync (prompt) -> str, async (prompt) -> str)`: the framework as its README
  shows it, with no client of ours: a synchronous run (called from a thread with no event loop) and an
  async one, over separately built agents.

Only the standard library is imported here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.metadata
import json
import os
import resource
import statistics
import sys
import time
import tracemalloc
import types
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

RunFn = Callable[[str], Awaitable[str]]
SyncRunFn = Callable[[str], str]
StreamFn = Callable[[str, Callable[[str], None]], Awaitable[str]]

EXPECTED_OUTPUT = {"2turn": "done after 1 tool results", "10turn": "done after 9 tool results"}
PARALLEL_EXPECTED = "done after 8 tool results"
PAUSE_FLOOR_MS = 200.0
MAX_CONNECTIONS = 100
"""Connection limit of every framework's client. The SDK's default (1,000) makes httpx2's pool scan every
connection on every request: at 1,000 concurrent runs that alone tripled the client's CPU time per run."""


def summarize(samples: list[float]) -> dict[str, float]:
    """Median and spread of a list of samples (in whatever unit they are in)."""
    ordered = sorted(samples)
    n = len(ordered)
    if n == 0:
        return {"n": 0}
    if n >= 4:
        p10, *_, p90 = statistics.quantiles(ordered, n=10, method="inclusive")
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        p10, p90, q1, q3 = ordered[0], ordered[-1], ordered[0], ordered[-1]
    return {
        "n": n,
        "median": statistics.median(ordered),
        "mean": statistics.fmean(ordered),
        "stdev": statistics.stdev(ordered) if n > 1 else 0.0,
        "min": ordered[0],
        "max": ordered[-1],
        "p10": p10,
        "p90": p90,
        "iqr": q3 - q1,
    }


def current_rss_bytes() -> int:
    """The process's resident set size now (Linux: /proc/self/statm)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """The process's peak resident set size so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def raise_file_limit() -> None:
    """Raise the open-file soft limit to the hard limit: 1,000 concurrent runs hold 1,000 sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def openai_client(base_url: str) -> Any:
    """The `AsyncOpenAI` client every framework is given, so they all send through the same client setup."""
    import httpx2
    import openai

    limits = httpx2.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS)
    return openai.AsyncOpenAI(
        base_url=base_url, api_key="x", http_client=openai.DefaultAsyncHttpxClient(limits=limits)
    )


def server_stats(base_url: str, run_id: str) -> dict[str, Any]:
    """What the server recorded for one run (see server.py); fails if it recorded nothing."""
    root = base_url.removesuffix("/").removesuffix("/v1")
    with urllib.request.urlopen(f"{root}/stats?run={run_id}", timeout=10) as response:
        record = json.load(response)
    if not record:
        raise RuntimeError(f"the server recorded nothing for run {run_id}")
    return record


def _check(output: object, expected: str) -> None:
    if not isinstance(output, str) or output.strip() != expected:
        raise RuntimeError(f"unexpected final output {output!r}, wanted {expected!r}")


async def bench_overhead(runner: ModuleType, base_url: str, reps: dict[str, int]) -> dict[str, Any]:
    """Sequential runs of the 2-turn and 10-turn scenarios; per-run wall time in microseconds."""
    out: dict[str, Any] = {}
    run: RunFn = runner.make_run(base_url, "reference")
    for scenario, expected in EXPECTED_OUTPUT.items():
        prompt = f"scenario={scenario} Please help me with my errands."
        count = reps[scenario]
        for _ in range(max(3, count // 10)):  # warm-up: lazy imports, connection pool, caches
            _check(await run(prompt), expected)
        samples = []
        for _ in range(count):
            start = time.perf_counter_ns()
            output = await run(prompt)
            samples.append((time.perf_counter_ns() - start) / 1000)
            _check(output, expected)
        out[scenario] = overhead_summary(samples, scenario)
    return out


def overhead_summary(samples: list[float], scenario: str) -> dict[str, Any]:
    """The overhead figures of one scenario from its per-run samples (µs); run.py pools rounds with it."""
    turns = 2 if scenario == "2turn" else 10
    summary = summarize(samples)
    return {"run_us": summary, "per_turn_us": summary["median"] / turns, "samples_us": samples}


def merge_overhead(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Pool several rounds of `bench_overhead` results."""
    return {
        scenario: overhead_summary([x for part in parts for x in part[scenario]["samples_us"]], scenario)
        for scenario in parts[0]
    }


async def bench_parallel(runner: ModuleType, base_url: str, reps: int) -> dict[str, Any]:
    """One turn of 8 calls to a 200 ms tool; the tool phase as the server sees it, in milliseconds."""
    out: dict[str, Any] = {}
    for toolset in ("pause_sync", "pause_async"):
        run: RunFn = runner.make_run(base_url, toolset)
        phases, walls = [], []
        for index in range(reps + 1):  # the first run warms up and is not counted
            run_id = uuid.uuid4().hex
            start = time.perf_counter_ns()
            output = await run(f"scenario=parallel8 run={run_id} Please wait eight times.")
            wall_ms = (time.perf_counter_ns() - start) / 1e6
            _check(output, PARALLEL_EXPECTED)
            requests = server_stats(base_url, run_id)["requests"]
            phase_ms = (requests[1]["recv_ns"] - requests[0]["sent_ns"]) / 1e6
            if index:
                phases.append(phase_ms)
                walls.append(wall_ms)
        out[toolset] = parallel_summary(phases, walls)
    return out


def parallel_summary(phases: list[float], walls: list[float]) -> dict[str, Any]:
    """The parallel-tools figures from tool-phase and whole-run samples (ms)."""
    phase = summarize(phases)
    return {
        "tool_phase_ms": phase,
        "run_ms": summarize(walls),
        "floor_ms": PAUSE_FLOOR_MS,
        "over_floor_ms": phase["median"] - PAUSE_FLOOR_MS,
        "x_floor": phase["median"] / PAUSE_FLOOR_MS,
        "samples": {"tool_phase_ms": phases, "run_ms": walls},
    }


def merge_parallel(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Pool several rounds of `bench_parallel` results."""
    return {
        kind: parallel_summary(
            [x for part in parts for x in part[kind]["samples"]["tool_phase_ms"]],
            [x for part in parts for x in part[kind]["samples"]["run_ms"]],
        )
        for kind in parts[0]
    }


async def bench_streaming(runner: ModuleType, base_url: str, reps: int) -> dict[str, Any]:
    """Streamed 2-turn runs: time to the run's first non-empty text delta, and to the end of the run (µs)."""
    stream: StreamFn = runner.make_stream(base_url)
    prompt = "scenario=2turn Please help me with my errands."
    for _ in range(max(3, reps // 10)):  # warm-up
        await _stream_once(stream, prompt)
    first, whole, deltas = [], [], []
    for _ in range(reps):
        first_us, whole_us, count = await _stream_once(stream, prompt)
        first.append(first_us)
        whole.append(whole_us)
        deltas.append(count)
    return streaming_summary(first, whole, deltas)


async def _stream_once(stream: StreamFn, prompt: str) -> tuple[float, float, int]:
    pieces: list[str] = []
    first_ns = 0

    def on_text(piece: str) -> None:
        nonlocal first_ns
        if piece:
            if not first_ns:
                first_ns = time.perf_counter_ns()
            pieces.append(piece)

    start = time.perf_counter_ns()
    output = await stream(prompt, on_text)
    end = time.perf_counter_ns()
    expected = EXPECTED_OUTPUT["2turn"]
    _check(output, expected)
    _check("".join(pieces), expected)
    return (first_ns - start) / 1000, (end - start) / 1000, len(pieces)


def streaming_summary(first: list[float], whole: list[float], deltas: list[int]) -> dict[str, Any]:
    """The streaming figures from per-run samples (µs, and text deltas per run)."""
    return {
        "first_delta_us": summarize(first),
        "run_us": summarize(whole),
        "deltas_per_run": statistics.median(deltas) if deltas else 0,
        "samples": {"first_delta_us": first, "run_us": whole, "deltas": deltas},
    }


def merge_streaming(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Pool several rounds of `bench_streaming` results."""
    return streaming_summary(
        *(
            [x for part in parts for x in part["samples"][key]]
            for key in ("first_delta_us", "run_us", "deltas")
        )
    )


async def bench_default_path(runner: ModuleType, base_url: str, reps: int) -> dict[str, Any]:
    """Sequential 2-turn runs of the framework as its README shows it: sync from a thread, then async (µs)."""
    run_sync, run_async = runner.make_default(base_url)
    prompt = "scenario=2turn Please help me with my errands."
    # A thread of its own, with no event loop: what a script calling run_sync() has.
    sync_first, sync_samples = await asyncio.to_thread(_time_sync, run_sync, prompt, reps)
    start = time.perf_counter_ns()
    _check(await run_async(prompt), EXPECTED_OUTPUT["2turn"])
    async_first = (time.perf_counter_ns() - start) / 1000
    for _ in range(max(3, reps // 10)):  # warm-up
        _check(await run_async(prompt), EXPECTED_OUTPUT["2turn"])
    async_samples = []
    for _ in range(reps):
        start = time.perf_counter_ns()
        output = await run_async(prompt)
        async_samples.append((time.perf_counter_ns() - start) / 1000)
        _check(output, EXPECTED_OUTPUT["2turn"])
    return {
        "run_sync": default_summary(sync_samples, [sync_first]),
        "run": default_summary(async_samples, [async_first]),
    }


def _time_sync(run: SyncRunFn, prompt: str, reps: int) -> tuple[float, list[float]]:
    """The first call's time and `reps` timed calls after a warm-up, in a thread with no running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("the sync default path must run where no event loop is running")
    start = time.perf_counter_ns()
    _check(run(prompt), EXPECTED_OUTPUT["2turn"])
    first = (time.perf_counter_ns() - start) / 1000
    for _ in range(max(3, reps // 10)):  # warm-up
        _check(run(prompt), EXPECTED_OUTPUT["2turn"])
    samples = []
    for _ in range(reps):
        start = time.perf_counter_ns()
        output = run(prompt)
        samples.append((time.perf_counter_ns() - start) / 1000)
        _check(output, EXPECTED_OUTPUT["2turn"])
    return first, samples


def default_summary(samples: list[float], firsts: list[float]) -> dict[str, Any]:
    """The default-path figures of one call style: per-run samples and the first run of each process (µs)."""
    return {
        "run_us": summarize(samples),
        "first_run_us": statistics.median(firsts),
        "samples": {"run_us": samples, "first_run_us": firsts},
    }


def merge_default_path(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Pool several rounds of `bench_default_path` results."""
    return {
        style: default_summary(
            [x for part in parts for x in part[style]["samples"]["run_us"]],
            [x for part in parts for x in part[style]["samples"]["first_run_us"]],
        )
        for style in parts[0]
    }


def _compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def fresh_copy(function: Callable[..., Any]) -> Callable[..., Any]:
    """A new function object with the same code, so no per-function cache of a framework can answer."""
    copy = types.FunctionType(
        function.__code__,
        function.__globals__,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    copy.__annotations__ = dict(function.__annotations__)
    copy.__doc__ = function.__doc__
    copy.__module__ = function.__module__
    copy.__qualname__ = function.__qualname__
    return copy


async def bench_schema(runner: ModuleType, base_url: str, reps: int) -> dict[str, Any]:
    """Build time of the reference set, and the bytes of the `tools` array actually sent."""
    from reference_tools import REFERENCE_FUNCTIONS  # needs pydantic, which every framework here has

    batches = [[fresh_copy(f) for f in REFERENCE_FUNCTIONS] for _ in range(reps + 1)]
    start = time.perf_counter_ns()
    built = runner.build_tools(batches[0])
    first_us = (time.perf_counter_ns() - start) / 1000
    per_tool = []
    for batch in batches[1:]:
        start = time.perf_counter_ns()
        runner.build_tools(batch)
        per_tool.append((time.perf_counter_ns() - start) / 1000 / len(batch))
    run: RunFn = runner.make_run(base_url, "reference")
    run_id = uuid.uuid4().hex
    _check(
        await run(f"scenario=2turn run={run_id} Please help me with my errands."), EXPECTED_OUTPUT["2turn"]
    )
    record = server_stats(base_url, run_id)
    sent = record["tools"] or []
    return {
        "tools": len(sent),
        "first_build_us": first_us,
        "build_per_tool_us": summarize(per_tool),
        "sent_tools_bytes": len(_compact(sent)),
        "built_tools_bytes": len(_compact(built)),
        "first_request_bytes": record["first_body_bytes"],
        "sent_tools": sent,
    }


async def bench_concurrency(
    runner: ModuleType, base_url: str, runs: int, reps: int, traced: bool
) -> dict[str, Any]:
    """`runs` concurrent 2-turn runs in this process: time, runs per second and memory per run."""
    raise_file_limit()
    run: RunFn = runner.make_run(base_url, "reference")
    prompt = "scenario=2turn Please help me with my errands."
    expected = EXPECTED_OUTPUT["2turn"]
    for output in await asyncio.gather(*(run(prompt) for _ in range(min(runs, 50)))):
        _check(output, expected)
    gc.collect()
    rss_before, peak_before = current_rss_bytes(), peak_rss_bytes()
    seconds = []
    for _ in range(reps):
        start = time.perf_counter_ns()
        outputs = await asyncio.gather(*(run(prompt) for _ in range(runs)))
        seconds.append((time.perf_counter_ns() - start) / 1e9)
        for output in outputs:
            _check(output, expected)
        del outputs
    peak_after = peak_rss_bytes()
    out: dict[str, Any] = {
        "runs": runs,
        "total_s": summarize(seconds),
        "runs_per_s": runs / statistics.median(seconds),
        "rss_before_bytes": rss_before,
        "peak_rss_bytes": peak_after,
        # ru_maxrss is the peak over the process's life; it was `peak_before` when the timed reps began.
        "peak_rss_per_run_bytes": max(0, peak_after - rss_before) / runs,
        "peak_rss_grew": peak_after > peak_before,
    }
    if traced:
        gc.collect()
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        outputs = await asyncio.gather(*(run(prompt) for _ in range(runs)))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        for output in outputs:
            _check(output, expected)
        out["traced_peak_per_run_bytes"] = (peak - baseline) / runs
    return out


def info(runner: ModuleType) -> dict[str, Any]:
    versions = {}
    for dist in dict.fromkeys([runner.DISTRIBUTION, "openai", "pydantic", "httpx2"]):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "framework": runner.NAME,
        "version": versions[runner.DISTRIBUTION],
        "versions": versions,
        "python": sys.version.split()[0],
        "executable": sys.executable,
    }


async def _run(runner: ModuleType, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"info": info(runner)}
    for bench in args.bench.split(","):
        start = time.perf_counter()
        if bench == "overhead":
            reps = {"2turn": args.overhead_reps, "10turn": args.overhead_reps_10}
            result[bench] = await bench_overhead(runner, args.base_url, reps)
        elif bench == "parallel":
            result[bench] = await bench_parallel(runner, args.base_url, args.parallel_reps)
        elif bench == "streaming":
            result[bench] = await bench_streaming(runner, args.base_url, args.streaming_reps)
        elif bench == "default_path":
            result[bench] = await bench_default_path(runner, args.base_url, args.default_path_reps)
        elif bench == "schema":
            result[bench] = await bench_schema(runner, args.base_url, args.schema_reps)
        elif bench == "concurrency":
            result[bench] = await bench_concurrency(
                runner, args.base_url, args.runs, args.concurrency_reps, args.traced
            )
        elif bench != "info":
            raise SystemExit(f"unknown benchmark {bench!r}")
        print(f"{runner.NAME} {bench}: {time.perf_counter() - start:.1f}s", file=sys.stderr)
    return result


def main(runner: ModuleType) -> None:
    """The command line of a runner script."""
    parser = argparse.ArgumentParser(description=f"Benchmarks for {runner.NAME}.")
    add = parser.add_argument
    add("--base-url", required=True, help="the bench server's URL, ending in /v1")
    add(
        "--bench",
        default="info",
        help="comma-separated: info, schema, overhead, streaming, default_path, parallel, concurrency",
    )
    add("--overhead-reps", type=int, default=50, help="timed 2-turn runs")
    add("--overhead-reps-10", type=int, default=15, help="timed 10-turn runs")
    add("--streaming-reps", type=int, default=50, help="timed streamed 2-turn runs")
    add("--default-path-reps", type=int, default=50, help="timed default-path runs per call style")
    add("--parallel-reps", type=int, default=3, help="timed parallel runs per tool kind")
    add("--schema-reps", type=int, default=20, help="timed builds of the reference set")
    add("--runs", type=int, default=1000, help="concurrent runs")
    add("--concurrency-reps", type=int, default=1, help="timed rounds of concurrent runs")
    add("--traced", action="store_true", help="concurrency: one more round under tracemalloc")
    add("--out", help="write the JSON result here (default: stdout)")
    args = parser.parse_args()
    result = asyncio.run(_run(runner, args))
    text = json.dumps(result, indent=1)
    if args.out:
        with open(args.out, "w") as out:
            out.write(text)
    else:
        print(text)
