"""The 10-tool reference set, as typed Python functions with Google-style docstrings.

agentkit, pydantic-ai and openai-agents each turn these same functions into tools in their own idiom
(`tool(f)` is what `@tool` does, `function_tool(f)` is what `@function_tool` does, and pydantic-ai takes the
plain function). The raw loop has its own hand-written twins in `runner_raw.py`.

Between them the parameters cover: str, int, float, bool, Literal, list[str], Optional, a nested pydantic
model, an enum and defaults. Each tool returns a short text the scripted server checks (see `server.py`),
so a framework that passes wrong arguments fails instead of looking fast.

The `pause_*` tools are for the parallel-tools benchmark: each sleeps `ms` milliseconds.
"""

from __future__ import annotations

import asyncio
import enum
import time
from typing import Literal, Optional

from pydantic import BaseModel, Field

INSTRUCTIONS = "You are a helpful assistant. Use the tools when they help."


class Priority(str, enum.Enum):
    """How urgent a task is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Address(BaseModel):
    """A postal address."""

    street: str = Field(description="Street and number.")
    city: str = Field(description="City name.")
    country: str = Field(description="ISO 3166-1 alpha-2 country code.")


class Contact(BaseModel):
    """A person to get in touch with."""

    name: str = Field(description="Full name.")
    email: str = Field(description="Email address.")
    phone: Optional[str] = Field(default=None, description="Phone number, if known.")
    address: Address = Field(description="Where the person lives.")


def get_weather(city: str, units: Literal["c", "f"] = "c") -> str:
    """Get the current weather for a city.

    Args:
        city: The city name, for example "Paris".
        units: Temperature units: "c" for Celsius or "f" for Fahrenheit.
    """
    return f"weather:{city}:{units}: 21 degrees, clear"


def convert_currency(amount: float, from_currency: str, to_currency: str) -> str:
    """Convert an amount of money between currencies.

    Args:
        amount: The amount to convert.
        from_currency: ISO 4217 code of the source currency.
        to_currency: ISO 4217 code of the target currency.
    """
    return f"converted:{amount}:{from_currency}:{to_currency}: {amount * 1.1:.2f}"


def search_docs(query: str, limit: int = 5, include_archived: bool = False) -> list[str]:
    """Search the documentation.

    Args:
        query: What to look for.
        limit: The most results to return.
        include_archived: Whether to search archived pages too.
    """
    return [f"docs:{query}:{limit}:{include_archived}", "page-1", "page-2"]


def tag_items(item_ids: list[str], tag: str) -> str:
    """Add a tag to several items.

    Args:
        item_ids: The ids of the items to tag.
        tag: The tag to add.
    """
    return f"tagged:{len(item_ids)}:{tag}"


def schedule_meeting(
    title: str, attendees: list[str], duration_minutes: int = 30, location: Optional[str] = None
) -> str:
    """Schedule a meeting.

    Args:
        title: The meeting's title.
        attendees: Email addresses of the people to invite.
        duration_minutes: How long the meeting lasts.
        location: Where it takes place; none for an online meeting.
    """
    return f"meeting:{title}:{len(attendees)}:{duration_minutes}:{location}"


def set_priority(task_id: str, priority: Priority) -> str:
    """Set a task's priority.

    Args:
        task_id: The task's id.
        priority: The new priority.
    """
    return f"priority:{task_id}:{Priority(priority).value}"


def create_contact(contact: Contact) -> str:
    """Save a new contact.

    Args:
        contact: The contact to save.
    """
    return f"contact:{contact.name}:{contact.address.city}"


def toggle_feature(name: str, enabled: bool) -> str:
    """Turn a feature flag on or off.

    Args:
        name: The feature flag's name.
        enabled: True to turn it on, false to turn it off.
    """
    return f"feature:{name}:{enabled}"


def calculate_discount(price: float, percent: float = 10.0, round_to: int = 2) -> float:
    """Work out a discounted price.

    Args:
        price: The original price.
        percent: The discount in percent.
        round_to: How many decimal places to round to.
    """
    return round(price * (1 - percent / 100), round_to)


def send_message(
    recipient: str, body: str, channel: Literal["email", "sms", "chat"] = "email", urgent: bool = False
) -> str:
    """Send a message to someone.

    Args:
        recipient: Who gets the message.
        body: The message text.
        channel: How to send it.
        urgent: Whether to flag the message as urgent.
    """
    return f"sent:{channel}:{recipient}:{urgent}"


REFERENCE_FUNCTIONS = (
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
"""The reference set, in the order the 10-turn scenario calls them."""


def pause_sync(ms: int) -> str:
    """Wait a while, blocking.

    Args:
        ms: How long to wait, in milliseconds.
    """
    time.sleep(ms / 1000)
    return f"paused:{ms}"


async def pause_async(ms: int) -> str:
    """Wait a while, without blocking the event loop.

    Args:
        ms: How long to wait, in milliseconds.
    """
    await asyncio.sleep(ms / 1000)
    return f"paused:{ms}"
