"""Tools several test modules use (module-level, so that durable runs can pickle what refers to them)."""

from __future__ import annotations

from agentkit import tool


@tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b
