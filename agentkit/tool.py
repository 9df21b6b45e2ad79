"""`@tool` and `Tool`: a Python function (or a raw JSON Schema plus a callable) the model can call."""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, overload

from typing_extensions import ParamSpec, TypeVar

from ._schema.function import FunctionSchema, cap_problems, function_schema, json_path, parse_arguments
from ._schema.types import JsonSchema, resolve_ref, valid_tool_name
from ._support.threads import run_in_thread
from .exceptions import ModelRetry, ToolArgumentsError, UserError

if TYPE_CHECKING:
    from .context import RunContext
    from .models._tool_entries import Dialect, SchemaChange

__all__ = ["RetryPolicy", "RetrySpec", "Tool", "ToolDefinition", "tool"]

DEFAULT_MAX_RESULT_CHARS = 50_000
"""Characters of a tool's result sent to the model unless the tool says otherwise (`max_result_chars`)."""

P = ParamSpec("P")
R = TypeVar("R")


ExceptionTypes = tuple[type[Exception], ...]


@dataclass(kw_only=True, frozen=True)
class RetryPolicy:
    """When and how a tool call is run again (`@tool(retry=RetryPolicy(...))`) before the model sees its error.

    `@tool(retry=ConnectionError)` or `@tool(retry=(ConnectionError, TimeoutError))` is this policy with its
    defaults for the exceptions given.
    """

    exceptions: ExceptionTypes
    """The exceptions (and their subclasses) that make the call run again. Name `TimeoutError` to retry a
    call past the tool's `timeout` too. `ModelRetry` is never retried."""
    attempts: int = 3
    """Calls of the function at most, the first one included."""
    initial_delay: float = 0.5
    """Seconds to wait before the first retry; each later wait doubles, up to `max_delay`."""
    max_delay: float = 10.0
    """The longest wait between two attempts, in seconds."""
    jitter: float = 0.5
    """Each wait is shortened at random by up to this fraction of it (0 for exact waits, at most 1)."""

    def __post_init__(self) -> None:
        exceptions = self.exceptions
        if not isinstance(exceptions, tuple) or not exceptions:
            raise UserError(
                f"RetryPolicy(exceptions=...) takes a non-empty tuple of exception types, not {exceptions!r}."
            )
        for kind in exceptions:
            if not (isinstance(kind, type) and issubclass(kind, Exception)):
                raise UserError(
                    f"RetryPolicy(exceptions=...): {kind!r} is not an exception type (a subclass of Exception)."
                )
            if issubclass(kind, ModelRetry):
                raise UserError(
                    "RetryPolicy(exceptions=...) cannot name ModelRetry: it is a message to the model, "
                    "never retried by agentkit; raise it to let the model call the tool again."
                )
        # the tool's timeout raises `asyncio.TimeoutError`, the same class as `TimeoutError` from Python 3.11
        named = (*exceptions, *((asyncio.TimeoutError,) if TimeoutError in exceptions else ()))
        object.__setattr__(self, "exceptions", tuple(dict.fromkeys(named)))
        if self.attempts < 1:
            raise UserError(f"RetryPolicy(attempts=...) must be >= 1 (the first call), not {self.attempts}.")
        for option in ("initial_delay", "max_delay"):
            value = getattr(self, option)
            if not (value >= 0 and math.isfinite(value)):
                raise UserError(f"RetryPolicy({option}=...) must be a number of seconds >= 0, not {value}.")
        if not 0 <= self.jitter <= 1:
            raise UserError(f"RetryPolicy(jitter=...) must be between 0 and 1, not {self.jitter}.")


RetrySpec = RetryPolicy | type[Exception] | tuple[type[Exception], ...]
"""What `@tool(retry=...)` takes: a `RetryPolicy`, or the exception type(s) to retry with its defaults."""


def retry_policy(tool_name: str, retry: RetrySpec | None) -> RetryPolicy | None:
    """`@tool(retry=...)` as a `RetryPolicy` (`None`: no retries); bad input raises `UserError`."""
    if retry is None or isinstance(retry, RetryPolicy):
        return retry
    try:
        return RetryPolicy(exceptions=retry if isinstance(retry, tuple) else (retry,))
    except UserError as exc:
        raise UserError(f"Tool {tool_name!r}: retry={retry!r} is not usable: {exc}") from None


