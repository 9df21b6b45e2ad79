"""agentkit: agents that call Python tools, over any OpenAI-compatible chat-completions endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import events
from ._run.stream import RunStream
from ._version import __version__
from .agent import Agent
from .context import RunContext
from .exceptions import (
    AgentkitError,
    AgentRunError,
    GuardrailTripped,
    HookError,
    ModelAPIError,
    ModelRetry,
    ModelUnavailableError,
    SessionError,
    ToolArgumentsError,
    ToolExecutionError,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
    UserError,
)
from .history import HistoryProcessor, KeepRecentToolResults, SummarizeOlder, TokenWindow
from .hooks import Deny, Hooks, InputGuardrail, ModelRequest, OutputGuardrail, Reply, ValidatedCall
from .messages import (
    AssistantMessage,
    AudioPart,
    DocumentPart,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
    messages_from_json,
    messages_to_json,
)
from .models import Model, ModelProfile, ModelRequestParameters
from .models._named import register as _register_model_ids
from .result import RunResult
from .settings import ModelSettings, ProviderRouting
from .tool import RetryPolicy, Tool, ToolDefinition, tool
from .usage import Usage, UsageLimits, UsageView

if TYPE_CHECKING:
    from .local.policy import RunPolicy
    from .models._pacing import RateLimit

__all__ = [
    "Agent",
    "AgentRunError",
    "AgentkitError",
    "AssistantMessage",
    "AudioPart",
    "Deny",
    "DocumentPart",
    "GuardrailTripped",
    "HistoryProcessor",
    "HookError",
    "Hooks",
    "ImagePart",
    "InputGuardrail",
    "KeepRecentToolResults",
    "Message",
    "Model",
    "ModelAPIError",
    "ModelProfile",
    "ModelRequest",
    "ModelRequestParameters",
    "ModelRetry",
    "ModelSettings",
    "ModelUnavailableError",
    "OutputGuardrail",
    "ProviderRouting",
    "RateLimit",
    "Reply",
    "RetryPolicy",
    "RunContext",
    "RunPolicy",
    "RunResult",
    "RunStream",
    "SessionError",
    "SummarizeOlder",
    "SystemMessage",
    "TextPart",
    "TokenWindow",
    "Tool",
    "ToolArgumentsError",
    "ToolCall",
    "ToolDefinition",
    "ToolExecutionError",
    "ToolMessage",
    "UnexpectedModelBehavior",
    "Usage",
    "UsageLimitExceeded",
    "UsageLimits",
    "UsageView",
    "UserError",
    "UserMessage",
    "ValidatedCall",
    "__version__",
    "events",
    "messages_from_json",
    "messages_to_json",
    "tool",
]


def _local_model(name: str) -> Model:
    from .local import LocalModel  # the embedded model's package loads when a local model is asked for

    return LocalModel(name)


def _local_profile() -> ModelProfile:
    from .local.policy import LOCAL

    return LOCAL


# The embedded model's ids, `local` and `local:NAME`, are served by `agentkit.local`, a package above the model
# layer: the root wires them in, so that `infer_model("local")` and `profile_for("local")` work while the model
# layer never names that package (the `models` contract in pyproject.toml).
_register_model_ids("local", model=_local_model, profile=_local_profile)


def __getattr__(name: str) -> object:
    if name == "RunPolicy":  # the small-model policy lives with the local model; loaded when asked for
        from .local.policy import RunPolicy

        return RunPolicy
    if name == "RateLimit":  # the pacer's module loads with the first OpenAI-compatible model, not before
        from .models._pacing import RateLimit

        return RateLimit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
