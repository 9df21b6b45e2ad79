"""The baseline: a hand-written tool loop on the raw `openai` client.

This is what a careful engineer writes without a framework: hand-written JSON schemas in the subset Gemini
accepts, a name -> function table, `json.loads` for arguments with no validation, tool calls run
concurrently (sync tools in threads), and a turn limit. The streamed loop assembles tool calls from their
deltas by index; the sync loop (the default-path baseline) runs on `openai.OpenAI` and calls tools in turn.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import harness
from reference_tools import INSTRUCTIONS
from server import MODEL_NAME

NAME = "raw"
DISTRIBUTION = "openai"
MAX_TURNS = 50


def _fn(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties, "required": required}
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


def _s(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _str_list(description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description}


def build_tools(functions: Sequence[Callable[..., Any]] = ()) -> list[dict[str, Any]]:
    """The reference set as hand-written `tools` entries, built anew on each call (`functions` is unused)."""
    address = {
        "type": "object",
        "description": "Where the person lives.",
        "properties": {
            "street": _s("Street and number."),
            "city": _s("City name."),
            "country": _s("ISO 3166-1 alpha-2 country code."),
        },
        "required": ["street", "city", "country"],
    }
    contact = {
        "type": "object",
        "description": "The contact to save.",
        "properties": {
            "name": _s("Full name."),
            "email": _s("Email address."),
            "phone": _s("Phone number, if known.", nullable=True),
            "address": address,
        },
        "required": ["name", "email", "address"],
    }
    return [
        _fn(
            "get_weather",
            "Get the current weather for a city.",
            {
                "city": _s('The city name, for example "Paris".'),
                "units": _s('Temperature units: "c" for Celsius or "f" for Fahrenheit.', enum=["c", "f"]),
            },
            ["city"],
        ),
        _fn(
            "convert_currency",
            "Convert an amount of money between currencies.",
            {
                "amount": {"type": "number", "description": "The amount to convert."},
                "from_currency": _s("ISO 4217 code of the source currency."),
                "to_currency": _s("ISO 4217 code of the target currency."),
            },
            ["amount", "from_currency", "to_currency"],
        ),
        _fn(
            "search_docs",
            "Search the documentation.",
            {
                "query": _s("What to look for."),
                "limit": {"type": "integer", "description": "The most results to return."},
                "include_archived": {
                    "type": "boolean",
                    "description": "Whether to search archived pages too.",
                },
            },
            ["query"],
        ),
        _fn(
            "tag_items",
            "Add a tag to several items.",
            {"item_ids": _str_list("The ids of the items to tag."), "tag": _s("The tag to add.")},
            ["item_ids", "tag"],
        ),
        _fn(
            "schedule_meeting",
            "Schedule a meeting.",
            {
                "title": _s("The meeting's title."),
                "attendees": _str_list("Email addresses of the people to invite."),
                "duration_minutes": {"type": "integer", "description": "How long the meeting lasts."},
                "location": _s("Where it takes place; none for an online meeting.", nullable=True),
            },
            ["title", "attendees"],
        ),
        _fn(
            "set_priority",
            "Set a task's priority.",
            {
                "task_id": _s("The task's id."),
                "priority": _s("The new priority.", enum=["low", "medium", "high"]),
            },
            ["task_id", "priority"],
        ),
        _fn("create_contact", "Save a new contact.", {"contact": contact}, ["contact"]),
        _fn(
            "toggle_feature",
            "Turn a feature flag on or off.",
            {
                "name": _s("The feature flag's name."),
                "enabled": {"type": "boolean", "description": "True to turn it on, false to turn it off."},
            },
            ["name", "enabled"],
        ),
        _fn(
            "calculate_discount",
            "Work out a discounted price.",
            {
                "price": {"type": "number", "description": "The original price."},
                "percent": {"type": "number", "description": "The discount in percent."},
                "round_to": {"type": "integer", "description": "How many decimal places to round to."},
            },
            ["price"],
        ),
        _fn(
            "send_message",
            "Send a message to someone.",
            {
                "recipient": _s("Who gets the message."),
                "body": _s("The message text."),
                "channel": _s("How to send it.", enum=["email", "sms", "chat"]),
                "urgent": {"type": "boolean", "description": "Whether to flag the message as urgent."},
            },
            ["recipient", "body"],
        ),
    ]


# The hand-written implementations take the decoded JSON as it comes: no validation, no models.
def get_weather(city: str, units: str = "c") -> str:
    return f"weather:{city}:{units}: 21 degrees, clear"


def convert_currency(amount: float, from_currency: str, to_currency: str) -> str:
    return f"converted:{amount}:{from_currency}:{to_currency}: {amount * 1.1:.2f}"


def search_docs(query: str, limit: int = 5, include_archived: bool = False) -> str:
    return json.dumps([f"docs:{query}:{limit}:{include_archived}", "page-1", "page-2"])


def tag_items(item_ids: list[str], tag: str) -> str:
    return f"tagged:{len(item_ids)}:{tag}"


def schedule_meeting(
    title: str, attendees: list[str], duration_minutes: int = 30, location: str | None = None
) -> str:
    return f"meeting:{title}:{len(attendees)}:{duration_minutes}:{location}"


def set_priority(task_id: str, priority: str) -> str:
    return f"priority:{task_id}:{priority}"


def create_contact(contact: dict[str, Any]) -> str:
    return f"contact:{contact['name']}:{contact['address']['city']}"


def toggle_feature(name: str, enabled: bool) -> str:
    return f"feature:{name}:{enabled}"


def calculate_discount(price: float, percent: float = 10.0, round_to: int = 2) -> str:
    return str(round(price * (1 - percent / 100), round_to))


def send_message(recipient: str, body: str, channel: str = "email", urgent: bool = False) -> str:
    return f"sent:{channel}:{recipient}:{urgent}"


def pause_sync(ms: int) -> str:
    time.sleep(ms / 1000)
    return f"paused:{ms}"


async def pause_async(ms: int) -> str:
    await asyncio.sleep(ms / 1000)
    return f"paused:{ms}"


REFERENCE = {
    f.__name__: f
    for f in (
        get_weather,
        convert_currency,
        search_docs,
        tag_items,
        schedule_meeting,
        set_priority,
        create_contact,
        toggle_feature,
        calculate_discount,
        send_message,
    )
}
PAUSE_TOOL = _fn(
    "pause",
    "Wait a while.",
    {"ms": {"type": "integer", "description": "How long to wait, in milliseconds."}},
    ["ms"],
)


async def _call(function: Callable[..., Any], arguments: str) -> str:
    kwargs = json.loads(arguments or "{}")
    if inspect.iscoroutinefunction(function):
        return str(await function(**kwargs))
    return str(await asyncio.to_thread(function, **kwargs))


def make_run(base_url: str, toolset: str, *, client: Any = None) -> harness.RunFn:
    client = client or harness.openai_client(base_url)
    if toolset == "reference":
        tools, functions = build_tools(), REFERENCE
    else:
        tools, functions = [PAUSE_TOOL], {"pause": pause_sync if toolset == "pause_sync" else pause_async}

    async def run(prompt: str) -> str:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": prompt},
        ]
        for _ in range(MAX_TURNS):
            response = await client.chat.completions.create(model=MODEL_NAME, messages=messages, tools=tools)
            message = response.choices[0].message
            if not message.tool_calls:
                return message.content or ""
            calls = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.function.name, "arguments": c.function.arguments},
                }
                for c in message.tool_calls
            ]
            messages.append({"role": "assistant", "content": message.content, "tool_calls": calls})
            results = await asyncio.gather(
                *(_call(functions[c["function"]["name"]], c["function"]["arguments"]) for c in calls)
            )
            messages.extend(
                {"role": "tool", "tool_call_id": c["id"], "content": r}
                for c, r in zip(calls, results, strict=True)
            )
        raise RuntimeError(f"no answer after {MAX_TURNS} turns")

    return run


def _assistant_message(content: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    return {"role": "assistant", "content": content or None, "tool_calls": calls}


def make_stream(base_url: str) -> harness.StreamFn:
    client = harness.openai_client(base_url)
    tools, functions = build_tools(), REFERENCE

    async def run(prompt: str, on_text: Callable[[str], None]) -> str:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": prompt},
        ]
        for _ in range(MAX_TURNS):
            stream = await client.chat.completions.create(
                model=MODEL_NAME,
                messages=messages,
                tools=tools,
                stream=True,
                stream_options={"include_usage": True},
            )
            text: list[str] = []
            calls: dict[int, dict[str, Any]] = {}
            async for chunk in stream:
                if not chunk.choices:
                    continue  # the usage chunk
                delta = chunk.choices[0].delta
                if delta.content:
                    on_text(delta.content)
                    text.append(delta.content)
                for part in delta.tool_calls or ():
                    call = calls.setdefault(
                        part.index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
                    )
                    if part.id:
                        call["id"] = part.id
                    if part.function is not None:
                        call["function"]["name"] += part.function.name or ""
                        call["function"]["arguments"] += part.function.arguments or ""
            if not calls:
                return "".join(text)
            ordered = [calls[index] for index in sorted(calls)]
            messages.append(_assistant_message("".join(text), ordered))
            results = await asyncio.gather(
                *(_call(functions[c["function"]["name"]], c["function"]["arguments"]) for c in ordered)
            )
            messages.extend(
                {"role": "tool", "tool_call_id": c["id"], "content": r}
                for c, r in zip(ordered, results, strict=True)
            )
        raise RuntimeError(f"no answer after {MAX_TURNS} turns")

    return run


def make_default(base_url: str) -> tuple[harness.SyncRunFn, harness.RunFn]:
    """The same loop as `make_run` written for sync code on `openai.OpenAI`, and the async one; both clients
    built the plain way (base URL and key, no tuning)."""
    import openai

    sync_client = openai.OpenAI(base_url=base_url, api_key="x")
    tools = build_tools()

    def run_sync(prompt: str) -> str:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": prompt},
        ]
        for _ in range(MAX_TURNS):
            response = sync_client.chat.completions.create(model=MODEL_NAME, messages=messages, tools=tools)
            message = response.choices[0].message
            if not message.tool_calls:
                return message.content or ""
            calls = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.function.name, "arguments": c.function.arguments},
                }
                for c in message.tool_calls
            ]
            messages.append({"role": "assistant", "content": message.content, "tool_calls": calls})
            for c in calls:
                kwargs = json.loads(c["function"]["arguments"] or "{}")
                result = str(REFERENCE[c["function"]["name"]](**kwargs))
                messages.append({"role": "tool", "tool_call_id": c["id"], "content": result})
        raise RuntimeError(f"no answer after {MAX_TURNS} turns")

    return run_sync, make_run(
        base_url, "reference", client=openai.AsyncOpenAI(base_url=base_url, api_key="x")
    )


if __name__ == "__main__":
    harness.main(sys.modules[__name__])