@dataclass(kw_only=True, frozen=True)
class ToolDefinition:
    """What the model is told about a tool: name, description and the JSON Schema of its arguments."""

    name: str
    description: str
    parameters: JsonSchema
    """Canonical JSON Schema (2020-12) of the arguments object."""
    strict: bool | None = None
    """Ask for OpenAI strict mode for this tool (`None`: the model's profile decides)."""
    _entries: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False, compare=False)
    """The entries built so far, per dialect (shared by the definitions of one function's tools)."""

    def openai_tool(self, dialect: Dialect = "standard") -> dict[str, Any]:
        """The chat-completions `tools[]` entry for this tool, its schema in `dialect`.

        Built once per dialect and cached: treat it as read-only. With `openai-strict`, a schema strict
        mode cannot express is sent non-strict, in the standard dialect. The model layer builds it
        (`agentkit.models._tool_entries`); this is a thin door to it, for code that writes requests itself.
        """
        from .models._tool_entries import tool_entry

        return tool_entry(self, dialect)

    def schema_changes(self, dialect: Dialect) -> list[SchemaChange]:
        """What `dialect` changes in this tool's schema, as `openai_tool(dialect)` builds it (built again,
        by the same code, recording). Raises `UserError` when the schema cannot be sent in `dialect`."""
        from .models._tool_entries import schema_changes

        return schema_changes(self, dialect)


class _SchemaValidator:
    """Validates arguments against a raw JSON Schema with `jsonschema` (for MCP and hand-written tools)."""

    def __init__(self, name: str, schema: JsonSchema) -> None:
        import jsonschema

        if not isinstance(schema, dict):
            raise UserError(f"Tool {name!r}: its parameters must be a JSON Schema object (a dict).")
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        try:
            cls.check_schema(schema)
        except jsonschema.SchemaError as exc:
            path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
            raise UserError(
                f"Tool {name!r}: its parameters are not a valid JSON Schema at {path}: {exc.message}"
            ) from None
        if schema.get("type", "object") != "object":
            raise UserError(f"Tool {name!r}: its parameters schema must describe an object (type: object).")
        _check_refs(name, schema, schema)
        self.name = name
        self._validator = cls(schema)

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        errors = sorted(
            self._validator.iter_errors(arguments), key=lambda e: [str(p) for p in e.absolute_path]
        )
        if errors:
            problems = []
            for error in errors:
                message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
                problems.append(f"{json_path(list(error.absolute_path))}: {message}")
            raise ToolArgumentsError(self.name, cap_problems(problems))
        return arguments


