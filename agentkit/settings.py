"""`ModelSettings`: sampling and transport options for model requests."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ModelSettings", "ProviderRouting"]


@dataclass(kw_only=True, frozen=True)
class ProviderRouting:
    """OpenRouter's provider routing: which providers may serve a request, in what order, under what terms.

    Sent as the request's `provider` object (OpenRouter only; other endpoints never see it). `None` fields
    are left out, so OpenRouter's defaults hold. Provider names are OpenRouter's slugs (`"google-vertex"`,
    `"google-ai-studio"`). See https://openrouter.ai/docs/features/provider-routing.
    """

    order: Sequence[str] | None = None
    """Providers to try first, in this order."""
    allow_fallbacks: bool | None = None
    """Whether other providers may serve the request when those in `order` (or `only`) cannot (default true)."""
    require_parameters: bool | None = None
    """Only providers that support every parameter of the request."""
    only: Sequence[str] | None = None
    """The only providers allowed."""
    ignore: Sequence[str] | None = None
    """Providers never used."""
    data_collection: Literal["allow", "deny"] | None = None
    """`"deny"`: only providers that do not store or train on prompts."""
    zdr: bool | None = None
    """Only zero-data-retention endpoints."""
    quantizations: Sequence[str] | None = None
    """Only endpoints serving these quantizations (`"fp8"`, `"bf16"`, ...)."""
    sort: Literal["price", "throughput", "latency"] | None = None
    """Try providers cheapest, fastest or quickest first (this turns OpenRouter's load balancing off)."""
    max_price: Mapping[str, float] | None = None
    """The most to pay: dollars per million `prompt` / `completion` tokens, per `image`, `audio` unit or
    `request`; providers above it are not used."""

    def to_json(self) -> dict[str, object]:
        """The `provider` object as sent (only the fields set)."""
        out: dict[str, object] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, Sequence) and not isinstance(value, str):
                value = list(value)
            out[f.name] = value
        return out


@dataclass(kw_only=True, frozen=True)
class ModelSettings:
    """Options sent with each model request; `None` leaves the provider's default.

    Settings given to `agent.run(...)` are merged over the agent's, field by field.
    """

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    """Output tokens per request."""
    seed: int | None = None
    stop: Sequence[str] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    reasoning_effort: Literal["none", "low", "medium", "high"] | None = None
    """How hard a thinking model thinks (`"none"` turns thinking off where the model allows it). Sent as
    OpenRouter's `reasoning.effort`, or as `reasoning_effort` to other OpenAI-compatible servers."""
    reasoning_max_tokens: int | None = None
    """Tokens a thinking model may spend thinking (OpenRouter's `reasoning.max_tokens`; OpenRouter only).
    Give this or `reasoning_effort`, not both."""
    reasoning_exclude: bool | None = None
    """True: the model still thinks, but its reasoning is left out of the reply (OpenRouter's
    `reasoning.exclude`; OpenRouter only). Signed details a model needs back may then be missing."""
    parallel_tool_calls: bool | None = None
    """Let the model ask for several tool calls in one turn (`None`: the provider's default)."""
    tool_choice: str | None = None
    """`"auto"`, `"required"` or `"none"`; `None` sends nothing."""
    timeout: float | None = None
    """Seconds for one HTTP request (the SDK's timeout)."""
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    """HTTP headers added to each request."""
    provider: ProviderRouting | None = None
    """OpenRouter's provider routing, sent as `provider` with every request to OpenRouter (ignored by other
    endpoints). The provider that served each answer is on its `AssistantMessage.provider`."""
    cache_control: bool | None = None
    """True: mark prompt-cache breakpoints (`cache_control: {"type": "ephemeral"}` on a content part) on the
    instructions and the newest message of each request, for providers that cache only where asked
    (Anthropic; Gemini 2.5 and later through OpenRouter). Others may refuse the field: leave it off there."""
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    """Fields added to each request body, for anything agentkit does not model (OpenRouter's `plugins`,
    `session_id`, `transforms`; a server's own options). They are sent as given, last, so they win over
    fields agentkit sets (`provider`, `stream_options`, `usage`, ...)."""

    def merged(self, override: ModelSettings | None) -> ModelSettings:
        """These settings with every field `override` sets replacing ours (mappings are combined)."""
        if override is None:
            return self
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(override):
            value = getattr(override, f.name)
            if f.name in ("extra_headers", "extra_body"):
                if value:
                    changes[f.name] = {**getattr(self, f.name), **value}
            elif value is not None:
                changes[f.name] = value
        return dataclasses.replace(self, **changes)
