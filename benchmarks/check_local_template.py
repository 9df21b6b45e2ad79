"""Check that llama-server parses the local model's tool calls with agentkit's chat template.

Starts the local server (or uses `--base-url`), then runs each case `--runs` times with a different
prompt each run and prints how many passed:

1. auto: tools offered, `tool_choice` left to the model, the question needs a tool.
2. required: `tool_choice: "required"`.
3. stream: as 1, streamed; the call is put together from the deltas.
4. result: a tool call and its result are in the history; the model must answer in text.
5. choose: three tools offered; the model must pick the right one with the right arguments.

Extra cases show known limits and are not counted against the template:

- two: a question that needs two calls; passes if the model makes valid call(s) (two in one reply
  come back as HTTP 500 from llama-server).
- two+fallback: the same, retried with `tool_choice: "none"` after a 500 and parsed here.
- code: tools offered but the question needs none, and the answer has braces (code); llama-server
  answers HTTP 500 whenever a text answer holds a `{` while tools are offered.
- plain: no tools at all.

Usage: `python benchmarks/check_local_template.py [--runs 10] [--template PATH|stock] [--base-url URL]
[--only auto,required]`. Every request is capped at 512 tokens (with the stock template and
`tool_choice: "required"` the model otherwise runs on until the context is full).
Talks to the real model: ~1 s per request on 2 cores, so a full run takes a few minutes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agentkit.local import LOCAL_MODEL_ID, TEMPLATE_PATH, LocalServer

Json = dict[str, Any]


def _tool(name: str, description: str, properties: Json, required: list[str]) -> Json:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": schema}}


WEATHER = _tool(
    "get_weather",
    "Get the current weather in a city.",
    {"city": {"type": "string", "description": "City name, e.g. Paris"}},
    ["city"],
)
TIME = _tool(
    "get_time",
    "Get the current local time in a time zone.",
    {"timezone": {"type": "string", "description": "IANA time zone, e.g. Europe/Paris"}},
    ["timezone"],
)
ADD = _tool(
    "add_numbers",
    "Add two numbers and return the sum.",
    {"a": {"type": "number"}, "b": {"type": "number"}},
    ["a", "b"],
)

CITIES = ["Paris", "Tokyo", "Berlin", "Lima", "Cairo", "Oslo", "Madrid", "Toronto", "Sydney", "Nairobi"]
WEATHER_PROMPTS = [
    "What's the weather in {}?",
    "Is it raining in {} right now?",
    "How warm is it in {} today?",
    "Check the weather for {} please.",
    "I'm flying to {} tomorrow. What's the weather like there now?",
]
CHOOSE: list[tuple[str, str, Json]] = [
    ("What is 17 plus 25?", "add_numbers", {"a": 17, "b": 25}),
    ("What time is it in Tokyo (Asia/Tokyo)?", "get_time", {"timezone": "Asia/Tokyo"}),
    ("What's the weather in Rome?", "get_weather", {"city": "Rome"}),
    ("Add 3.5 and 4.25.", "add_numbers", {"a": 3.5, "b": 4.25}),
    ("Tell me the current time in the Europe/Berlin time zone.", "get_time", {"timezone": "Europe/Berlin"}),
    ("Is it sunny in Lisbon?", "get_weather", {"city": "Lisbon"}),
    ("Compute 1000 + 2345.", "add_numbers", {"a": 1000, "b": 2345}),
    ("What's the local time in America/New_York?", "get_time", {"timezone": "America/New_York"}),
    ("How cold is it in Helsinki?", "get_weather", {"city": "Helsinki"}),
    ("What is the sum of 8 and 13?", "add_numbers", {"a": 8, "b": 13}),
]
CODE_PROMPTS = [
    "Write a JavaScript function that returns the maximum of an array.",
    "Write a C function that swaps two ints through pointers.",
    "Show a JSON object describing a book with title and author.",
    "Write a Java class Point with x and y fields.",
    "Write a Rust function that adds two i32 values.",
]


class Client:
    """Minimal chat-completions client on http.client (no proxies, no dependencies)."""

    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        parts = urlsplit(base_url)
        self.headers = {"Content-Type": "application/json"}
        if api_key:  # a LocalServer answers only requests with its key
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = parts.path.rstrip("/") + "/chat/completions"

    def chat(self, body: Json) -> tuple[int, Json]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=300)
        try:
            payload = {"model": LOCAL_MODEL_ID, "temperature": 0, "max_tokens": 512, **body}
            connection.request("POST", self.path, json.dumps(payload), self.headers)
            response = connection.getresponse()
            raw = response.read()
            if not body.get("stream"):
                return response.status, json.loads(raw)
            return response.status, _assemble_stream(raw.decode()) if response.status == 200 else json.loads(
                raw
            )
        finally:
            connection.close()


def _assemble_stream(text: str) -> Json:
    """Fold SSE chunks into a non-streamed-like response."""
    message: Json = {"content": "", "tool_calls": []}
    for line in text.splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        for choice in chunk.get("choices", []):
            delta = choice.get("delta", {})
            message["content"] += delta.get("content") or ""
            for call in delta.get("tool_calls") or []:
                calls = message["tool_calls"]
                while len(calls) <= call.get("index", 0):
                    calls.append({"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
                target = calls[call.get("index", 0)]
                target["id"] += call.get("id") or ""
                function = call.get("function") or {}
                target["function"]["name"] += function.get("name") or ""
                target["function"]["arguments"] += function.get("arguments") or ""
    return {"choices": [{"message": message}]}


def _calls(response: Json) -> list[tuple[str, Json]]:
    message = response["choices"][0]["message"]
    return [
        (call["function"]["name"], json.loads(call["function"]["arguments"] or "{}"))
        for call in message.get("tool_calls") or []
    ]


def _content(response: Json) -> str:
    return str(response["choices"][0]["message"].get("content") or "")


def _expect_call(response: Json, name: str, args: Json) -> str | None:
    calls = _calls(response)
    if len(calls) != 1:
        return f"{len(calls)} tool calls, content {_content(response)[:120]!r}"
    got_name, got_args = calls[0]
    if got_name != name:
        return f"called {got_name}({got_args})"
    for key, value in args.items():
        got = got_args.get(key)
        if got != value and str(value).lower() not in str(got).lower():
            return f"called {got_name}({got_args}), expected {key}={value!r}"
    return None


def _weather_prompt(run: int) -> tuple[str, str]:
    city = CITIES[run % len(CITIES)]
    return WEATHER_PROMPTS[run % len(WEATHER_PROMPTS)].format(city), city


def case_auto(client: Client, run: int) -> str | None:
    prompt, city = _weather_prompt(run)
    status, response = client.chat({"messages": [{"role": "user", "content": prompt}], "tools": [WEATHER]})
    return (
        f"HTTP {status}: {response}"
        if status != 200
        else _expect_call(response, "get_weather", {"city": city})
    )


def case_required(client: Client, run: int) -> str | None:
    prompt, city = _weather_prompt(run + 3)
    body = {"messages": [{"role": "user", "content": prompt}], "tools": [WEATHER], "tool_choice": "required"}
    status, response = client.chat(body)
    return (
        f"HTTP {status}: {response}"
        if status != 200
        else _expect_call(response, "get_weather", {"city": city})
    )


def case_stream(client: Client, run: int) -> str | None:
    prompt, city = _weather_prompt(run + 6)
    body = {"messages": [{"role": "user", "content": prompt}], "tools": [WEATHER], "stream": True}
    status, response = client.chat(body)
    return (
        f"HTTP {status}: {response}"
        if status != 200
        else _expect_call(response, "get_weather", {"city": city})
    )


def case_result(client: Client, run: int) -> str | None:
    prompt, city = _weather_prompt(run)
    degrees = 10 + run
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": prompt},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{run}",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": json.dumps({"city": city})},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": f"call_{run}",
            "content": json.dumps({"city": city, "temperature_c": degrees, "sky": "cloudy"}),
        },
    ]
    status, response = client.chat({"messages": messages, "tools": [WEATHER]})
    if status != 200:
        return f"HTTP {status}: {response}"
    if calls := _calls(response):
        return f"called again: {calls}"
    content = _content(response)
    return None if str(degrees) in content else f"answer without {degrees}: {content[:160]!r}"


def case_choose(client: Client, run: int) -> str | None:
    prompt, name, args = CHOOSE[run % len(CHOOSE)]
    body = {"messages": [{"role": "user", "content": prompt}], "tools": [WEATHER, TIME, ADD]}
    status, response = client.chat(body)
    return f"HTTP {status}: {response}" if status != 200 else _expect_call(response, name, args)


def case_code(client: Client, run: int) -> str | None:
    prompt = CODE_PROMPTS[run % len(CODE_PROMPTS)]
    body = {"messages": [{"role": "user", "content": prompt}], "tools": [WEATHER], "max_tokens": 300}
    status, response = client.chat(body)
    if status != 200:
        return f"HTTP {status}: {str(response)[:200]}"
    if calls := _calls(response):
        return f"tool call instead of code: {calls}"
    return None if "{" in _content(response) else f"no braces in answer: {_content(response)[:120]!r}"


def case_two(client: Client, run: int) -> str | None:
    first, second = CITIES[run % len(CITIES)], CITIES[(run + 5) % len(CITIES)]
    prompt = f"What's the weather in {first} and in {second}?"
    status, response = client.chat({"messages": [{"role": "user", "content": prompt}], "tools": [WEATHER]})
    if status != 200:
        return f"HTTP {status}: {str(response)[:200]}"
    calls = _calls(response)
    return None if calls and all(name == "get_weather" for name, _ in calls) else f"calls {calls}"


def case_two_fallback(client: Client, run: int) -> str | None:
    """`two`, plus the fallback a model layer can use on llama-server's HTTP 500 for unparsed output.

    At temperature 0 the same request with `tool_choice: "none"` returns the very text the parser
    rejected, as content; one JSON object per line naming an offered tool is then a list of calls.
    """
    first, second = CITIES[run % len(CITIES)], CITIES[(run + 5) % len(CITIES)]
    body: Json = {
        "messages": [{"role": "user", "content": f"What's the weather in {first} and in {second}?"}],
        "tools": [WEATHER],
    }
    status, response = client.chat(body)
    if status == 500:
        status, response = client.chat({**body, "tool_choice": "none"})
        if status != 200:
            return f"fallback HTTP {status}: {str(response)[:200]}"
        calls = _bare_json_calls(_content(response), {"get_weather"})
    elif status == 200:
        calls = _calls(response)
    else:
        return f"HTTP {status}: {str(response)[:200]}"
    cities = sorted(str(args.get("city")) for _, args in calls)
    return None if cities == sorted([first, second]) else f"calls {calls}"


def _bare_json_calls(content: str, names: set[str]) -> list[tuple[str, Json]]:
    calls = []
    for line in content.strip().removeprefix("```json").removesuffix("```").splitlines():
        try:
            call = json.loads(line)
        except ValueError:
            return []
        if not isinstance(call, dict) or call.get("name") not in names:
            return []
        calls.append((str(call["name"]), dict(call.get("arguments") or {})))
    return calls


def case_plain(client: Client, run: int) -> str | None:
    prompt = f"Reply with just the number: what is {run} + {run}?"
    status, response = client.chat({"messages": [{"role": "user", "content": prompt}], "max_tokens": 20})
    if status != 200:
        return f"HTTP {status}: {response}"
    return None if str(2 * run) in _content(response) else f"answer {_content(response)!r}"


CASES: dict[str, Callable[[Client, int], str | None]] = {
    "auto": case_auto,
    "required": case_required,
    "stream": case_stream,
    "result": case_result,
    "choose": case_choose,
    "two (extra)": case_two,
    "two+fallback": case_two_fallback,
    "code (extra)": case_code,
    "plain (extra)": case_plain,
}


def run_cases(client: Client, runs: int, verbose: bool, only: list[str]) -> dict[str, int]:
    passed: dict[str, int] = {}
    for name, case in CASES.items():
        if only and name.split()[0] not in only:
            continue
        passed[name] = 0
        started = time.monotonic()
        for run in range(runs):
            try:
                failure = case(client, run)
            except (OSError, ValueError, KeyError, http.client.HTTPException) as exc:
                failure = f"{type(exc).__name__}: {exc}"
            if failure is None:
                passed[name] += 1
            elif verbose:
                print(f"  {name} run {run}: {failure}", flush=True)
        seconds = (time.monotonic() - started) / runs
        print(f"{name:14} {passed[name]:2}/{runs}   ({seconds:.1f} s per request)", flush=True)
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--base-url", help="use a running server instead of starting one")
    parser.add_argument(
        "--template", default=str(TEMPLATE_PATH), help="template file, or 'stock' for the GGUF's"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print failures")
    parser.add_argument("--only", default="", help="comma-separated case names to run (default: all)")
    args = parser.parse_args(argv)
    only = [name for name in args.only.split(",") if name]

    if args.base_url:
        passed = run_cases(Client(args.base_url), args.runs, not args.quiet, only)
    else:
        template = None if args.template == "stock" else Path(args.template)
        started = time.monotonic()
        with LocalServer(template_path=template) as server:
            print(f"server ready in {time.monotonic() - started:.1f} s at {server.base_url}", flush=True)
            print(f"template: {template or 'stock (from the GGUF)'}", flush=True)
            passed = run_cases(Client(server.base_url, server.api_key), args.runs, not args.quiet, only)
    core = ["auto", "required", "stream", "result", "choose"]
    return 0 if all(passed.get(name, args.runs) == args.runs for name in core) else 1


if __name__ == "__main__":
    sys.exit(main())
