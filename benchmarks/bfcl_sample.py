"""A sample of the Berkeley Function Calling Leaderboard (BFCL v4) on the local model, scored as the leaderboard
scores a first reply.

    python benchmarks/bfcl_sample.py [--only CATEGORY,...] [--limit N] [--seed S]
                                     [--profile FIELD=VALUE ...] [--json OUT.json] [-v]

Five categories, 20 items each drawn with a fixed seed (100 items): `simple` (BFCL's `simple_python`: one
function, one call), `multiple` (several functions, one call to the right one), `parallel` (one function,
several calls in one reply), `parallel_multiple` (several functions, several calls in one reply) and
`irrelevance` (no offered function fits: the reply must make no call). The data comes from the `bfcl-eval`
wheel (version `BFCL_VERSION`), fetched once with `pip download --no-deps` into `~/.cache/agentkit/bfcl/`.

Each item is ONE request, sent through agentkit's model layer as a run of the local model sends its first
request: the item's question as the transcript, its functions as `ToolDefinition`s in
`ModelRequestParameters(tools=...)`, the agent's default `ModelSettings()`, to `LocalModel.request` with
the local profile (prompted tool calling with the call grammar). The functions are given as BFCL gives them
to a function-calling model (`convert_to_tool`): BFCL types made JSON Schema types (`dict` object, `float`
number, `tuple` array, `any` no type, ...), a `.` in a name made `_` (and back for scoring), the Python hint
added to each description. The reply's tool calls are scored by `bfcl_checker.py`, the leaderboard's AST
check written again. The run's hooks (the small-model policy's checks) act after a reply, not on the first
request, so they take no part here.

`--profile FIELD=VALUE` (repeatable) replaces fields of the local profile (`dataclasses.replace`), to measure
a mechanism on and off: `--profile constrain_calls=false`. Values `true`/`false`, whole numbers, `none`, or
text. Prints one line per item and a table per category (passes, seconds per item, requests, tokens);
`--json OUT` writes the same with every item's reply. The local model runs on one server for the whole
sample: run it under `flock /work/wt/model.lock` where several people share the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import dataclasses
import datetime
import json
import os
import random
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bfcl_checker import Verdict, check_item

from agentkit import AgentkitError, AssistantMessage, Message, ModelSettings, SystemMessage, UserMessage
from agentkit.local import LocalModel
from agentkit.models import ModelRequestParameters
from agentkit.models.profiles import ModelProfile, profile_for
from agentkit.tool import ToolDefinition

BFCL_VERSION = "2026.3.23"
CACHE = Path.home() / ".cache" / "agentkit" / "bfcl"
CATEGORIES = {
    "simple": "simple_python",
    "multiple": "multiple",
    "parallel": "parallel",
    "parallel_multiple": "parallel_multiple",
    "irrelevance": "irrelevance",
}
"""Our category name -> BFCL's file stem."""
PER_CATEGORY = 20
SEED = 26
TYPES: dict[str, str | None] = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "float": "number",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "tuple": "array",
    "dict": "object",
    "object": "object",
    "any": None,
}
"""BFCL's parameter types -> JSON Schema types (`None`: no type); anything else is sent as a string, as
BFCL does."""
KEPT = ("description", "enum", "default", "minimum", "maximum", "minItems", "maxItems")
PYTHON_HINT = " Note that the provided function is in Python 3 syntax."
FLOAT_HINT = " This is a float type value."


# -- the data ----------------------------------------------------------------------------------------------


def wheel(cache: Path = CACHE) -> Path:
    """The bfcl-eval wheel in `cache`, downloaded (no dependencies) when it is not there."""
    name = f"bfcl_eval-{BFCL_VERSION}-py3-none-any.whl"
    path = cache / name
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(cache)]
        subprocess.run([*command, f"bfcl-eval=={BFCL_VERSION}"], check=True)
    return path


def load_items(archive: Path, category: str) -> list[dict[str, Any]]:
    """A category's items, each with its `possible_answer` (`None` for irrelevance)."""
    stem = f"BFCL_v4_{CATEGORIES[category]}.json"
    with zipfile.ZipFile(archive) as whl:
        items = _json_lines(whl.read(f"bfcl_eval/data/{stem}"))
        answers: dict[str, Any] = {}
        if category != "irrelevance":
            answers = {
                a["id"]: a["ground_truth"]
                for a in _json_lines(whl.read(f"bfcl_eval/data/possible_answer/{stem}"))
            }
    for item in items:
        item["possible_answer"] = answers.get(item["id"])
    return items


def _json_lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def sample(items: Sequence[dict[str, Any]], count: int, seed: int) -> list[dict[str, Any]]:
    """`count` items drawn with `seed` (the same for every category), in the data's order."""
    chosen = sorted(random.Random(seed).sample(range(len(items)), min(count, len(items))))
    return [items[i] for i in chosen]


# -- items as agentkit sees them ----------------------------------------------------------------------------


