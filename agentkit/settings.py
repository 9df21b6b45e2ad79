"""`ModelSettings`: sampling and transport options for model requests."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ModelSettings"]


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
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    """Fields added to each request body (provider-specific options, e.g. OpenRouter's `provider`)."""

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
