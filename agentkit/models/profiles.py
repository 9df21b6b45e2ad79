"""Per-model facts, chosen from the model id: how requests are written (schema dialect, prompted tool calling,
structured output), prices and context size; and in `policy`, what the agent loop does differently.

Model adapters read the wire fields of `ModelProfile`; only the loop reads `policy` (`RunPolicy`), so an
adapter has nothing of it to honour or to forget.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .._checks import CallQuestion, RunChecker
from .._dialects import Dialect
from .._grounding import GroundingCheck
from .._tool_calls import ValidatedCall

__all__ = [
    "CallQuestion",
    "GroundingCheck",
    "ModelProfile",
    "RunChecker",
    "RunPolicy",
    "ValidatedCall",
    "profile_for",
]


@dataclass(kw_only=True, frozen=True)
class RunPolicy:
    """What the agent loop does for a model family beyond the wire format (small models need more help)."""

    checker: Callable[[], RunChecker] | None = None
    """Makes each run's checker, which may question a tool call or an answer before the loop accepts it
    (`GroundingCheck` for small models: numbers nothing gave). `None`: every call and answer is taken. A
    checker of your own subclasses `RunChecker`: it gets each `ValidatedCall` and may answer with a
    `CallQuestion`, and gets each answer and may answer with a question (all importable from here)."""
    steer_repeated_calls: bool = False
    """When the model repeats a call it already made (same tool, same arguments), answer with the earlier
    result and a reminder to use it, without running the tool again, and ask for a text answer next
    (small models otherwise repeat a call until the turn limit)."""


@dataclass(kw_only=True, frozen=True)
class ModelProfile:
    """What agentkit knows about a model family. Unknown models get the defaults."""

    family: str = "default"
    schema_dialect: Dialect = "standard"
    """How tool and output schemas are written for this model."""
    input_price_per_mtok: float | None = None
    """Dollars per million input tokens (used when the provider does not report the cost)."""
    output_price_per_mtok: float | None = None
    """Dollars per million output tokens."""
    cache_read_price_per_mtok: float | None = None
    """Dollars per million cached input tokens read (None: cached tokens priced as input)."""
    image_price_per_k: float | None = None
    """Dollars per thousand input images."""
    context_window: int | None = None
    max_output_tokens: int | None = None
    tools_with_response_format: bool = True
    """Whether tools and a JSON `response_format` can be sent together (Gemini 2.x: no)."""
    structured_output: Literal["json_schema", "tool"] = "json_schema"
    """How a structured `output_type` is requested: `response_format` json_schema, or a final-result tool."""
    tool_calling: Literal["native", "prompted"] = "native"
    """`native`: the server's `tools` support; `prompted`: schemas in the prompt, calls parsed from text."""
    constrain_calls: bool = False
    """With `tool_calling="prompted"`: send a grammar (llama.cpp's `grammar` field, in LLGuidance's syntax)
    so the reply is plain text or valid calls of the offered tools, nothing else (`_grammar`). Needs a
    llama.cpp server built with LLGuidance, as the local model's default engine (xllamacpp) is."""
    results_reminder: bool = False
    """After the latest tool results, say the question again and to answer once the results suffice (small
    models otherwise often echo the question or drift once a result comes back)."""
    policy: RunPolicy = field(default_factory=RunPolicy)
    """What the agent loop does for this family (checks, repeated-call steering); not the wire format."""

    def cost(
        self, input_tokens: int, output_tokens: int, *, cached_input_tokens: int = 0, images: int = 0
    ) -> float:
        """Dollar cost from the listed prices (unknown prices count 0.0).

        Args:
            input_tokens: All input tokens, the cached ones included (as providers report `prompt_tokens`).
            output_tokens: Output tokens.
            cached_input_tokens: Of `input_tokens`, those read from the provider's prompt cache: priced at
                `cache_read_price_per_mtok` when it is listed, else as input.
            images: Input images in the request, priced at `image_price_per_k` per thousand.
        """
        total = 0.0
        cached = 0
        if self.cache_read_price_per_mtok is not None:
            cached = min(max(cached_input_tokens, 0), input_tokens)
            total += cached * self.cache_read_price_per_mtok / 1_000_000
        if self.input_price_per_mtok is not None:
            total += (input_tokens - cached) * self.input_price_per_mtok / 1_000_000
        if self.output_price_per_mtok is not None:
            total += output_tokens * self.output_price_per_mtok / 1_000_000
        if self.image_price_per_k is not None:
            total += images * self.image_price_per_k / 1_000
        return total


GEMINI_2_0_FLASH = ModelProfile(
    family="gemini-2.0-flash",
    schema_dialect="gemini",
    input_price_per_mtok=0.10,
    output_price_per_mtok=0.40,
    image_price_per_k=0.026,
    context_window=1_048_576,
    max_output_tokens=8_192,
    tools_with_response_format=False,
    structured_output="tool",
)
GEMINI = ModelProfile(
    family="gemini", schema_dialect="gemini", tools_with_response_format=False, structured_output="tool"
)
# The successors OpenRouter names for retired Gemini 2.0 models: priced, so that usage stays right after a
# fallback (OpenRouter's `usage.cost` still wins when it is sent).
GEMINI_2_5_FLASH = dataclasses.replace(
    GEMINI,
    family="gemini-2.5-flash",
    input_price_per_mtok=0.30,
    output_price_per_mtok=2.50,
    context_window=1_048_576,
    max_output_tokens=65_535,
)
GEMINI_2_5_FLASH_LITE = dataclasses.replace(
    GEMINI_2_5_FLASH, family="gemini-2.5-flash-lite", input_price_per_mtok=0.10, output_price_per_mtok=0.40
)
GEMINI_2_5_PRO = dataclasses.replace(
    GEMINI_2_5_FLASH,
    family="gemini-2.5-pro",
    input_price_per_mtok=1.25,
    output_price_per_mtok=10.0,
    max_output_tokens=65_536,
)
OPENAI = ModelProfile(family="openai", schema_dialect="openai-strict")
LOCAL = ModelProfile(
    family="local",
    input_price_per_mtok=0.0,
    output_price_per_mtok=0.0,
    context_window=4_096,
    structured_output="tool",
    tool_calling="prompted",
    constrain_calls=True,
    results_reminder=True,
    policy=RunPolicy(checker=GroundingCheck, steer_repeated_calls=True),
)
DEFAULT = ModelProfile()


def profile_for(model_id: str) -> ModelProfile:
    """The profile of a model id such as `google/gemini-2.0-flash-001`, `gpt-4o-mini` or `local`."""
    name = model_id.lower()
    bare = name.split("/", 1)[1] if "/" in name else name
    if name.startswith(("google/", "gemini")) or bare.startswith("gemini"):
        if bare.startswith("gemini-2.0-flash") and "lite" not in bare:
            return GEMINI_2_0_FLASH
        if bare.startswith("gemini-2.5-flash-lite"):
            return GEMINI_2_5_FLASH_LITE
        if bare.startswith("gemini-2.5-flash") and "image" not in bare:
            return GEMINI_2_5_FLASH
        if bare.startswith("gemini-2.5-pro"):
            return GEMINI_2_5_PRO
        if bare.startswith(("gemini-2", "gemini-1", "gemini-exp", "gemini-pro", "gemini-flash")):
            return GEMINI
        return ModelProfile(family="gemini", schema_dialect="gemini")
    if name.startswith("openai/") or bare.startswith(("gpt-", "o1", "o3", "o4")):
        return OPENAI
    if name == "local" or name.startswith("local:"):
        return LOCAL
    return DEFAULT
