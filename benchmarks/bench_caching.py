"""What a 20-turn agent run costs with and without prompt-cache breakpoints (`ModelSettings(cache_control=True)`).

    python benchmarks/bench_caching.py [--turns 20] [--reps 20] [--json OUT.json]

The run is the one a user writes: `Agent(OpenAIChatModel("google/gemini-2.5-flash", ...), tools=[lookup],
instructions=...)`, through the real `AsyncOpenAI` client, against agentkit's loopback server (127.0.0.1,
OpenRouter's wire format). The model calls `lookup` on every turn but the last (19 calls, then the answer), so
each request repeats the whole conversation so far and adds one tool result.

The server's usage is scripted, the way a provider that caches only where asked (Anthropic; Gemini 2.5+
through OpenRouter with `cache_control`) reports it:

* `prompt_tokens`: the request's tools and messages at 4 characters a token.
* `prompt_tokens_details.cached_tokens`: when the request carries breakpoints, the tokens of the longest
  prefix the previous request marked (tools, then messages up to and including its last marked message)
  that this request repeats unchanged, if at least `MIN_CACHED_TOKENS`; otherwise 0.
* no `usage.cost`: agentkit prices the run from the profile (cached tokens at `cache_read_price_per_mtok`).

Cache writes are not priced (Anthropic charges 1.25x input for them; Gemini charges storage by the hour), so
the saving shown is the read side only. Prices: the profile of `google/gemini-2.5-flash`; when it lists no
cache-read price, 10% of its input price (Google's 90% discount on cached input for Gemini 2.5) is assumed
and the output says so. Also measured: the time agentkit spends per run with and without the breakpoints.
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

from agentkit import Agent, AssistantMessage, ModelSettings, ToolCall, tool
from agentkit.models.openai import OpenAIChatModel
from agentkit.models.profiles import ModelProfile, profile_for
from agentkit.testing import LoopbackServer

MODEL = "google/gemini-2.5-flash"
MIN_CACHED_TOKENS = 1024
"""The smallest prefix cached (Gemini 2.5 Flash's minimum; Anthropic's is 1,024 to 4,096 by model)."""
CHARS_PER_TOKEN = 4
INSTRUCTIONS = (
    "You are a research assistant. Look facts up with the lookup tool, one at a time, and keep notes. " * 80
)  # ~8,000 characters: a realistic agent prompt of about 2,000 tokens
RESULT_TEXT = "Record {n}: " + "observed value, source, date, and remarks; " * 45  # ~2,000 characters
OUTPUT_TOKENS = 40


@tool
def lookup(n: int) -> str:
    """Look up record n.

    Args:
        n: The record number.
    """
    return RESULT_TEXT.format(n=n)


def _tokens(value: Any) -> int:
    return -(-len(json.dumps(value, sort_keys=True)) // CHARS_PER_TOKEN)


def _plain(message: dict[str, Any]) -> dict[str, Any]:
    """A message without its cache marks (to compare prefixes)."""
    content = message.get("content")
    if isinstance(content, list):
        parts = [{k: v for k, v in p.items() if k != "cache_control"} for p in content]
        if len(parts) == 1 and parts[0].get("type") == "text":
            return {**message, "content": parts[0]["text"]}
        return {**message, "content": parts}
    return message


def _marked(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any("cache_control" in p for p in content if isinstance(p, dict))


class ScriptedCache:
    """The server side: answers from the turn, and usage with a cached-token count as described above."""

    def __init__(self, turns: int) -> None:
        self.turns = turns
        self.marked_prefix: list[dict[str, Any]] = []
        """The previous request's tools-and-messages prefix up to its last breakpoint (plain)."""

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        tools_tokens = _tokens(body.get("tools") or [])
        prompt_tokens = tools_tokens + sum(_tokens(_plain(m)) for m in messages)
        cached = 0
        plain = [_plain(m) for m in messages]
        if any(_marked(m) for m in messages):
            prefix = self.marked_prefix
            if prefix and plain[: len(prefix)] == prefix:
                prefix_tokens = tools_tokens + sum(_tokens(m) for m in prefix)
                cached = prefix_tokens if prefix_tokens >= MIN_CACHED_TOKENS else 0
            last = max(i for i, m in enumerate(messages) if _marked(m))
            self.marked_prefix = plain[: last + 1]
        turn = sum(1 for m in messages if m["role"] == "assistant")
        answer = (
            AssistantMessage(content=f"done after {turn} lookups")
            if turn >= self.turns - 1
            else AssistantMessage(
                tool_calls=[ToolCall(id=f"call_{turn}", name="lookup", arguments=json.dumps({"n": turn}))]
            )
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": OUTPUT_TOKENS,
            "total_tokens": prompt_tokens + OUTPUT_TOKENS,
            "prompt_tokens_details": {"cached_tokens": cached},
        }
        return {**SERVER.completion(answer), "usage": usage}


