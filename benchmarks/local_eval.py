"""Tool-use evaluation of the local model (Qwen2.5-Coder-1.5B on llama.cpp) through agentkit.

    python benchmarks/local_eval.py [--mode native|prompted|both|default] [--tasks N] [--only NAME,...]
                                    [--set FIELD=VALUE ...] [--suite main|holdout|third|all]
                                    [--json OUT.json] [-v]

Runs 25 tasks, each as a fresh `Agent` on the local model, and checks the answer: a number or a phrase in
the final text, or the exact fields of a structured output; tasks whose answer depends on a look-up also
fail if the model answered without making it, and questions that need no tool fail if a tool was called.
Tasks cover arithmetic through `calculator`, look-ups in small in-memory tables, a look-up then a
computation, choosing among all seven tools, questions that need no tool, and structured outputs. The table
values are made up, so the model cannot answer from memory.
`--suite holdout` runs instead the 20 held-out tasks of `local_eval_holdout.py` (new tools, tables, prompts);
`--suite third` the 20 tasks of `local_eval_third.py` (other tools again, other phrasings, two prompts not in
English, requests needing side-by-side calls); `--suite all` the three suites one after another, with a
summary per suite.

`--mode` sets the local profile's `tool_calling` (`default`: the profile as shipped); `--set` overrides
other profile fields, booleans or strings (for experiments, e.g. `--set results_reminder=false`;
`--set checker=none` turns the grounding check off; `--set trace_numbers=false`,
`explain_repeated_failures=false`, `steer_repeated_calls=false` turn those of the run policy off).
`AGENTKIT_LOCAL_ENGINE` chooses the engine. Prints one line per task (success, turns = model requests, tokens, seconds, tool calls; `-v` adds the transcript of
each failure) and the success rate per mode (and per suite); writes the same, transcripts included, as JSON
(default `benchmarks/results/local_eval.json`, or `local_eval_SUITE.json` for another suite).

One local server is started for the whole run (the engine `AGENTKIT_LOCAL_ENGINE` picks, xllamacpp by
default) and stopped at exit. On 2 cores a task takes 10 to 60 seconds (each request evaluates the prompt
tokens the server has not cached, at ~35 per second, and writes 20 to 80 tokens at ~11 per second); the
three suites take about 30 minutes per mode.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agentkit_tools import calculator
from pydantic import BaseModel

from agentkit import Agent, AgentRunError, AssistantMessage, ModelSettings, RunResult, ToolMessage, tool
from agentkit.local import LocalModel
from agentkit.local.policy import LOCAL, GroundingCheck
from agentkit.models.profiles import ModelProfile

HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results" / "local_eval.json"
SUITES = {"main": "local_eval", "holdout": "local_eval_holdout", "third": "local_eval_third"}
"""Suite name -> the module holding its `TASKS`."""

# -- the world the tools see (made-up values, so the model has to look them up) --------------------------

WEATHER = {
    "oslo": (-3, "light snow"),
    "cairo": (24, "sunny"),
    "lima": (17, "overcast"),
    "tokyo": (9, "light rain"),
}
EMPLOYEES = {
    "dana whitfield": {"department": "Logistics", "salary_usd": 87_500, "start_year": 2016},
    "omar haddad": {"department": "Research", "salary_usd": 102_000, "start_year": 2019},
    "lena brandt": {"department": "Finance", "salary_usd": 76_250, "start_year": 2021},
}
STOCKS = {"ACME": 142.35, "GLOBX": 58.10, "INITECH": 12.75}
USD_RATES = {"USD": 1.0, "EUR": 0.92, "JPY": 151.2, "GBP": 0.79}
PACKAGES = {"PKG-1042": ("in transit", "Rotterdam"), "PKG-2077": ("delivered", "Lyon")}


@tool
def get_weather(city: str) -> str:
    """Current weather in a city.

    Args:
        city: City name, e.g. "Paris".
    """
    entry = WEATHER.get(city.strip().lower())
    if entry is None:
        return f"No weather data for {city}."
    return f"{city.strip().title()}: {entry[0]}°C, {entry[1]}"


@tool
def get_employee(name: str) -> dict[str, Any]:
    """Look up an employee of the company by full name: department, yearly salary in USD, start year.

    Args:
        name: Full name, e.g. "Jane Doe".
    """
    entry = EMPLOYEES.get(name.strip().lower())
    if entry is None:
        return {"error": f"no employee named {name}"}
    return {"name": name.strip().title(), **entry}


@tool
def get_stock_price(symbol: str) -> str:
    """Latest price of one share of a stock, in USD.

    Args:
        symbol: Ticker symbol, e.g. "MSFT".
    """
    price = STOCKS.get(symbol.strip().upper())
    return f"No stock {symbol}." if price is None else f"{symbol.strip().upper()}: {price:.2f} USD"


@tool
def convert_currency(amount: float, from_currency: str, to_currency: str) -> str:
    """Convert an amount of money between currencies at today's rate.

    Args:
        amount: The amount to convert.
        from_currency: ISO code of the currency of `amount`, e.g. "CHF".
        to_currency: ISO code of the currency wanted, e.g. "CAD".
    """
    source, target = from_currency.strip().upper(), to_currency.strip().upper()
    if source not in USD_RATES or target not in USD_RATES:
        return f"Unknown currency; known: {', '.join(USD_RATES)}."
    value = round(amount / USD_RATES[source] * USD_RATES[target], 2)
    return f"{amount:g} {source} = {value:g} {target}"


@tool
def track_package(tracking_id: str) -> str:
    """Status and location of a parcel.

    Args:
        tracking_id: Tracking id, e.g. "PKG-0001".
    """
    entry = PACKAGES.get(tracking_id.strip().upper())
    return (
        f"No parcel {tracking_id}."
        if entry is None
        else f"{tracking_id}: {entry[0]}, last seen in {entry[1]}"
    )


@tool
def word_count(text: str) -> int:
    """Count the words in a text.

    Args:
        text: The text.
    """
    return len(text.split())


ALL_TOOLS = [
    calculator,
    get_weather,
    get_employee,
    get_stock_price,
    convert_currency,
    track_package,
    word_count,
]


# -- structured outputs ------------------------------------------------------------------------------------


class EmployeeCard(BaseModel):
    name: str
    department: str
    start_year: int


class Conversion(BaseModel):
    converted_amount: float
    currency: str


class Weather(BaseModel):
    city: str
    temperature_c: int
    conditions: str


class Parcel(BaseModel):
    tracking_id: str
    status: Literal["in transit", "delivered", "unknown"]
    location: str


# -- checks --------------------------------------------------------------------------------------------------

Check = Callable[[Any], str | None]
"""Returns `None` when the output is right, else what is wrong."""

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def numbers_in(text: str) -> list[float]:
    """Every number written in `text` (thousands separators allowed)."""
    out = []
    for match in _NUMBER.findall(text):
        try:
            out.append(float(match.replace(",", "")))
        except ValueError:
            continue
    return out


def has_number(expected: float, tolerance: float = 0.01) -> Check:
    def check(output: Any) -> str | None:
        found = numbers_in(str(output))
        if any(abs(n - expected) <= tolerance for n in found):
            return None
        return f"expected {expected:g}, found {found[:6]}"

    return check


def has_text(*options: str) -> Check:
    def check(output: Any) -> str | None:
        text = str(output).lower()
        return None if any(o.lower() in text for o in options) else f"expected one of {options!r}"

    return check


def all_of(*checks: Check) -> Check:
    def check(output: Any) -> str | None:
        problems = [p for c in checks if (p := c(output))]
        return "; ".join(problems) or None

    return check


def fields(**expected: Any) -> Check:
    def check(output: Any) -> str | None:
        if not isinstance(output, BaseModel):
            return f"not a structured output: {output!r}"
        wrong = []
        for key, want in expected.items():
            got = getattr(output, key, None)
            ok = (
                abs(float(got) - want) <= 0.01
                if isinstance(want, float) and isinstance(got, (int, float))
                else (
                    got.lower() == want.lower()
                    if isinstance(want, str) and isinstance(got, str)
                    else got == want
                )
            )
            if not ok:
                wrong.append(f"{key}={got!r} (want {want!r})")
        return ", ".join(wrong) or None

    return check


@dataclass(frozen=True, kw_only=True)
class Task:
    name: str
    kind: str
    prompt: str
    tools: Sequence[Any]
    check: Check
    output_type: Any = str
    no_tools_expected: bool = False
    """The task fails if the model calls any tool."""
    must_call: Sequence[str] = ()
    """Tools the answer depends on: the task fails if the model answers without calling them (a right number
    reached another way is a guess)."""


TASKS = [
    Task(name="calc-basic", kind="arithmetic", prompt="What is 17 * 23 + 4?", tools=[calculator], check=has_number(395)),
    Task(name="calc-big", kind="arithmetic", prompt="Compute 1234 * 5678.", tools=[calculator], check=has_number(7_006_652)),
    Task(name="calc-sqrt", kind="arithmetic", prompt="What is the square root of 2025, plus 12.5?", tools=[calculator], check=has_number(57.5)),
    Task(name="calc-percent", kind="arithmetic", prompt="What is 15% of 2,480?", tools=[calculator], check=has_number(372)),
    Task(name="calc-power", kind="arithmetic", prompt="What is 2 to the power of 20?", tools=[calculator], check=has_number(1_048_576)),
    Task(name="weather-oslo", kind="lookup", prompt="What's the weather in Oslo right now?", tools=[get_weather], check=all_of(has_number(-3), has_text("snow"))),
    Task(name="weather-tokyo", kind="lookup", prompt="Is it raining in Tokyo at the moment?", tools=[get_weather], check=has_text("rain"), must_call=["get_weather"]),
    Task(name="employee-dept", kind="lookup", prompt="Which department does Dana Whitfield work in?", tools=[get_employee], check=has_text("logistics")),
    Task(name="stock-price", kind="lookup", prompt="What is the current price of one ACME share?", tools=[get_stock_price], check=has_number(142.35)),
    Task(name="shares-cost", kind="two-step", prompt="How much do 12 shares of ACME cost at the current price, in USD?", tools=[get_stock_price, calculator], check=has_number(1708.2), must_call=["get_stock_price"]),
    Task(name="salary-eur", kind="two-step", prompt="What is Omar Haddad's yearly salary in euros?", tools=[get_employee, convert_currency], check=has_number(93_840), must_call=["get_employee"]),
    Task(name="salary-month", kind="two-step", prompt="Lena Brandt's yearly salary divided by 12: what is her monthly salary in USD?", tools=[get_employee, calculator], check=has_number(6354.17, 0.01), must_call=["get_employee"]),
    Task(name="warmer", kind="two-step", prompt="How many degrees Celsius warmer is it in Cairo than in Oslo right now?", tools=[get_weather, calculator], check=has_number(27), must_call=["get_weather"]),
    Task(name="choose-currency", kind="choose", prompt="Convert 250 US dollars to Japanese yen.", tools=ALL_TOOLS, check=has_number(37_800)),
    Task(name="choose-parcel", kind="choose", prompt="Where is my parcel PKG-1042?", tools=ALL_TOOLS, check=has_text("rotterdam")),
    Task(name="choose-employee", kind="choose", prompt="In which year did Lena Brandt join the company?", tools=ALL_TOOLS, check=has_number(2021, 0)),
    Task(name="choose-weather", kind="choose", prompt="What is the temperature in Cairo now?", tools=ALL_TOOLS, check=has_number(24, 0), must_call=["get_weather"]),
    Task(name="choose-words", kind="choose", prompt='How many words are in this sentence: "the quick brown fox jumps over the lazy dog"? Use a tool to count.', tools=ALL_TOOLS, check=has_number(9, 0), must_call=["word_count"]),
    Task(name="no-tool-capital", kind="no-tool", prompt="What is the capital of France? Answer in one word.", tools=ALL_TOOLS, check=has_text("paris"), no_tools_expected=True),
    Task(name="no-tool-french", kind="no-tool", prompt="How do you say 'thank you' in French?", tools=ALL_TOOLS, check=has_text("merci"), no_tools_expected=True),
    Task(name="no-tool-code", kind="no-tool", prompt="Write a Python dict literal that maps the string 'a' to the number 1. Reply with the code only.", tools=ALL_TOOLS, check=has_text("{'a': 1}", '{"a": 1}', "{'a':1}", '{"a":1}'), no_tools_expected=True),
    Task(name="struct-employee", kind="structured", prompt="Look up Omar Haddad and give his name, department and start year.", tools=[get_employee], output_type=EmployeeCard, check=fields(name="Omar Haddad", department="Research", start_year=2019)),
    Task(name="struct-convert", kind="structured", prompt="Convert 40 USD to EUR.", tools=[convert_currency], output_type=Conversion, check=fields(converted_amount=36.8, currency="EUR"), must_call=["convert_currency"]),
    Task(name="struct-weather", kind="structured", prompt="What is the weather in Lima?", tools=[get_weather, calculator], output_type=Weather, check=fields(city="Lima", temperature_c=17, conditions="overcast")),
    Task(name="struct-parcel", kind="structured", prompt="Give the status of parcel PKG-2077.", tools=ALL_TOOLS, output_type=Parcel, check=fields(tracking_id="PKG-2077", status="delivered", location="Lyon")),
]  # fmt: skip

# -- running ---------------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class Outcome:
    suite: str
    task: str
    kind: str
    mode: str
    success: bool
    turns: int
    tokens: int
    evaluated: int
    """Prompt tokens the server processed (the rest came from its prompt cache), over the whole run."""
    seconds: float
    tool_calls: int
    problem: str | None
    output: str
    transcript: list[str]
    """The run's messages after the prompt, one short line each."""