def _check_refs(name: str, node: object, root: JsonSchema) -> None:
    """Every `$ref` must point inside the schema: nothing is fetched, and Gemini needs them inlined."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            try:
                resolve_ref(root, ref)
            except UserError as exc:
                raise UserError(f"Tool {name!r}: {exc}") from None
        for key, value in node.items():
            if key not in ("enum", "const", "default", "examples"):
                _check_refs(name, value, root)
    elif isinstance(node, list):
        for item in node:
            _check_refs(name, item, root)


class Tool(Generic[P, R]):
    """A function the model can call. Calling the `Tool` calls the function, unchanged.

    Make one with `@tool`, `Tool(function)`, or `Tool.from_schema(...)` for a raw JSON Schema.
    """

    function: Callable[P, R]
    name: str
    description: str
    parameters: JsonSchema
    """Canonical JSON Schema (2020-12) of the arguments object."""
    retries: int | None = None
    """How many failed calls (bad arguments, `ModelRetry`) the model gets; `None`: the agent's default."""
    sequential: bool = False
    """Run this tool alone, never concurrently with other calls of the same turn."""
    timeout: float | None = None
    """Seconds a call may take; past that the model is told it timed out."""
    strict: bool | None = None
    """OpenAI strict mode for this tool (`None`: the model's profile decides)."""
    max_result_chars: int | None = None
    """Characters of a result sent to the model; a longer one is cut and the model told so (`None`: the
    default, `DEFAULT_MAX_RESULT_CHARS`)."""
    takes_ctx: bool = False
    """Whether the function's first parameter receives the `RunContext`."""
    requires_approval: bool = False
    """A person must approve each call before it runs: the run stops with the call in
    `RunResult.pending_approvals` (or asks the run's `approve=` callback)."""
    retry: RetryPolicy | None = None
    """When a call that raised is run again before the model sees the error (`None`: never)."""
    idempotent: bool = False
    """Running a call twice has the effect of running it once: a durable run recovering from a crash runs
    again a call that was cut short (a tool that is not idempotent is not run again; the model is told)."""
    _validator: FunctionSchema | _SchemaValidator
    _is_async: bool
    _definition: ToolDefinition

    def __init__(
        self,
        function: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        retries: int | None = None,
        sequential: bool = False,
        timeout: float | None = None,
        strict: bool | None = None,
        max_result_chars: int | None = None,
        requires_approval: bool = False,
        retry: RetrySpec | None = None,
        idempotent: bool = False,
    ) -> None:
        if isinstance(function, Tool):
            function = function.function
        functools.update_wrapper(self, function, updated=())
        schema = function_schema(function, name=name, description=description)
        self._setup(function, schema, schema.parameters, retries, sequential, timeout, strict)
        self.max_result_chars = _checked_max(self.name, max_result_chars)
        self.requires_approval = requires_approval
        self.retry, self.idempotent = retry_policy(self.name, retry), idempotent
        self.takes_ctx = schema.takes_ctx
        self._is_async = schema.is_async
        # Tools of one function (same name, description, strict option) share the entries built.
        object.__setattr__(self._definition, "_entries", schema.tool_entries.setdefault(strict, {}))

    def _setup(
        self,
        function: Callable[P, R],
        validator: FunctionSchema | _SchemaValidator,
        parameters: JsonSchema,
        retries: int | None,
        sequential: bool,
        timeout: float | None,
        strict: bool | None,
    ) -> None:
        name = validator.name
        if not valid_tool_name(name):
            raise UserError(
                f"Tool name {name!r} is not allowed: use letters, digits, '_' or '-' (at most 64, not "
                "starting with a digit). Pass `@tool(name=...)` to choose another."
            )
        if retries is not None and retries < 0:
            raise UserError(f"Tool {name!r}: retries must be >= 0, not {retries}.")
        if timeout is not None and timeout <= 0:
            raise UserError(f"Tool {name!r}: timeout must be a positive number of seconds, not {timeout}.")
        self.function = function
        self.name = name
        self.description = validator.description if isinstance(validator, FunctionSchema) else ""
        self.parameters = parameters
        self.retries, self.sequential, self.timeout, self.strict = retries, sequential, timeout, strict
        self.takes_ctx = False
        self._is_async = False
        self._validator = validator
        self._definition = ToolDefinition(
            name=name, description=self.description, parameters=parameters, strict=strict
        )

    @classmethod
    def from_schema(
        cls,
        function: Callable[..., Any],
        *,
        name: str,
        description: str,
        parameters: JsonSchema,
        takes_ctx: bool = False,
        retries: int | None = None,
        sequential: bool = False,
        timeout: float | None = None,
        strict: bool | None = None,
        max_result_chars: int | None = None,
        requires_approval: bool = False,
        retry: RetrySpec | None = None,
        idempotent: bool = False,
    ) -> Tool[..., Any]:
        """A tool from a hand-written JSON Schema (an MCP tool, say), calling `function` with keywords.

        The schema is checked now (an invalid one raises `UserError`); arguments are validated against it
        with `jsonschema`, and passed on as decoded JSON values.
        """
        self: Tool[..., Any] = cls.__new__(cls)
        validator = _SchemaValidator(name, parameters)
        self._setup(function, validator, copy.deepcopy(parameters), retries, sequential, timeout, strict)
        self.max_result_chars = _checked_max(name, max_result_chars)
        self.requires_approval = requires_approval
        self.retry, self.idempotent = retry_policy(name, retry), idempotent
        self.description = description
        self._definition = ToolDefinition(
            name=name, description=description, parameters=self.parameters, strict=strict
        )
        self.takes_ctx = takes_ctx
        self._is_async = inspect.iscoroutinefunction(function)
        return self

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.function(*args, **kwargs)

    def __get__(self, instance: object, owner: type | None = None) -> Tool[..., R]:
        """`@tool` on a method: the tool bound to `instance` (schema shared, `self` never in it)."""
        get = getattr(self.function, "__get__", None)
        if instance is None or get is None:
            return self
        return _copy_with(self, get(instance, owner))

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r})"

    @property
    def definition(self) -> ToolDefinition:
        """The `ToolDefinition` sent to models (rebuilt if `name`, `description`, ... were changed)."""
        current = self._definition
        if (current.name, current.description, current.strict) != (
            self.name,
            self.description,
            self.strict,
        ) or (current.parameters is not self.parameters):
            current = self._definition = ToolDefinition(
                name=self.name, description=self.description, parameters=self.parameters, strict=self.strict
            )
        return current

    def replace(self, *, name: str | None = None, description: str | None = None) -> Tool[P, R]:
        """A copy offered under another `name` or `description` (the same function, schema and options): for
        `Agent(prepare_tools=...)`, where a call of the copy runs this tool's function."""
        copy_: Tool[P, R] = type(self).__new__(type(self))  # a subclass's copy works as the subclass does
        copy_.__dict__.update(self.__dict__)
        if name is not None:
            if not valid_tool_name(name):
                raise UserError(f"Tool name {name!r} is not allowed: use letters, digits, '_' or '-'.")
            copy_.name = name
        if description is not None:
            copy_.description = description
        return copy_

    def openai_tool(self, dialect: Dialect = "standard") -> dict[str, Any]:
        """The chat-completions `tools[]` entry in `dialect`, built once and cached: treat it as read-only."""
        return self.definition.openai_tool(dialect)

    def openai_tool_json(self, dialect: Dialect = "standard") -> str:
        """`openai_tool(dialect)` as compact, deterministic JSON."""
        return json.dumps(self.openai_tool(dialect), separators=(",", ":"), ensure_ascii=False)

    def validate_arguments(
        self, raw: str | dict[str, Any] | None, *, dialect: Dialect = "standard"
    ) -> dict[str, Any]:
        """Model arguments (JSON text, possibly empty or `null`, or a dict) -> the function's keywords.

        Raises `ToolArgumentsError`, whose text tells the model what to fix.
        """
        arguments = parse_arguments(self.name, raw)
        if dialect != "standard" or any(v is None for v in arguments.values()):
            # a run's arguments come in standard form (the model layer restored them); `null` for an optional
            # argument that does not take it is dropped so its default applies, and `dialect` is for callers
            # holding arguments as a model wrote them in its dialect
            from .models._tool_entries import standard_arguments

            arguments = standard_arguments(arguments, self.parameters, dialect)
        return self._validator.validate(arguments)

    async def call(self, arguments: dict[str, Any], ctx: RunContext[Any] | None = None) -> Any:
        """Run the function once with validated `arguments` (sync functions in a worker thread); a run
        calls it through `retry` and `timeout`."""
        function: Callable[..., Any] = self.function
        args: tuple[Any, ...] = (ctx,) if self.takes_ctx else ()
        if self._is_async:
            return await function(*args, **arguments)
        result = await run_in_thread(function, *args, **arguments)
        if inspect.isawaitable(result):
            return await result
        return result