SERVER = LoopbackServer(model=MODEL)


def prices() -> tuple[ModelProfile, str]:
    profile = profile_for(MODEL)
    if profile.cache_read_price_per_mtok is not None:
        return profile, f"the {profile.family} profile's"
    assumed = round((profile.input_price_per_mtok or 0) * 0.1, 6)
    note = f"the {profile.family} profile's, with an assumed cache-read price of 10% of input"
    return dataclasses.replace(profile, cache_read_price_per_mtok=assumed), note


def one_run(profile: ModelProfile, turns: int, cache_control: bool) -> tuple[Any, float]:
    responder = ScriptedCache(turns)
    SERVER.add(*([responder] * turns))
    model = OpenAIChatModel(MODEL, base_url=SERVER.base_url, api_key="x", openrouter=True, profile=profile)
    agent = Agent(
        model,
        tools=[lookup],
        instructions=INSTRUCTIONS,
        model_settings=ModelSettings(cache_control=cache_control),
        max_turns=turns + 1,
    )
    start = time.perf_counter()
    result = agent.run_sync("Collect the records, one lookup per turn, then say how many you read.")
    return result, time.perf_counter() - start


def measure(turns: int, reps: int) -> dict[str, Any]:
    profile, price_note = prices()
    figures: dict[str, Any] = {
        "model": MODEL,
        "turns": turns,
        "prices_per_mtok": {
            "input": profile.input_price_per_mtok,
            "cache_read": profile.cache_read_price_per_mtok,
            "output": profile.output_price_per_mtok,
        },
        "prices_from": price_note,
    }
    for label, cache_control in (("without", False), ("with", True)):
        seconds = []
        result = None
        for _ in range(reps):
            result, elapsed = one_run(profile, turns, cache_control)
            seconds.append(elapsed)
        assert result is not None and result.usage.requests == turns, result
        figures[label] = {
            "requests": result.usage.requests,
            "input_tokens": result.usage.input_tokens,
            "cached_input_tokens": result.usage.cached_input_tokens,
            "output_tokens": result.usage.output_tokens,
            "cost_usd": result.usage.cost_usd,
            "ms_per_run_median": statistics.median(seconds) * 1000,
        }
    figures["cost_ratio_with_over_without"] = figures["with"]["cost_usd"] / figures["without"]["cost_usd"]
    return figures


def render(f: dict[str, Any]) -> str:
    lines = [f"{f['turns']}-turn run on {f['model']} (prices: {f['prices_from']}: {f['prices_per_mtok']})"]
    for label in ("without", "with"):
        r = f[label]
        lines.append(
            f"  {label:<7} cache_control: ${r['cost_usd']:.6f}, {r['input_tokens']} input tokens "
            f"({r['cached_input_tokens']} cached), {r['output_tokens']} output; "
            f"{r['ms_per_run_median']:.1f} ms per run (median)"
        )
    lines.append(f"  with/without: {f['cost_ratio_with_over_without']:.3f} of the cost")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--reps", type=int, default=20, help="runs of each kind (for the time per run)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    with SERVER:
        figures = measure(args.turns, args.reps)
    print(render(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