def _usage_of(messages: Sequence[Any]) -> tuple[int, int, int, int]:
    turns = tokens = evaluated = calls = 0
    for m in messages:
        if isinstance(m, AssistantMessage):
            turns += 1
            if m.usage is not None:
                tokens += m.usage.input_tokens + m.usage.output_tokens
                evaluated += m.usage.input_tokens - m.usage.cached_input_tokens
            calls += sum(1 for c in m.tool_calls if c.name != "final_result")
    return turns, tokens, evaluated, calls


def _called(messages: Sequence[Any]) -> set[str]:
    """Tools that ran successfully in a transcript."""
    return {m.name for m in messages if isinstance(m, ToolMessage) and not m.is_error}


def run_task(task: Task, model: LocalModel, mode: str, max_turns: int, suite: str = "main") -> Outcome:
    agent: Agent[None, Any] = Agent(
        model, tools=list(task.tools), output_type=task.output_type, max_turns=max_turns
    )
    started = time.perf_counter()
    problem: str | None
    output: Any = None
    try:
        result: RunResult[Any] = agent.run_sync(task.prompt, model_settings=ModelSettings(max_tokens=400))
    except AgentRunError as exc:
        messages: Sequence[Any] = exc.messages
        problem = f"{type(exc).__name__}: {exc}"[:300]
    else:
        messages = result.messages
        output = result.output
        problem = task.check(output)
    seconds = time.perf_counter() - started
    turns, tokens, evaluated, calls = _usage_of(messages)
    if problem is None and task.no_tools_expected and calls:
        problem = f"called {calls} tool(s) for a question that needs none"
    called = _called(messages)
    missing = [name for name in task.must_call if name not in called]
    if problem is None and missing:
        problem = f"answered without calling {', '.join(missing)}"
    shown = output.model_dump_json() if isinstance(output, BaseModel) else str(output)
    return Outcome(
        suite=suite,
        task=task.name,
        kind=task.kind,
        mode=mode,
        success=problem is None,
        turns=turns,
        tokens=tokens,
        evaluated=evaluated,
        seconds=round(seconds, 2),
        tool_calls=calls,
        problem=problem,
        output=shown[:200],
        transcript=[_line(m) for m in messages[1:]],
    )


