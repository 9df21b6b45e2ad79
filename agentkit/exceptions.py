"""The errors agentkit raises, and `ModelRetry`, the signal a tool raises to ask the model to try again.

```
AgentkitError
├── UserError                      misuse of the library: bad configuration, a tool that cannot be described
│   ├── SessionError               a session's store cannot be used (names the file, and what to do)
│   └── LocalModelError            the local model is not installed (`agentkit.local`; installing fixes it)
│       ├── ModelChunkMissingError     a weight package is not installed
│       ├── ModelChecksumError         the joined weights have the wrong size or SHA-256
│       └── EngineNotFoundError        neither llama.cpp engine is installed
│           └── LlamaServerNotFoundError   the llama-server engine was asked for and no binary found
├── ToolArgumentsError             a model's arguments for a tool failed validation (text written for the model)
└── AgentRunError                  a run failed; `.messages` keeps the transcript up to the failure, `.usage` its cost
    ├── ModelAPIError              the model endpoint answered with an error; keeps `status_code` and `body`
    │   └── ModelUnavailableError  the model id is unknown, retired or deprecated (404, `model_deprecated`)
    ├── UnexpectedModelBehavior    the model's output could not be used, even after retries
    ├── ToolExecutionError         a tool raised, and the agent was told to raise (`raise_tool_errors=True`)
    ├── UsageLimitExceeded         `max_turns` or a `UsageLimits` value was reached
    ├── GuardrailTripped           an input or output guardrail (`agentkit.hooks`) stopped the run
    ├── HookError                  a hook, a guardrail's check or another function of yours raised (its `__cause__`)
    └── LocalServerError           the local model's server failed to start or died (`agentkit.local`; quotes its log)
        └── PortInUseError         the port asked for is taken
ModelRetry                         raised by a tool: "tell the model this, and let it try again"
CassetteMismatchError              `agentkit.testing`: a replayed run differs from its recording (an `AssertionError`)
```

Each error has one parent: installing fixes a `UserError`, a failed run is an `AgentRunError`, never both.
tests/test_error_tree.py checks this tree, and the one in docs/reliability.md, against the classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .messages import Message
    from .usage import Usage

__all__ = [
    "AgentRunError",
    "AgentkitError",
    "GuardrailTripped",
    "HookError",
    "ModelAPIError",
    "ModelRetry",
    "ModelUnavailableError",
    "SessionError",
    "ToolArgumentsError",
    "ToolExecutionError",
    "UnexpectedModelBehavior",
    "UsageLimitExceeded",
    "UserError",
]


class AgentkitError(Exception):
    """Root of every error agentkit raises."""

    message: str

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle by state, not by calling `__init__` again (whose keyword-only arguments pickle cannot give):
        an error crosses processes whole (a durable run's recorded error, a Ray worker's)."""
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[AgentkitError], args: tuple[object, ...], state: dict[str, object]) -> AgentkitError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class UserError(AgentkitError):
    """The library was used in a way it cannot support; the message says what to change."""


class SessionError(UserError):
    """A session's store cannot be used: not a database, a table agentkit did not make, a corrupt stored
    message, a lock held too long, an id that cannot be stored. The message names the file and what to do.

    In a run, a store that cannot be written ends the run with an `AgentRunError` carrying the transcript
    (the answers paid for included); this error is its `__cause__`.
    """


class ToolArgumentsError(AgentkitError):
    """A model's arguments for a tool did not validate.

    `str(error)` is short and written for the model: one line per problem with its JSON path.
    """

    problems: list[str]
    """One entry per problem, `path: what was expected`."""

    def __init__(self, tool_name: str, problems: Sequence[str]) -> None:
        self.tool_name = tool_name
        self.problems = list(problems)
        lines = "\n".join(f"- {p}" for p in self.problems)
        super().__init__(f"Invalid arguments for tool {tool_name!r}:\n{lines}")


