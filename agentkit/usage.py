"""Token, request and cost accounting, and the limits a run must stay within."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Usage", "UsageLimits", "UsageView"]


@dataclass(kw_only=True)
class Usage:
    """What a request or a whole run consumed. `a + b` gives a new sum; `a.add(b)` adds `b` into `a`.

    A run keeps one `Usage` and adds each response into it as it arrives (a run nested inside a tool can add
    into its parent's); tools see it through a read-only `UsageView`.
    """

    requests: int = 0
    """Model requests made: one per reply (a turn of the run)."""
    input_tokens: int = 0
    """Prompt tokens, as the provider counted them."""
    cached_input_tokens: int = 0
    """Of `input_tokens`, those the provider read from its prompt cache instead of processing again
    (`prompt_tokens_details.cached_tokens`: OpenAI, OpenRouter, llama.cpp)."""
    output_tokens: int = 0
    """Completion tokens, as the provider counted them."""
    reasoning_tokens: int = 0
    """Of `output_tokens`, those a thinking model spent reasoning (`completion_tokens_details.reasoning_tokens`)."""
    cost_usd: float = 0.0
    """Dollar cost: the provider's figure (OpenRouter's `usage.cost`) when sent, else from the model's prices."""
    tool_calls: int = 0
    """Tool calls executed."""
    repairs: int = 0
    """Tool calls agentkit repaired locally instead of asking the model again (see `ToolCall.original_arguments`)."""
    tool_retries: int = 0
    """Tool functions called again by `@tool(retry=...)` after an exception (not counted in `tool_calls`)."""
    decisions: int = 0
    """One-token requests made before a reply to decide whether it may call a tool (a prompted small
    model's `ModelProfile.decide_tool_use`): not counted in `requests`, their tokens and cost are counted."""

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def add(self, other: Usage) -> None:
        """Add `other` into this usage, in place."""
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.cached_input_tokens += other.cached_input_tokens
        self.output_tokens += other.output_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.cost_usd += other.cost_usd
        self.tool_calls += other.tool_calls
        self.repairs += other.repairs
        self.tool_retries += other.tool_retries
        self.decisions += other.decisions

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            requests=self.requests + other.requests,
            input_tokens=self.input_tokens + other.input_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            tool_calls=self.tool_calls + other.tool_calls,
            repairs=self.repairs + other.repairs,
            tool_retries=self.tool_retries + other.tool_retries,
            decisions=self.decisions + other.decisions,
        )


class UsageView:
    """A read-only view of a run's live `Usage`: it always shows the figures so far."""

    __slots__ = ("_usage",)

    def __init__(self, usage: Usage) -> None:
        self._usage = usage

    @property
    def requests(self) -> int:
        return self._usage.requests

    @property
    def input_tokens(self) -> int:
        return self._usage.input_tokens

    @property
    def cached_input_tokens(self) -> int:
        return self._usage.cached_input_tokens

    @property
    def output_tokens(self) -> int:
        return self._usage.output_tokens

    @property
    def reasoning_tokens(self) -> int:
        return self._usage.reasoning_tokens

    @property
    def total_tokens(self) -> int:
        return self._usage.total_tokens

    @property
    def cost_usd(self) -> float:
        return self._usage.cost_usd

    @property
    def tool_calls(self) -> int:
        return self._usage.tool_calls

    @property
    def repairs(self) -> int:
        return self._usage.repairs

    @property
    def tool_retries(self) -> int:
        return self._usage.tool_retries

    @property
    def decisions(self) -> int:
        return self._usage.decisions

    def snapshot(self) -> Usage:
        """A copy of the figures as they are now."""
        return Usage() + self._usage

    def __repr__(self) -> str:
        return f"UsageView({self._usage!r})"


@dataclass(kw_only=True, frozen=True)
class UsageLimits:
    """Token and cost ceilings for one run; `None` means no limit. Exceeding one raises `UsageLimitExceeded`.

    The number of model requests is bounded by the agent's `max_turns` (one request per turn).
    """

    input_tokens_limit: int | None = None
    """Input tokens allowed in a run, summed over requests."""
    output_tokens_limit: int | None = None
    """Output tokens allowed in a run, summed over requests."""
    total_tokens_limit: int | None = None
    """Input plus output tokens allowed in a run."""
    cost_usd_limit: float | None = None
    """Dollars a run may spend."""

    def check_after_response(self, usage: Usage) -> str | None:
        """The reason the usage so far exceeds a limit, or `None`."""
        checks: list[tuple[str, float | None, float]] = [
            ("input_tokens_limit", self.input_tokens_limit, usage.input_tokens),
            ("output_tokens_limit", self.output_tokens_limit, usage.output_tokens),
            ("total_tokens_limit", self.total_tokens_limit, usage.total_tokens),
            ("cost_usd_limit", self.cost_usd_limit, usage.cost_usd),
        ]
        for name, limit, used in checks:
            if limit is not None and used > limit:
                return f"{name} of {limit} exceeded ({used:g} used)"
        return None