def _line(message: Any) -> str:
    text = f"{message.role}: {message.content}"
    for call in getattr(message, "tool_calls", ()):
        text += f" [call {call.name} {call.arguments}]"
    return text[:300]


def _parse_sets(items: Sequence[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    names = {f.name: f for f in dataclasses.fields(ModelProfile)}
    for item in items:
        key, _, raw = item.partition("=")
        if key == "checker":  # the run policy's checker: `checker=none` turns the grounding check off
            if raw.lower() not in ("none", "grounding"):
                raise SystemExit("--set checker=none|grounding")
            checker = None if raw.lower() == "none" else GroundingCheck
            changes["policy"] = dataclasses.replace(changes.get("policy", LOCAL.policy), checker=checker)
            continue
        if key in ("steer_repeated_calls", "trace_numbers", "explain_repeated_failures"):  # RunPolicy's
            if raw.lower() not in ("true", "false"):
                raise SystemExit(f"--set {key}=true|false")
            policy = changes.get("policy", LOCAL.policy)
            changes["policy"] = dataclasses.replace(policy, **{key: raw.lower() == "true"})
            continue
        if key not in names:
            raise SystemExit(f"--set: ModelProfile has no field {key!r}")
        value: Any = raw
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        changes[key] = value
    return changes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["native", "prompted", "both", "default"], default="both")
    parser.add_argument("--tasks", type=int, default=None, help="run only the first N tasks")
    parser.add_argument("--only", default="", help="comma-separated task names")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="profile override")
    parser.add_argument("--suite", choices=[*SUITES, "all"], default="main", help="task list")
    parser.add_argument("--max-turns", type=int, default=8)
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="default: results/local_eval.json, or results/local_eval_SUITE.json for another suite",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print each failing transcript")
    args = parser.parse_args(argv)

    names = list(SUITES) if args.suite == "all" else [args.suite]
    if args.json is None:
        args.json = (
            DEFAULT_JSON if args.suite == "main" else DEFAULT_JSON.with_stem(f"local_eval_{args.suite}")
        )
    only = args.only.split(",") if args.only else []
    suites = {
        name: [t for t in _suite_tasks(name) if not only or t.name in only][: args.tasks] for name in names
    }
    suites = {name: tasks for name, tasks in suites.items() if tasks}  # `--only` may leave some empty
    modes = ["native", "prompted"] if args.mode == "both" else [args.mode]
    overrides = _parse_sets(args.set)
    from agentkit.local import get_local_server

    server = get_local_server()
    load_start = os.getloadavg()[0]
    outcomes: list[Outcome] = []
    for mode in modes:
        changes = dict(overrides) if mode == "default" else {**overrides, "tool_calling": mode}
        model = LocalModel(server=server, profile=dataclasses.replace(LOCAL, **changes))
        for name, tasks in suites.items():
            print(f"\n== {name} suite, {mode} ({', '.join(f'{k}={v}' for k, v in changes.items())})")
            print(
                f"{'task':<18} {'kind':<11} {'ok':<4} {'turns':>5} {'tokens':>7} {'eval':>6} {'sec':>6} "
                f"{'calls':>5}  problem"
            )
            for task in tasks:
                outcome = run_task(task, model, mode, args.max_turns, suite=name)
                outcomes.append(outcome)
                print(
                    f"{task.name:<18} {task.kind:<11} {'yes' if outcome.success else 'NO':<4} "
                    f"{outcome.turns:>5} {outcome.tokens:>7} {outcome.evaluated:>6} {outcome.seconds:>6.1f} "
                    f"{outcome.tool_calls:>5}  "
                    f"{outcome.problem or ''}",
                    flush=True,
                )
                if args.verbose and not outcome.success:
                    for line in outcome.transcript:
                        print("      " + line.replace("\n", " | "))
    summary = _summary(outcomes, modes, list(suites))
    print()
    for row in summary:
        print(
            f"{row['suite']:<8} {row['mode']:<9} success {row['successes']}/{row['tasks']} "
            f"({row['success_rate']:.0%})  turns {row['turns']}  tokens {row['tokens']}  "
            f"evaluated {row['evaluated']}  "
            f"seconds {row['seconds']:.0f}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model": model.model_name,
        "engine": getattr(server, "engine_in_use", "llama-server"),
        "suite": args.suite,
        "profile_overrides": {k: str(v) for k, v in overrides.items()},
        "argv": list(argv if argv is not None else sys.argv[1:]),
        "max_turns": args.max_turns,
        "cores": os.cpu_count(),
        "load_average": {"start": load_start, "end": os.getloadavg()[0]},
        "summary": summary,
        "tasks": [dataclasses.asdict(o) for o in outcomes],
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


def _suite_tasks(name: str) -> Sequence[Task]:
    """The `TASKS` of a suite (the main one is this module's)."""
    if name == "main":
        return TASKS
    tasks: Sequence[Task] = importlib.import_module(SUITES[name]).TASKS
    return tasks


def _summary(
    outcomes: Sequence[Outcome], modes: Sequence[str], suites: Sequence[str]
) -> list[dict[str, Any]]:
    """One row per suite and mode, then (several suites) one row per mode over all of them."""
    groups = [(suite, mode) for suite in suites for mode in modes]
    if len(suites) > 1:
        groups += [("all", mode) for mode in modes]
    rows = []
    for suite, mode in groups:
        mine = [o for o in outcomes if o.mode == mode and suite in ("all", o.suite)]
        successes = sum(o.success for o in mine)
        rows.append(
            {
                "suite": suite,
                "mode": mode,
                "tasks": len(mine),
                "successes": successes,
                "success_rate": successes / len(mine) if mine else 0.0,
                "turns": sum(o.turns for o in mine),
                "tokens": sum(o.tokens for o in mine),
                "evaluated": sum(o.evaluated for o in mine),
                "seconds": round(sum(o.seconds for o in mine), 1),
            }
        )
    return rows


if __name__ == "__main__":
    sys.exit(main())