class AgentRunError(AgentkitError):
    """A run failed. The transcript up to the failure is kept in `messages`."""

    messages: list[Message]
    """Every message of the run so far (history included), ready to inspect or to continue from."""
    usage: Usage | None
    """Requests, tokens and cost of the run up to the failure (set by the run that raised it)."""

    def __init__(self, message: str, *, messages: Sequence[Message] = (), usage: Usage | None = None) -> None:
        super().__init__(message)
        self.messages = list(messages)
        self.usage = usage


class ModelAPIError(AgentRunError):
    """The model endpoint answered with an error (HTTP status, an error body in a 200, or mid-stream)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        body: object = None,
        model_name: str | None = None,
        messages: Sequence[Message] = (),
    ) -> None:
        super().__init__(message, messages=messages)
        self.status_code = status_code
        """The HTTP status code, or the code of an error reported inside a 200 body or a stream."""
        self.code = code
        """The provider's error code when it sends one, for example `model_deprecated`."""
        self.body = body
        """The decoded error body as the provider sent it."""
        self.model_name = model_name


class ModelUnavailableError(ModelAPIError):
    """The model id is unknown, retired or deprecated at this endpoint: choose another model."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        body: object = None,
        model_name: str | None = None,
        messages: Sequence[Message] = (),
        successors: Sequence[str] = (),
    ) -> None:
        super().__init__(
            message, status_code=status_code, code=code, body=body, model_name=model_name, messages=messages
        )
        self.successors = list(successors)
        """The models the provider suggests instead, best first (OpenRouter's `availability.fallback_models`);
        empty when it names none."""


class UnexpectedModelBehavior(AgentRunError):
    """The model's output could not be used (empty, malformed, or invalid after every retry)."""


class ToolExecutionError(AgentRunError):
    """A tool raised an exception and the agent was set to raise rather than tell the model.

    The tool's exception is the `__cause__`; `tool_name` and `tool_call_id` say which call it was.
    """

    def __init__(
        self, message: str, *, tool_name: str, tool_call_id: str, messages: Sequence[Message] = ()
    ) -> None:
        super().__init__(message, messages=messages)
        self.tool_name = tool_name
        self.tool_call_id = tool_call_id


class UsageLimitExceeded(AgentRunError):
    """`max_turns` or a `UsageLimits` value was reached before the run ended."""


class GuardrailTripped(AgentRunError):
    """An input or output guardrail (`agentkit.hooks.InputGuardrail`, `OutputGuardrail`) stopped the run."""

    def __init__(
        self,
        message: str,
        *,
        guardrail: str,
        kind: Literal["input", "output"],
        reason: str,
        messages: Sequence[Message] = (),
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message, messages=messages, usage=usage)
        self.guardrail = guardrail
        """The guardrail's name."""
        self.kind = kind
        """`"input"` or `"output"`."""
        self.reason = reason
        """The reason its check gave (`Deny.reason`)."""


class HookError(AgentRunError):
    """A hook (`agentkit.hooks`), a guardrail's check, or another function of yours a run calls (an
    instructions function, `prepare_tools`, a history processor) raised an exception that is not agentkit's:
    the run stopped there. That exception is the `__cause__`; `hook` names where it was raised
    (`"MyHooks.after_response"`, `"input guardrail 'topic'"`, `"instructions function 'persona'"`,
    `"prepare_tools 'tools_for'"`, `"history processor 'trim'"`). A response that arrived is on the transcript
    (`messages`) and counted in `usage`. An agentkit error such a function raises (an `AgentRunError`, a
    `UserError`) passes through as it is."""

    def __init__(
        self,
        message: str,
        *,
        hook: str,
        guardrail: str | None = None,
        messages: Sequence[Message] = (),
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message, messages=messages, usage=usage)
        self.hook = hook
        """Where the exception was raised: the hook's class and method, the guardrail, or the function."""
        self.guardrail = guardrail
        """The guardrail's name when a guardrail's check raised (what it was to check is then not stored in
        the run's session, as for `GuardrailTripped`); `None` for a hook."""


class ModelRetry(Exception):
    """Raise from a tool to send `message` back to the model and let it call the tool again."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
