"""Structured output said in the prompt: the answer's JSON Schema and the instruction to reply with that JSON
only, after the system prompt.

Used for the output mode `prompted` (servers without a JSON `response_format`), and for a `native` request
that reaches a model unable to take a response format with the request's tools (a fallback model of
another family): the answer is then read from the reply text either way.
"""

from __future__ import annotations

import json
from typing import Any

from . import ResponseFormat
from .profiles import ModelProfile

__all__ = ["OUTPUT_INSTRUCTIONS", "output_instructions", "with_output_instructions"]

OUTPUT_INSTRUCTIONS = (
    "Give your final answer as one JSON object that matches the JSON Schema below, and nothing else: no "
    "text before or after it (this replaces any instruction to answer in plain text). Answer only once you "
    "have everything the answer needs.\nJSON Schema: {schema}"
)


def output_instructions(fmt: ResponseFormat, profile: ModelProfile) -> str:
    """The instruction for `fmt`, its schema in the profile's dialect (Gemini's, or standard JSON Schema)."""
    schema = fmt.schema
    if profile.schema_dialect == "gemini":
        from ._dialects import to_dialect

        schema = to_dialect(schema, "gemini")
    return OUTPUT_INSTRUCTIONS.format(schema=json.dumps(schema, ensure_ascii=False, separators=(",", ":")))


def with_output_instructions(wire: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """The wire messages with `text` after the system prompt (a system message in front when there is none).

    The system prompt stays the same from request to request, so a provider's prompt cache keeps it.
    """
    if wire and wire[0]["role"] == "system":
        return [{**wire[0], "content": f"{wire[0]['content']}\n\n{text}"}, *wire[1:]]
    return [{"role": "system", "content": text}, *wire]
