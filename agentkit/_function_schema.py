"""Function -> tool description, JSON Schema of its parameters, and an argument validator.

The schema is built once, directly from the signature, type hints and docstring (see `_type_schema`);
the pydantic validator is built on first use, so defining tools stays cheap.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._docstrings import parse_docstring
from ._type_schema import JsonSchema, SchemaBuilder, UnsupportedType
from .context import RunContext
from .exceptions import ToolArgumentsError, UserError

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

__all__ = ["FunctionSchema", "format_validation_error", "function_schema", "parse_arguments"]

_MISSING = inspect.Parameter.empty


@dataclass(kw_only=True)
class FunctionSchema:
    """Everything agentkit derives from a tool function, computed once."""

    name: str
    description: str
    parameters: JsonSchema
    """Standard JSON Schema (2020-12) of the arguments object."""
    takes_ctx: bool
    """Whether the first parameter receives the `RunContext`."""
    is_async: bool
    _fields: dict[str, tuple[Any, Any]] = field(repr=False)
    _model: type[BaseModel] | None = field(default=None, repr=False)

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Validate decoded arguments into the function's keyword arguments, typed as declared."""
        from pydantic import ValidationError

        model = self._model or self._build_model()
        try:
            validated = model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolArgumentsError(self.name, format_validation_error(exc)) from None
        return {name: getattr(validated, name) for name in self._fields}

    def _build_model(self) -> type[BaseModel]:
        from pydantic import ConfigDict, create_model

        config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
        fields: dict[str, Any] = dict(self._fields)
        self._model = create_model(f"{self.name}_arguments", __config__=config, **fields)
        return self._model


def function_schema(func: Callable[..., Any], *, name: str | None = None, description: str | None = None) -> FunctionSchema:
    """Describe `func` as a tool. Raises `UserError` naming the function and parameter for what can't be described."""
    label = getattr(func, "__qualname__", repr(func))
    try:
        signature = inspect.signature(func)
        hints = typing.get_type_hints(func, include_extras=True)
    except (NameError, TypeError) as exc:
        raise UserError(f"Cannot read the signature of tool function {label}: {exc}") from exc
    doc = parse_docstring(func)
    builder = SchemaBuilder()
    properties: dict[str, JsonSchema] = {}
    required: list[str] = []
    fields: dict[str, tuple[Any, Any]] = {}
    takes_ctx = False
    params = list(signature.parameters.values())
    if params and params[0].name in ("self", "cls") and params[0].name not in hints:
        params = params[1:]  # a method decorated in its class body: bound later by `Tool.__get__`
    for index, param in enumerate(params):
        annotation = hints.get(param.name, _MISSING)
        if index == 0 and _is_run_context(annotation):
            takes_ctx = True
            continue
        _check_kind(label, param)
        if _is_run_context(annotation):
            raise UserError(f"Tool {label}: RunContext must be the first parameter, not {param.name!r}.")
        if annotation is _MISSING:
            raise UserError(
                f"Tool {label}: parameter {param.name!r} has no type annotation. Annotate it "
                "(use `typing.Any` to accept any JSON value) so the model knows what to send."
            )
        default, field_info = _split_default(param.default)
        try:
            prop = builder.build(_with_metadata(annotation, field_info))
        except UnsupportedType as exc:
            raise UserError(f"Tool {label}: parameter {param.name!r} has an unsupported type: {exc}.") from None
        prop = _describe(prop, field_info, doc.params.get(param.name))
        if default is not _MISSING:
            _add_default(prop, default)
        else:
            required.append(param.name)
        properties[param.name] = prop
        fields[param.name] = (annotation, field_info if field_info is not None else _field_default(default))
    parameters: JsonSchema = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    parameters["additionalProperties"] = False
    if builder.defs:
        parameters["$defs"] = dict(sorted(builder.defs.items()))
    return FunctionSchema(
        name=name or getattr(func, "__name__", "tool"),
        description=description if description is not None else doc.description,
        parameters=parameters,
        takes_ctx=takes_ctx,
        is_async=inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(getattr(func, "__call__", None)),
        _fields=fields,
    )


def _is_run_context(annotation: object) -> bool:
    return annotation is RunContext or typing.get_origin(annotation) is RunContext


def _check_kind(label: str, param: inspect.Parameter) -> None:
    kind = param.kind
    if kind is inspect.Parameter.VAR_POSITIONAL:
        raise UserError(f"Tool {label}: *{param.name} is not supported; declare each argument the model may pass.")
    if kind is inspect.Parameter.VAR_KEYWORD:
        raise UserError(f"Tool {label}: **{param.name} is not supported; declare each argument the model may pass.")
    if kind is inspect.Parameter.POSITIONAL_ONLY:
        raise UserError(
            f"Tool {label}: parameter {param.name!r} is positional-only; tools are called with keyword "
            "arguments, so remove the `/` from the signature."
        )


def _split_default(default: Any) -> tuple[Any, Any]:
    """(default value, FieldInfo or None) for `x: int = 3` and `x: int = Field(3, description=...)`."""
    from pydantic.fields import FieldInfo

    if isinstance(default, FieldInfo):
        if default.is_required():
            return _MISSING, default
        return default.get_default(call_default_factory=True), default
    return default, None


def _field_default(default: Any) -> Any:
    return ... if default is _MISSING else default


def _describe(prop: JsonSchema, field_info: Any, doc_text: str | None) -> JsonSchema:
    text = getattr(field_info, "description", None) or prop.get("description") or doc_text
    if field_info is not None and field_info.examples:
        prop = {**prop, "examples": list(field_info.examples)}
    if text:
        if "$ref" in prop:
            prop = {"$ref": prop["$ref"], "description": text}
        else:
            prop = {**prop, "description": text}
    return prop


def _with_metadata(annotation: Any, field_info: Any) -> Any:
    """`x: int = Field(ge=1)` -> `Annotated[int, Ge(1)]`, so the constraints reach the schema."""
    if field_info is None or not field_info.metadata:
        return annotation
    return typing.Annotated.__class_getitem__((annotation, *field_info.metadata))  # type: ignore[attr-defined]


def _add_default(prop: JsonSchema, default: Any) -> None:
    from pydantic_core import to_jsonable_python

    try:
        prop["default"] = to_jsonable_python(default)
    except Exception:  # a default with no JSON form is simply not advertised
        return


def parse_arguments(tool_name: str, raw: str | dict[str, Any] | None) -> dict[str, Any]:
    """Decode a model's raw arguments: JSON text (empty or `null` meaning no arguments) or a dict."""
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return raw
    text = raw.strip()
    if not text or text == "null":
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        snippet = text if len(text) <= 80 else text[:77] + "..."
        raise ToolArgumentsError(
            tool_name, [f"$: the arguments are not valid JSON ({exc.msg} at position {exc.pos}): {snippet}"]
        ) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ToolArgumentsError(
            tool_name, [f"$: expected a JSON object of named arguments, got {type(value).__name__}"]
        )
    return value


def format_validation_error(exc: ValidationError) -> list[str]:
    """One line per pydantic error: its JSON path, what was wrong, and a short view of the input."""
    problems = []
    for error in exc.errors(include_url=False):
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unexpected argument; remove it"
        elif error["type"] != "missing":
            shown = repr(error.get("input"))
            message = f"{message} (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
        problems.append(f"{path}: {message}")
    return problems