def _checked_max(name: str, max_result_chars: int | None) -> int | None:
    if max_result_chars is not None and max_result_chars < 1:
        raise UserError(f"Tool {name!r}: max_result_chars must be >= 1, not {max_result_chars}.")
    return max_result_chars


def _copy_with(original: Tool[P, R], function: Callable[..., R]) -> Tool[..., R]:
    bound: Tool[..., R] = Tool.__new__(Tool)
    bound.__dict__.update(original.__dict__)
    bound.function = function
    bound.__wrapped__ = function  # type: ignore[attr-defined]
    return bound


@overload
def tool(function: Callable[P, R], /) -> Tool[P, R]: ...
@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    retries: int | None = None,
    sequential: bool = False,
    timeout: float | None = None,
    strict: bool | None = None,
    max_result_chars: int | None = None,
    requires_approval: bool = False,
    retry: RetrySpec | None = None,
    idempotent: bool = False,
) -> Callable[[Callable[P, R]], Tool[P, R]]: ...
def tool(
    function: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    retries: int | None = None,
    sequential: bool = False,
    timeout: float | None = None,
    strict: bool | None = None,
    max_result_chars: int | None = None,
    requires_approval: bool = False,
    retry: RetrySpec | None = None,
    idempotent: bool = False,
) -> Tool[P, R] | Callable[[Callable[P, R]], Tool[P, R]]:
    """Make a function callable by the model: bare (`@tool`) or with options (`@tool(timeout=5)`).

    The schema comes from the type hints; descriptions from the docstring (Google, NumPy, reST or Epydoc
    style). A first parameter annotated `RunContext[...]` receives the run's context and is not in the schema.

    Args:
        function: The function (sync or async) when used bare.
        name: The name the model sees; defaults to the function's name.
        description: The description the model sees; defaults to the docstring.
        retries: Failed calls allowed before the run fails; defaults to the agent's `retries`.
        sequential: Never run concurrently with the other tool calls of a turn.
        timeout: Seconds a call may take before the model is told it timed out.
        strict: OpenAI strict mode for this tool; `None` lets the model's profile decide.
        max_result_chars: Characters of a result the model sees (a longer result is cut, and the model told
            its length); defaults to `DEFAULT_MAX_RESULT_CHARS` (50,000).
        requires_approval: A person must approve each call before it runs (sending mail, deleting files,
            spending money): the run stops with the call pending (`RunResult.pending_approvals`), or asks
            the run's `approve=` callback.
        retry: Run a call again when it raises one of these exception types (one, or a tuple), or as a
            `RetryPolicy` says (attempts, waits), before the model sees the error; each call carries
            `ctx.idempotency_key`, the same over its attempts. `None` (the default): never.
        idempotent: Running a call twice does what running it once does: a durable run that recovers
            from a crash runs a call cut short again (otherwise it tells the model the call's effect is
            unknown).
    """

    def decorate(func: Callable[P, R]) -> Tool[P, R]:
        return Tool(
            func,
            name=name,
            description=description,
            retries=retries,
            sequential=sequential,
            timeout=timeout,
            strict=strict,
            max_result_chars=max_result_chars,
            requires_approval=requires_approval,
            retry=retry,
            idempotent=idempotent,
        )

    return decorate if function is None else decorate(function)