def tool_definitions(functions: Sequence[Mapping[str, Any]]) -> tuple[list[ToolDefinition], dict[str, str]]:
    """The item's functions as `ToolDefinition`s, and each sent name -> BFCL's name."""
    definitions, names = [], {}
    for function in functions:
        sent = function["name"].replace(".", "_")
        names[sent] = function["name"]
        parameters = function.get("parameters", {})
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {k: _schema(v) for k, v in parameters.get("properties", {}).items()},
        }
        if parameters.get("required"):
            schema["required"] = list(parameters["required"])
        description = function.get("description", "") + PYTHON_HINT
        definitions.append(ToolDefinition(name=sent, description=description, parameters=schema))
    return definitions, names


def _schema(node: Mapping[str, Any]) -> dict[str, Any]:
    """One BFCL parameter as JSON Schema."""
    out: dict[str, Any] = {key: copy.deepcopy(node[key]) for key in KEPT if key in node}
    bfcl_type = node.get("type", "string")
    json_type = TYPES.get(bfcl_type, "string")
    if json_type is not None:
        out["type"] = json_type
    if bfcl_type == "float":
        out["description"] = out.get("description", "") + FLOAT_HINT
    if "items" in node and json_type in ("array", None):
        out["items"] = _schema(node["items"])
    if "properties" in node:
        out["properties"] = {k: _schema(v) for k, v in node["properties"].items()}
        if isinstance(node.get("required"), list) and node["required"]:
            out["required"] = list(node["required"])
    return out


def messages_of(item: Mapping[str, Any]) -> list[Message]:
    """The item's first turn as agentkit messages."""
    messages: list[Message] = []
    for entry in item["question"][0]:
        if entry["role"] == "system":
            messages.append(SystemMessage(content=entry["content"]))
        else:
            messages.append(UserMessage(content=entry["content"]))
    return messages


