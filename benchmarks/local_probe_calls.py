"""A quick probe of the local model's first reply: several calls at once, no call when no tool fits.

Twelve requests written for this probe (not from any suite or leaderboard), each scored on the model's first
reply only, as the Berkeley leaderboard scores it: 4 that need the same tool called several times, 3 that
need different tools side by side, 3 that no offered tool can answer (a text answer passes), 2 single calls.
A reply passes when it holds exactly the expected calls (tool names, and the key argument of each), in any
order, or no call for the irrelevant ones.

    flock /work/wt/model.lock python benchmarks/local_probe_calls.py [--profile FIELD=VALUE ...]

`--profile` changes a field of the local profile (`calls_after_text=false`, `decide_tool_use=false`...) to
measure a mechanism with it off. Prints one line per request and the totals (passes, seconds, tokens).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Literal

from agentkit import ModelSettings, UserMessage, tool
from agentkit.local import LocalModel
from agentkit.models import ModelRequestParameters
from agentkit.models.profiles import profile_for


@tool
def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Current weather in a city.

    Args:
        city: City name.
        unit: Temperature unit.
    """
    return city


@tool
def stock_price(ticker: str) -> float:
    """Latest price of a stock.

    Args:
        ticker: Stock ticker symbol, e.g. "AAPL".
    """
    return 0.0


@tool
def convert_currency(amount: float, from_currency: str, to_currency: str) -> float:
    """Convert an amount of money between currencies at today's rate.

    Args:
        amount: The amount to convert.
        from_currency: ISO code of the currency the amount is in.
        to_currency: ISO code of the currency wanted.
    """
    return amount


@tool
def translate(text: str, target_language: str) -> str:
    """Translate a text into another language.

    Args:
        text: The text to translate.
        target_language: The language to translate into, e.g. "French".
    """
    return text


@tool
def book_table(restaurant: str, people: int, time: str) -> str:
    """Reserve a table at a restaurant.

    Args:
        restaurant: Restaurant name.
        people: Number of guests.
        time: Time of the reservation, HH:MM.
    """
    return "ok"


@tool
def circle_area(radius: float) -> float:
    """Area of a circle.

    Args:
        radius: The radius.
    """
    return radius


TOOLS = [get_weather, stock_price, convert_currency, translate, book_table, circle_area]


@dataclass(frozen=True)
class Probe:
    kind: str
    prompt: str
    tools: tuple[str, ...]
    expected: tuple[tuple[str, str, object], ...]
    """(tool, key argument, value): the calls the first reply must hold; () for no call."""


PROBES = [
    Probe("parallel", "What's the weather like in Oslo, Lima and Osaka right now?", ("get_weather",),
          (("get_weather", "city", "Oslo"), ("get_weather", "city", "Lima"), ("get_weather", "city", "Osaka"))),
    Probe("parallel", "Give me the current share prices of NVDA and of MSFT.", ("stock_price", "convert_currency"),
          (("stock_price", "ticker", "NVDA"), ("stock_price", "ticker", "MSFT"))),
    Probe("parallel", "Translate 'good morning' into Italian, and also into Japanese.", ("translate",),
          (("translate", "target_language", "Italian"), ("translate", "target_language", "Japanese"))),
    Probe("parallel", "I need the areas of three circles, radii 2, 3.5 and 10.", ("circle_area", "get_weather"),
          (("circle_area", "radius", 2), ("circle_area", "radius", 3.5), ("circle_area", "radius", 10))),
    Probe("parallel-multiple", "How warm is it in Cairo, and what is Tesla (TSLA) trading at?",
          ("get_weather", "stock_price", "translate"),
          (("get_weather", "city", "Cairo"), ("stock_price", "ticker", "TSLA"))),
    Probe("parallel-multiple", "Convert 250 USD to EUR and book a table for 4 at Luigi's at 19:30.",
          ("convert_currency", "book_table", "get_weather"),
          (("convert_currency", "amount", 250), ("book_table", "people", 4))),
    Probe("parallel-multiple", "Translate 'thank you' to German and tell me the area of a circle of radius 7.",
          ("translate", "circle_area", "stock_price"),
          (("translate", "target_language", "German"), ("circle_area", "radius", 7))),
    Probe("irrelevance", "Who wrote the novel Pride and Prejudice?", ("get_weather", "stock_price"), ()),
    Probe("irrelevance", "What is the perimeter of a square whose sides are 6 cm long?", ("circle_area", "translate"),
          ()),
    Probe("irrelevance", "Book me a flight from Paris to Rome next Friday.", ("book_table", "get_weather"), ()),
    Probe("simple", "Convert 1200 Japanese yen into British pounds.", ("convert_currency", "stock_price"),
          (("convert_currency", "amount", 1200),)),
    Probe("simple", "Is it raining in Dublin? Answer in fahrenheit please.", ("get_weather", "translate"),
          (("get_weather", "city", "Dublin"),)),
]  # fmt: skip


def _passes(probe: Probe, calls: list[tuple[str, dict[str, object]]]) -> bool:
    if len(calls) != len(probe.expected):
        return False
    left = list(probe.expected)
    for name, arguments in calls:
        match = next(
            (e for e in left if e[0] == name and _same(arguments.get(e[1]), e[2])),
            None,
        )
        if match is None:
            return False
        left.remove(match)
    return True


def _same(value: object, expected: object) -> bool:
    if isinstance(expected, str):
        return isinstance(value, str) and expected.lower() in value.lower()
    return isinstance(value, (int, float)) and float(value) == float(expected)


def _profile_changes(pairs: list[str]) -> dict[str, object]:
    changes: dict[str, object] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        changes[key] = json.loads(value.lower()) if value.lower() in ("true", "false") else value
    return changes


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--max-tokens", type=int, default=400, help="bounds a reply that runs away")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each failed reply's text")
    args = parser.parse_args()
    profile = dataclasses.replace(profile_for("local"), **_profile_changes(args.profile))  # type: ignore[arg-type]
    model = LocalModel(profile=profile)
    await model.start()
    by_name = {t.definition.name: t.definition for t in TOOLS}
    settings = ModelSettings(temperature=0.0, max_tokens=args.max_tokens)
    passed = total_in = total_out = total_cached = 0
    started = time.perf_counter()
    for probe in PROBES:
        parameters = ModelRequestParameters(tools=[by_name[n] for n in probe.tools], tool_choice="auto")
        t0 = time.perf_counter()
        reply = await model.request([UserMessage(content=probe.prompt)], parameters, settings)
        seconds = time.perf_counter() - t0
        calls = [(c.name, json.loads(c.arguments or "{}")) for c in reply.tool_calls]
        ok = _passes(probe, calls)
        passed += ok
        total_in += reply.usage.input_tokens
        total_out += reply.usage.output_tokens
        total_cached += reply.usage.cached_input_tokens
        shown = "; ".join(f"{n}({json.dumps(a)})" for n, a in calls) or repr(reply.content[:70])
        print(f"{'PASS' if ok else 'FAIL'} {probe.kind:18} {seconds:5.1f}s {shown}", flush=True)
        if args.verbose and not ok:
            print(f"    text: {reply.content!r} finish: {reply.finish_reason}", flush=True)
    elapsed = time.perf_counter() - started
    print(
        f"{passed}/{len(PROBES)} passed, {elapsed:.1f} s ({elapsed / len(PROBES):.1f} s per request), "
        f"{total_in} input tokens ({total_cached} cached), {total_out} output tokens; profile changes: {args.profile or 'none'}"
    )


if __name__ == "__main__":
    asyncio.run(main())
