"""agentkit tools for `agentkit mcp serve` in the tests and the benchmark."""

from __future__ import annotations

from agentkit import ImagePart, ModelRetry, RunContext, TextPart, tool

__all__ = ["add", "check", "erase", "picture", "whoami"]


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


@tool
def check(word: str) -> str:
    """Accept only the word 'yes'."""
    if word != "yes":
        raise ModelRetry("Say 'yes'.")
    return "accepted"


@tool
def picture(caption: str) -> list[TextPart | ImagePart]:
    """A picture with a caption."""
    return [
        TextPart(text=caption),
        ImagePart.from_bytes(b"\x89PNG", "image/png"),
        ImagePart(url="https://x.test/a.png"),
    ]


@tool
def whoami(ctx: RunContext[None]) -> str:
    """The name the call came in under."""
    return f"{ctx.tool_name} deps={ctx.deps}"


ERASED: list[str] = []
"""What `erase` did, for tests that serve it in-process."""


@tool(requires_approval=True)
def erase(ctx: RunContext[None], name: str) -> str:
    """Erase a (pretend) file: needs a person's approval.

    Args:
        name: The file.
    """
    ERASED.append(name)
    return f"erased {name} in call {ctx.tool_call_id}"
