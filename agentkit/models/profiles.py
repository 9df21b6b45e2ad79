"""Per-model facts, chosen from the model id: how requests are written (schema dialect, prompted tool calling,
structured output), prices and context size; and in `policy`, the hooks a run of the model installs.

Prices are OpenRouter's list prices (dollars per million tokens), used only when the provider's response
carries no `usage.cost`; where each came from, and when it was read, is noted at the profile and in
docs/models.md.

Model adapters read the wire fields of `ModelProfile`; only the run reads `policy` (it makes each run's
hooks), so an adapter has nothing of it to honour or to forget. The local model's profile, whose policy is
the small-model checks, lives with them in `agentkit.local.policy`: `profile_for("local")` (and `LOCAL`
here) hands over the profile registered for the id (`_named`), never naming that package.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ._named import lookup

if TYPE_CHECKING:
    from ._dialects import Dialect  # the dialect code loads with the first request, not with a profile

__all__ = ["ModelProfile", "OutputMode", "RunHooks", "profile_for"]

OutputMode = Literal["tool", "native", "prompted"]
"""How a structured answer is asked for: `native` (a `response_format` json_schema), `tool` (a final-result
tool the model calls), `prompted` (the schema in the prompt, the JSON read from the reply text)."""


RunHooks = Callable[[], Sequence[object]]
"""Makes the hooks one run installs (objects with methods of `agentkit.Hooks`): called once per run, so a
hook may keep that run's state."""


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
    reply_token_cap: int | None = None
    """Sent as `max_tokens` when the run's settings give none: a bound on a reply that never ends (a small
    model under a grammar can write until the request times out). `None`: nothing sent."""
    supports_response_format: bool = True
    """Whether the server takes a JSON-schema `response_format` at all (with no tools offered, at least)."""
    tools_with_response_format: bool = True
    """Whether tools and a JSON `response_format` can be sent together (Gemini 2.x: no; 3.x: yes)."""
    structured_output: OutputMode = "native"
    """The output mode of a structured `output_type` when the agent names none (`Agent(output_mode=...)`).
    `native` falls back to `tool` for a run with tools the model cannot take with a response format."""
    thinking: bool = False
    """A thinking (reasoning) model: it may reason before it answers, its reasoning billed as output."""
    tool_calling: Literal["native", "prompted"] = "native"
    """`native`: the server's `tools` support; `prompted`: schemas in the prompt, calls parsed from text."""
    constrain_calls: bool = False
    """With `tool_calling="prompted"`: send a grammar (llama.cpp's `grammar` field, in LLGuidance's syntax)
    so the reply is plain text or valid calls of the offered tools, nothing else (`_grammar`). Needs a
    llama.cpp server built with LLGuidance, as the local model's default engine (xllamacpp) is."""
    calls_after_text: bool = False
    """With `constrain_calls`: the grammar also lets a short text come before the calls, the calls after it
    held to the tools' schemas like any other, and an answer hold no call at all (no line of it holds a call's
    start, though it may be a dict or JSON); without it, only a reply that starts as a call is constrained
    (`_grammar`)."""
    several_calls_prompt: bool = False
    """With `tool_calling="prompted"`: the system prompt shows a reply with several independent calls, one
    per line, says to write them all in one reply, and to call no tool when none does what is asked (small
    models otherwise make one call per turn or describe the calls in prose)."""
    decide_tool_use: bool = False
    """With `tool_calling="prompted"`: before the first reply to a new question (tool choice `auto`), one or
    two one-token requests of their own: the reply's own prompt (does its first token start a call or
    text?) and, when `tool_use_thresholds` has a second threshold, that prompt with a question appended
    (which tool does what is asked: a name or none); when they lean to "no tool" (`tool_use_thresholds`)
    the reply is asked for with tool choice `none`. The first leaves the reply's prompt in a server's
    prompt cache and the second adds one question to it, so they are cheap; they count in the reply's
    `usage.decisions` (not `requests`), their tokens with the reply's (`_tool_decision`)."""
    tool_use_thresholds: tuple[float, float | None] = (0.0, math.log(0.5))
    """`decide_tool_use`: the reply goes without calls when log P(text) - log P(call) of the reply's first
    token is above the first and log P(none) of the name answer above the second; with `None` as the
    second, the name request is not sent and the first decides alone. The defaults are a greedy reading
    (text likelier than a call, none likelier than one half); a small model's are calibrated on questions
    outside any evaluation (`LOCAL`'s: docs/local-evals.md)."""
    decline_invented_calls: bool = False
    """With `decide_tool_use`: when the decision lets the first reply to a new question call, the reply is
    read whole before any of it is passed on (a stream then gets it as one chunk) and its calls checked;
    calls whose required values the transcript mostly does not give (`_invented_calls`) mean no tool
    fits, and the reply is asked for again with tool choice `none`. The checked reply's tokens then count
    with the decision's. A small model calls the nearest tool where none fits and invents the arguments."""
    cut_repeated_calls: bool = False
    """With `tool_calling="prompted"`: a reply is read as it streams (a plain request streams too) and cut
    where a line repeats a call the reply already made, the request closed there so the server stops
    writing (a small model can write the same calls again and again until its token cap). The reply keeps
    the calls before the repeat. Its usage then counts the streamed chunks as output tokens (llama.cpp
    streams one token a chunk) and no input tokens: the server reports usage only at the end (`_repeats`)."""
    more_calls_threshold: float | None = None
    """With `tool_calling="prompted"` and `cut_repeated_calls`: a first reply to a new question that is one
    call line is continued when the model's probability of another line after it (a one-token request of
    its own) is above this; `None`: never (`_more_calls`). A small model ends its reply after one call where
    the question needs several; calibrated on questions outside any evaluation (`LOCAL`'s: docs/local-evals.md)."""
    results_reminder: bool = False
    """After the latest tool results, say the question again and to answer once the results suffice (small
    models otherwise often echo the question or drift once a result comes back)."""
    policy: RunHooks | None = None
    """What a run does for this family beyond the wire format: makes the hooks each run of the model installs,
    in front of the agent's. The local profile's is `agentkit.local.policy.RunPolicy(checker=GroundingCheck,
    steer_repeated_calls=True)`: the small-model checks. `None`: no hooks."""

    def takes_response_format(self, *, with_tools: bool) -> bool:
        """Whether a request may carry a `response_format` (with tools offered, when `with_tools`)."""
        if not self.supports_response_format:
            return False
        return not with_tools or (self.tools_with_response_format and self.tool_calling == "native")

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