def calls_of(reply: AssistantMessage, names: Mapping[str, str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The reply's calls as BFCL writes them (`{name: {parameter: value}}`, names as in the data), and a note
    for each call whose arguments are not a JSON object (scored with no arguments)."""
    calls, notes = [], []
    for call in reply.tool_calls:
        try:
            arguments = json.loads(call.arguments or "{}")
        except json.JSONDecodeError:
            arguments = None
        if not isinstance(arguments, dict):
            notes.append(f"{call.name}: arguments not a JSON object: {call.arguments[:80]!r}")
            arguments = {}
        calls.append({names.get(call.name, call.name): arguments})
    return calls, notes


# -- running -------------------------------------------------------------------------------------------------


def post_chat(base_url: str, api_key: str, body: dict[str, Any]) -> dict[str, Any]:
    """One chat-completions request `body` to the local server, its JSON answer (no SDK: the decision's raw
    log-probabilities are wanted as the server sends them)."""
    request = urllib.request.Request(
        base_url + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=240) as response:  # the local server on 127.0.0.1
        data: dict[str, Any] = json.loads(response.read())
    return data


def reply_text(data: Mapping[str, Any]) -> str:
    """The text of a chat-completions answer's first choice ("" when it has none)."""
    return str((data.get("choices") or [{}])[0].get("message", {}).get("content") or "")


@dataclass(kw_only=True)
class ItemResult:
    id: str
    category: str
    passed: bool
    kind: str
    reason: str
    calls: list[dict[str, Any]]
    text: str
    seconds: float
    input_tokens: int
    output_tokens: int
    notes: list[str] = field(default_factory=list)


async def run_item(model: LocalModel, category: str, item: Mapping[str, Any]) -> ItemResult:
    """One request for `item`, its reply scored."""
    definitions, names = tool_definitions(item["function"])
    started = time.perf_counter()
    try:
        reply = await model.request(
            messages_of(item), ModelRequestParameters(tools=definitions), ModelSettings()
        )
    except AgentkitError as exc:  # a request that fails (timed out) fails its item, as it fails a run
        return ItemResult(
            id=item["id"],
            category=category,
            passed=False,
            kind="error",
            reason=f"{type(exc).__name__}: {exc}"[:300],
            calls=[],
            text="",
            seconds=round(time.perf_counter() - started, 2),
            input_tokens=0,
            output_tokens=0,
        )
    seconds = time.perf_counter() - started
    calls, notes = calls_of(reply, names)
    verdict: Verdict = check_item(category, item["function"], calls, item["possible_answer"])
    usage = reply.usage
    return ItemResult(
        id=item["id"],
        category=category,
        passed=verdict.valid,
        kind=verdict.kind,
        reason=verdict.reason,
        calls=calls,
        text=reply.content[:300],
        seconds=round(seconds, 2),
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        notes=notes,
    )


def parse_profile(items: Sequence[str]) -> dict[str, Any]:
    """`FIELD=VALUE` overrides of the local profile, typed (`true`/`false`, numbers, `none`, text)."""
    fields = {f.name for f in dataclasses.fields(ModelProfile)}
    changes: dict[str, Any] = {}
    for item in items:
        key, equals, raw = item.partition("=")
        if not equals or key not in fields:
            raise SystemExit(f"--profile {item!r}: give FIELD=VALUE with a ModelProfile field")
        value: Any = raw
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        elif raw.lower() == "none":
            value = None
        elif raw.lstrip("-").isdigit():
            value = int(raw)
        elif raw.lstrip("-").replace(".", "", 1).isdigit():
            value = float(raw)
        changes[key] = value
    return changes


def summarize(results: Sequence[ItemResult], categories: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for name in [*categories, "total"]:
        mine = [r for r in results if name in ("total", r.category)]
        count = len(mine) or 1
        rows.append(
            {
                "category": name,
                "items": len(mine),
                "passed": sum(r.passed for r in mine),
                "seconds_per_item": round(sum(r.seconds for r in mine) / count, 2),
                "requests": len(mine),
                "tokens_per_item": round(sum(r.input_tokens + r.output_tokens for r in mine) / count, 1),
                "input_tokens": sum(r.input_tokens for r in mine),
                "output_tokens": sum(r.output_tokens for r in mine),
            }
        )
    return rows


async def run_sample(
    selected: Mapping[str, Sequence[Mapping[str, Any]]],
    profile: ModelProfile | None,
    verbose: bool,
    *,
    done: Mapping[str, ItemResult],
    save: Callable[[list[ItemResult]], None],
) -> list[ItemResult]:
    """Each selected item's result: those in `done` kept, the others asked for (`save` called after each)."""
    model = LocalModel(profile=profile)
    await model.start()  # the server's start-up is not an item's time
    results: list[ItemResult] = []
    for category, items in selected.items():
        for item in items:
            if item["id"] in done:
                results.append(done[item["id"]])
                continue
            result = await run_item(model, category, item)
            results.append(result)
            save(results)
            shown = "; ".join(f"{n}({json.dumps(a)[:70]})" for c in result.calls for n, a in c.items())
            print(
                f"{result.id:<24} {'ok' if result.passed else 'NO':<3} {result.seconds:>6.1f}s "
                f"{result.input_tokens + result.output_tokens:>6}  {result.reason[:90]}",
                flush=True,
            )
            if verbose and not result.passed:
                print(f"      calls: {shown or '-'} | text: {result.text[:160]!r}")
    return results


def _shown(overrides: Mapping[str, Any]) -> dict[str, str]:
    return {k: repr(v) for k, v in overrides.items()}


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--only", default="", help=f"comma-separated categories: {', '.join(CATEGORIES)}")
    parser.add_argument("--limit", type=int, default=PER_CATEGORY, help="items per category (default 20)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--profile", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where the bfcl-eval wheel is kept")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each failing reply")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the items already in --json (same seed, profile) and ask the rest",
    )
    args = parser.parse_args(argv)

    categories = [c.strip() for c in args.only.split(",") if c.strip()] or list(CATEGORIES)
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        raise SystemExit(f"--only: unknown categories {unknown}; known: {', '.join(CATEGORIES)}")
    overrides = parse_profile(args.profile)
    profile = dataclasses.replace(profile_for("local"), **overrides) if overrides else None
    archive = wheel(args.cache)
    selected = {c: sample(load_items(archive, c), args.limit, args.seed) for c in categories}
    done: dict[str, ItemResult] = {}
    if args.resume and args.json is not None and args.json.exists():
        previous = json.loads(args.json.read_text())
        if previous["seed"] != args.seed or previous["profile_overrides"] != _shown(overrides):
            raise SystemExit(f"--resume: {args.json} was written with another seed or profile")
        done = {i["id"]: ItemResult(**i) for i in previous["items"]}
    load_start = os.getloadavg()[0]
    started = time.perf_counter()
    total = sum(len(items) for items in selected.values())

    def save(results: list[ItemResult]) -> None:
        if args.json is None:
            return
        report = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": _commit(),
            "bfcl_version": BFCL_VERSION,
            "seed": args.seed,
            "per_category": args.limit,
            "model": "local:qwen2.5-coder-1.5b",
            "profile_overrides": _shown(overrides),
            "cores": os.cpu_count(),
            "load_average": {"start": load_start, "end": os.getloadavg()[0]},
            "wall_seconds": round(time.perf_counter() - started, 1),
            "complete": len(results) == total,
            "summary": summarize(results, categories),
            "items": [dataclasses.asdict(r) for r in results],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")

    results = asyncio.run(run_sample(selected, profile, args.verbose, done=done, save=save))
    save(results)
    rows = summarize(results, categories)
    print(f"\n{'category':<18} {'passed':>8} {'s/item':>7} {'requests':>8} {'tokens/item':>11}")
    for row in rows:
        print(
            f"{row['category']:<18} {row['passed']:>3}/{row['items']:<4} {row['seconds_per_item']:>7.1f} "
            f"{row['requests']:>8} {row['tokens_per_item']:>11.0f}"
        )
    if args.json is not None:
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
