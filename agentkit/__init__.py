"""agentkit: agents that call Python tools, over any OpenAI-compatible chat-completions endpoint."""

from __future__ import annotations

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
from .result import RunResult
from .settings import ModelSettings
from .tool import Tool, ToolDefinition, tool
from .usage import Usage, UsageLimits

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentRunError",
    "AgentkitError",
    "AssistantMessage",
    "ImagePart",
    "Message",
    "Model",
    "ModelAPIError",
    "ModelProfile",
    "ModelRequestParameters",
    "ModelRetry",
    "ModelSettings",
    "ModelUnavailableError",
    "RunContext",
    "RunResult",
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
    "UserError",
    "UserMessage",
    "__version__",
    "messages_from_json",
    "messages_to_json",
    "tool",
]