# Prices: OpenRouter's list prices, read 2026-12-07 from OpenRouter's model pages (openrouter.ai/google/<id>)
# where the search index holds them, else from OpenRouter's model list (openrouter.ai/api/v1/models) as
# mirrored in pydantic/genai-prices `prices/providers/openrouter.yml` (commit 47df840, 2026-08-21; the 3.x rows
# synced from the API on 2026-06-15, the 2.5 rows on 2025-06-22 and 2025-10-27). Gemini 2.5 and later list
# no per-image price (images are billed as input tokens). docs/models.md has the table with its sources.
GEMINI_2_0_FLASH = ModelProfile(
    family="gemini-2.0-flash",
    schema_dialect="gemini",
    input_price_per_mtok=0.10,  # openrouter.ai/google/gemini-2.0-flash-001: $0.10 in, $0.40 out, $0.026/K imgs
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
"""Gemini 1.x and 2.x ids without a profile of their own: unpriced, structured output through a tool."""
# Gemini 2.5: thinking models that still cannot take tools and a JSON response format in one request.
GEMINI_2_5_FLASH = dataclasses.replace(
    GEMINI,
    family="gemini-2.5-flash",
    input_price_per_mtok=0.30,  # genai-prices openrouter.yml google/gemini-2.5-flash: 0.30 / 2.50, cache 0.075
    output_price_per_mtok=2.50,
    cache_read_price_per_mtok=0.075,
    context_window=1_048_576,
    max_output_tokens=65_535,
    thinking=True,
)
GEMINI_2_5_FLASH_LITE = dataclasses.replace(
    GEMINI_2_5_FLASH,
    family="gemini-2.5-flash-lite",
    input_price_per_mtok=0.10,  # genai-prices openrouter.yml google/gemini-2.5-flash-lite: 0.10 / 0.40, cache 0.01
    output_price_per_mtok=0.40,
    cache_read_price_per_mtok=0.01,
)
GEMINI_2_5_PRO = dataclasses.replace(
    GEMINI_2_5_FLASH,
    family="gemini-2.5-pro",
    input_price_per_mtok=1.25,  # genai-prices openrouter.yml google/gemini-2.5-pro: 1.25 / 10, cache 0.31
    output_price_per_mtok=10.0,  # (prompts over 200K tokens cost more at Google; not modelled)
    cache_read_price_per_mtok=0.31,
    max_output_tokens=65_536,
)
# Gemini 3.x: thinking models that take tools and a JSON response format together (native structured output).
GEMINI_3 = ModelProfile(family="gemini-3", schema_dialect="gemini", thinking=True)
"""Gemini 3.x ids without a profile of their own: the capabilities of the line, no prices (the provider's
`usage.cost` still counts)."""
GEMINI_3_FLASH = dataclasses.replace(
    GEMINI_3,
    family="gemini-3-flash",
    input_price_per_mtok=0.50,  # openrouter.ai/google/gemini-3-flash-preview: $0.50 in, $3 out; cache 0.05
    output_price_per_mtok=3.0,  # (the cache price from genai-prices openrouter.yml)
    cache_read_price_per_mtok=0.05,
    context_window=1_048_576,
    max_output_tokens=65_536,
)
GEMINI_3_PRO = dataclasses.replace(
    GEMINI_3_FLASH,
    family="gemini-3-pro",
    # Not in the OpenRouter listings found (3.1 Pro replaced it there): Google's list price for
    # gemini-3-pro-preview (genai-prices google.yml, checked 2025-11-18), prompts up to 200K tokens.
    input_price_per_mtok=2.0,
    output_price_per_mtok=12.0,
    cache_read_price_per_mtok=0.20,
)
GEMINI_3_1_PRO = dataclasses.replace(
    GEMINI_3_PRO,
    family="gemini-3.1-pro",
    # openrouter.ai/google/gemini-3.1-pro-preview-customtools: from $2 in, $12 out; genai-prices openrouter.yml
    # google/gemini-3.1-pro-preview: 2 / 12, cache 0.20 (prompts up to 200K tokens)
)
GEMINI_3_1_FLASH_LITE = dataclasses.replace(
    GEMINI_3_FLASH,
    family="gemini-3.1-flash-lite",
    input_price_per_mtok=0.25,  # genai-prices openrouter.yml google/gemini-3.1-flash-lite: 0.25 / 1.50, cache 0.025
    output_price_per_mtok=1.50,
    cache_read_price_per_mtok=0.025,
)
GEMINI_3_5_FLASH = dataclasses.replace(
    GEMINI_3_FLASH,
    family="gemini-3.5-flash",
    input_price_per_mtok=1.50,  # genai-prices openrouter.yml google/gemini-3.5-flash: 1.50 / 9, cache 0.15
    output_price_per_mtok=9.0,
    cache_read_price_per_mtok=0.15,
)
OPENAI = ModelProfile(family="openai", schema_dialect="openai-strict")
DEFAULT = ModelProfile()

_GEMINI_FAMILIES: dict[tuple[str, str], ModelProfile] = {
    ("2.0", "flash"): GEMINI_2_0_FLASH,
    ("2.5", "flash"): GEMINI_2_5_FLASH,
    ("2.5", "flash-lite"): GEMINI_2_5_FLASH_LITE,
    ("2.5", "pro"): GEMINI_2_5_PRO,
    ("3", "flash"): GEMINI_3_FLASH,
    ("3", "pro"): GEMINI_3_PRO,
    ("3.1", "pro"): GEMINI_3_1_PRO,
    ("3.1", "flash-lite"): GEMINI_3_1_FLASH_LITE,
    ("3.5", "flash"): GEMINI_3_5_FLASH,
}
_GEMINI_ID = re.compile(r"^gemini-(?P<version>\d+(?:\.\d+)?)-(?P<kind>flash-lite|flash|pro)(?P<rest>.*)$")
_GEMINI_VARIANT = re.compile(r"-(?:preview|exp|latest|customtools|thinking|\d{3}|\d{2}-\d{2,4}|\d{8})(?=-|$)")
"""What a dated or preview variant adds to a family's id (`-preview-05-20`, `-001`, `-customtools-20260219`)."""
_OTHER_MODALITY = ("image", "tts", "audio", "live", "embedding")


def profile_for(model_id: str) -> ModelProfile:
    """The profile of a model id such as `google/gemini-2.5-flash`, `gpt-4o-mini` or `local`.

    A provider prefix (`google/`, `models/`) is optional; OpenRouter's variant suffixes (`:thinking`,
    `:nitro`...) keep the family's profile, and `:free` makes it free; dated and preview ids
    (`-preview-05-20`, `-001`, `-preview-09-2025`) take their family's profile. A Gemini id of another
    modality (image, TTS, live) gets the line's capabilities without the family's prices.
    """
    name = model_id.lower().strip()
    named = lookup(name)
    if named is not None:  # `local` and `local:NAME`: the profile their package registered
        return named.profile()
    name, _, variant = name.partition(":")
    profile = _profile_of(name.rsplit("/", 1)[-1], name)
    if variant == "free":
        return dataclasses.replace(
            profile,
            input_price_per_mtok=0.0,
            output_price_per_mtok=0.0,
            cache_read_price_per_mtok=0.0,
            image_price_per_k=0.0,
        )
    return profile


def _profile_of(bare: str, name: str) -> ModelProfile:
    if bare.startswith("gemini") or name.startswith("google/gemini"):
        return _gemini_profile(bare)
    if name.startswith("openai/") or bare.startswith(("gpt-", "o1", "o3", "o4")):
        return OPENAI
    return DEFAULT


def _gemini_profile(bare: str) -> ModelProfile:
    match = _GEMINI_ID.match(bare)
    if match is None:
        if bare.startswith(("gemini-2", "gemini-1", "gemini-exp", "gemini-pro", "gemini-flash")):
            return GEMINI
        return ModelProfile(family="gemini", schema_dialect="gemini")
    version, kind, rest = match.group("version", "kind", "rest")
    major = int(version.split(".", 1)[0])
    line = GEMINI_3 if major >= 3 else GEMINI
    if any(word in rest for word in _OTHER_MODALITY):
        return line
    if _GEMINI_VARIANT.sub("", rest):  # something more than a dated or preview variant: another model
        return line
    return _GEMINI_FAMILIES.get((version, kind), line)


if TYPE_CHECKING:
    LOCAL: ModelProfile
    """The local model's profile (`agentkit.local.policy.LOCAL`, as `profile_for("local")` gives it)."""


def __getattr__(name: str) -> ModelProfile:
    if name == "LOCAL":
        return profile_for("local")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
