"""A long run against a model with a small context window: it finishes, and its requests stay flat.

    python benchmarks/bench_context.py [--turns 200] [--result-kb 20] [--window 32768] [--json OUT.json]

The run is the one a user writes: `Agent(OpenAIChatModel("google/gemini-2.0-flash-001", ...), tools=[fetch],
instructions=...)`, through the real `AsyncOpenAI` client, against agentkit's loopback server (127.0.0.1,
OpenRouter's wire format). The model calls `fetch` on every turn but the last (`--turns` calls, each result
`--result-kb` KB of text, then the answer), so the transcript grows by a result each turn.

The server plays a model with a `--window`-token context: it counts a request's tokens as the characters of
its `messages` and `tools` JSON divided by 4 (a count a little above agentkit's own estimate: the JSON's keys
and quotes count too), refuses a longer request the way OpenRouter does (HTTP 400, "This endpoint's maximum
context length is N tokens..."), and reports the count as the response's `prompt_tokens`.

Two runs: the profile knows the window (`ModelProfile.context_window`), and it does not (the window is
learned from the first refusal, after which the request is fitted harder and sent once more). For each:
requests, refusals, input tokens per request (first / median / last / max), what the whole transcript
would have taken at the last request (agentkit's estimate), and the time per request. Then the estimator's
cost per request (`agentkit.history.estimate_tokens` on the whole transcript and tools, as each request
does it), and the fit's (estimate plus compaction), measured on the run's own transcripts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentkit import Agent, AssistantMessage, Message, tool
from agentkit._run.history import fit_window, window_budget
from agentkit.history import estimate_tokens
from agentkit.models import ModelRequestParameters
from agentkit.models.openai import OpenAIChatModel
from agentkit.models.profiles import profile_for
from agentkit.testing import HTTPError, LoopbackServer, tool_call_response

MODEL = "google/gemini-2.0-flash-001"
OUTPUT_TOKENS = 30
LINE = "2026-12-07T08:00:00Z host=web-{n} level=info path=/api/items status=200 bytes=5120 took_ms=12\n"


def page(n: int, size: int) -> str:
    text = f"Log file {n}:\n"
    while len(text) < size:
        text += LINE.format(n=n)
    return text[:size]


class WindowedModel:
    """The server side: a model with a context window of `window` tokens (JSON characters / 4)."""

    def __init__(self, window: int, turns: int, server: LoopbackServer) -> None:
        self.window = window
        self.turns = turns
        self.server = server
        self.accepted: list[int] = []
        self.refused: list[int] = []

    def __call__(self, body: dict[str, Any]) -> Any:
        tokens = len(json.dumps({"messages": body["messages"], "tools": body.get("tools")})) // 4
        if tokens > self.window:
            self.refused.append(tokens)
            return HTTPError(
                status=400,
                message=f"This endpoint's maximum context length is {self.window} tokens. However, you requested "
                f"about {tokens} tokens ({tokens} of text input). Please reduce the length of either one, or use "
                'the "middle-out" transform to compress your prompt automatically.',
            )
        self.accepted.append(tokens)
        n = len(self.accepted) - 1
        answer = (
            AssistantMessage(content=f"read {n} files")
            if n >= self.turns
            else tool_call_response("fetch", {"n": n}, id=f"call_{n}")
        )
        usage = {
            "prompt_tokens": tokens,
            "completion_tokens": OUTPUT_TOKENS,
            "total_tokens": tokens + OUTPUT_TOKENS,
        }
        return {**self.server.completion(answer), "usage": usage}


def one_run(server: LoopbackServer, *, turns: int, size: int, window: int, known: bool) -> dict[str, Any]:
    @tool
    def fetch(n: int) -> str:
        """Fetch log file n.

        Args:
            n: The file number.
        """
        return page(n, size)

    model_side = WindowedModel(window, turns, server)
    server.add(*[model_side] * (2 * turns + 10))
    profile = dataclasses.replace(profile_for(MODEL), context_window=window if known else None)
    model = OpenAIChatModel(MODEL, base_url=server.base_url, api_key="x", openrouter=True, profile=profile)
    agent = Agent(model, tools=[fetch], instructions="Read the log files one by one.", max_turns=turns + 5)
    compactions = 0
    estimated = 0
    start = time.perf_counter()
    result = None
    for event in agent.run_stream_sync(f"Read log files 0 to {turns - 1}, one per turn, then say how many."):
        if event.kind == "history_compacted":
            compactions += 1
            estimated = event.tokens_after
        elif event.kind == "run_finished":
            result = event.result
    elapsed = time.perf_counter() - start
    assert result is not None and result.output == f"read {turns} files", result
    server.script.clear()
    tokens = model_side.accepted
    parameters = ModelRequestParameters(tools=[fetch.definition])
    costs = _costs(result.messages, parameters, window)
    return {
        "profile_knows_window": known,
        "requests": len(tokens) + len(model_side.refused),
        "refused": len(model_side.refused),
        "compaction_events": compactions,
        "input_tokens_per_request": {
            "first": tokens[0],
            "median": statistics.median(tokens),
            "last": tokens[-1],
            "max": max(tokens),
            "p10_from_request_10": statistics.quantiles(tokens[9:], n=10)[0],
            "p90_from_request_10": statistics.quantiles(tokens[9:], n=10)[-1],
        },
        "server_count_over_estimate_at_last_request": tokens[-1] / estimated if estimated else None,
        "whole_transcript_tokens_at_last_request": estimate_tokens(result.messages, tools=parameters.tools),
        "ms_per_request": elapsed / len(tokens) * 1000,
        "transcript_messages": len(result.messages),
        **costs,
    }


def _costs(
    messages: list[Message], parameters: ModelRequestParameters, window: int, reps: int = 5
) -> dict[str, Any]:
    """The estimator's and the fit's time per request, on the transcript each request of the run started from."""
    cuts = [i + 1 for i, m in enumerate(messages) if m.role == "tool"]
    profile = dataclasses.replace(profile_for(MODEL), context_window=window)
    limit = window_budget(profile, max_tokens=None)
    assert limit is not None
    estimate_us: list[float] = []
    fit_us: list[float] = []
    for cut in cuts:
        prefix = messages[:cut]
        start = time.perf_counter()
        for _ in range(reps):
            estimate_tokens(prefix, tools=parameters.tools)
        estimate_us.append((time.perf_counter() - start) / reps * 1e6)
        start = time.perf_counter()
        for _ in range(reps):
            fit_window(prefix, parameters, limit, processor="context_window")
        fit_us.append((time.perf_counter() - start) / reps * 1e6)
    return {
        "estimate_us_per_request": {"median": statistics.median(estimate_us), "max": max(estimate_us)},
        "fit_us_per_request": {"median": statistics.median(fit_us), "max": max(fit_us)},
    }


def measure(turns: int, result_kb: int, window: int) -> dict[str, Any]:
    size = result_kb * 1024
    with LoopbackServer(model=MODEL) as server:
        runs = [
            one_run(server, turns=turns, size=size, window=window, known=known) for known in (True, False)
        ]
    return {"model": MODEL, "turns": turns, "result_bytes": size, "window_tokens": window, "runs": runs}


def render(f: dict[str, Any]) -> str:
    lines = [
        f"{f['turns']}-turn run, {f['result_bytes'] // 1024} KB tool results, a {f['window_tokens']:,}-token window "
        f"(server's count: JSON characters / 4)"
    ]
    for r in f["runs"]:
        t = r["input_tokens_per_request"]
        how = "profile knows the window" if r["profile_knows_window"] else "window learned from the refusal"
        lines.append(
            f"  {how}: {r['requests']} requests, {r['refused']} refused; input tokens per request first "
            f"{t['first']:,} / median {t['median']:,.0f} / last {t['last']:,} / max {t['max']:,}, from the 10th "
            f"request p10 {t['p10_from_request_10']:,.0f} and p90 {t['p90_from_request_10']:,.0f} (the whole "
            f"transcript: ~{r['whole_transcript_tokens_at_last_request']:,}; the server's count of the last request "
            f"{r['server_count_over_estimate_at_last_request']:.2f}x agentkit's estimate); "
            f"{r['ms_per_request']:.2f} ms per request"
        )
        lines.append(
            f"    per request: estimate {r['estimate_us_per_request']['median']:.1f} us (max "
            f"{r['estimate_us_per_request']['max']:.1f}), fit {r['fit_us_per_request']['median']:.1f} us (max "
            f"{r['fit_us_per_request']['max']:.1f})"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--result-kb", type=int, default=20)
    parser.add_argument("--window", type=int, default=32_768)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    figures = measure(args.turns, args.result_kb, args.window)
    print(render(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
