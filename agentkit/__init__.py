"""agentkit: agents that call Python tools, over any OpenAI-compatible chat-completions endpoint."""

from __future__ import annotations

from . import events
from ._stream import RunStream
from .agent import Agent
from .context import RunContext
from .exceptions import (
    AgentkitError,
    AgentRunError,
    ModelAPIError,
    ModelRetry,
    ModelUnavailableError,
    ToolArgumentsError,
    ToolExecutionError,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
    UserError,
)
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
from .models._pacing import RateLimit
from .models.profiles import RunPolicy
from .result import RunResult
from .settings import ModelSettings, ProviderRouting
from .tool import Tool, ToolDefinition, tool
from .usage import Usage, UsageLimits, UsageView

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentRunError",
    "AgentkitError",
    "AssistantMessage",
    "AudioPart",
    "DocumentPart",
    "ImagePart",
    "Message",
    "Model",
    "ModelAPIError",
    "ModelProfile",
    "ModelRequestParameters",
    "ModelRetry",
    "ModelSettings",
    "ModelUnavailableError",
    "ProviderRouting",
    "RateLimit",
    "RunContext",
    "RunPolicy",
    "RunResult",
    "RunStream",
    "SystemMessage",
    "TextPart",
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
    "__version__",
    "events",
    "messages_from_json",
    "messages_to_json",
    "tool",
]
