"""Token, request and cost accounting, and the limits a run must stay within."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Usage", "UsageLimits"]


@dataclass(kw_only=True)
class Usage:
    """What a request or a whole run consumed. Adding two gives their sum."""

    requests: int = 0
    """Model requests made."""
    input_tokens: int = 0
    """Prompt tokens, as the provider counted them."""
    output_tokens: int = 0
    """Completion tokens, as the provider counted them."""
    cost_usd: float = 0.0
    """Dollar cost: the provider's figure (OpenRouter's `usage.cost`) when sent, else from the model's prices."""
    tool_calls: int = 0
    """Tool calls executed."""

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            requests=self.requests + other.requests,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            tool_calls=self.tool_calls + other.tool_calls,
        )


@dataclass(kw_only=True, frozen=True)
class UsageLimits:
    """Ceilings for one run; `None` means no limit. Reaching one raises `UsageLimitExceeded`."""

    request_limit: int | None = 50
    """Model requests allowed in a run."""
    input_tokens_limit: int | None = None
    """Input tokens allowed in a run, summed over requests."""
    output_tokens_limit: int | None = None
    """Output tokens allowed in a run, summed over requests."""
    total_tokens_limit: int | None = None
    """Input plus output tokens allowed in a run."""
    cost_usd_limit: float | None = None
    """Dollars a run may spend."""

    def check_before_request(self, usage: Usage) -> str | None:
        """The reason a further request is not allowed, or `None`."""
        if self.request_limit is not None and usage.requests >= self.request_limit:
            return f"request_limit of {self.request_limit} reached"
        return None

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
