"""Function -> tool description, JSON Schema of its parameters, and an argument validator.

The schema is built once, directly from the signature, type hints and docstring (see `_schema.types`),
and cached per function; the pydantic validator is built on first use, so defining tools stays cheap.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import json
import math
import sys
import typing
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..context import RunContext
from ..exceptions import ToolArgumentsError, UserError
from .docstrings import parse_docstring
from .types import JsonSchema, SchemaBuilder, UnsupportedType, annotation_description

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

__all__ = [
    "MAX_ARGUMENT_DEPTH",
    "ArgumentsPastLimits",
    "FunctionSchema",
    "cap_problems",
    "format_validation_error",
    "function_schema",
    "parse_arguments",
]

_MISSING = inspect.Parameter.empty
MAX_PROBLEMS = 10
"""At most this many problems are reported to the model for one call; the rest are counted."""
_SHOWN_INPUT = 60
"""Characters of the offending input quoted in a problem."""
MAX_ARGUMENT_DEPTH = 100
"""Tool arguments nested deeper than this (objects and arrays, the arguments object itself included) are
refused as invalid: no tool takes them, and decoding or serialising them further could exhaust the stack."""

_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[str | None, str | None], FunctionSchema]]
_CACHE = weakref.WeakKeyDictionary()


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
    """Parameter name -> (annotation, default or `FieldInfo`), in signature order."""
    _model: type[BaseModel] | None = field(default=None, repr=False)
    tool_entries: dict[bool | None, dict[str, dict[str, Any]]] = field(default_factory=dict, repr=False)
    """The chat-completions tool entries built from this schema (per `strict` option, per dialect), shared
    by every `Tool` of the function."""

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Validate decoded arguments into the function's keyword arguments, typed as declared."""
        from pydantic import ValidationError

        model = self._model or self._build_model()
        try:
            validated = model.model_validate(arguments)
        except ValidationError as exc:
            raise ToolArgumentsError(self.name, format_validation_error(exc, arguments)) from None
        return {name: getattr(validated, f"p{i}") for i, name in enumerate(self._fields)}

    def _build_model(self) -> type[BaseModel]:
        # Fields get neutral names (p0, p1, ...) and the parameter name as alias, so parameters called
        # `json`, `schema`, `model_config` or `_x` neither shadow BaseModel members nor become private.
        from pydantic import ConfigDict, Field, create_model

        # allow_inf_nan=False: JSON has no NaN or Infinity, and "1e400" or "NaN" in a string is no number either
        config = ConfigDict(
            extra="forbid", arbitrary_types_allowed=True, loc_by_alias=True, allow_inf_nan=False
        )
        fields: dict[str, Any] = {}
        for i, (name, (annotation, default)) in enumerate(self._fields.items()):
            alias = Field(alias=name)
            if _is_field_info(default):
                plain = default.default_factory is None and not default.is_required()
                fields[f"p{i}"] = (
                    typing.Annotated[annotation, default, alias],
                    default.default if plain else ...,
                )
            else:
                fields[f"p{i}"] = (typing.Annotated[annotation, alias], default)
        self._model = create_model(f"{self.name}_arguments", __config__=config, **fields)
        return self._model


def function_schema(
    func: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> FunctionSchema:
    """Describe `func` as a tool; the result is cached per function (and `name`, `description`).

    Raises `UserError`, naming the function and the parameter, for what cannot be described.
    """
    try:
        cached = _CACHE.get(func)
    except TypeError:  # not hashable, or not weakly referable: build every time
        return _build(func, name, description)
    key = (name, description)
    if cached is not None and key in cached:
        return cached[key]
    schema = _build(func, name, description)
    _CACHE.setdefault(func, {})[key] = schema
    return schema


def _build(func: Callable[..., Any], name: str | None, description: str | None) -> FunctionSchema:
    named, annotated, documented = _sources(func)
    label = getattr(named, "__qualname__", None) or repr(func)
    try:
        signature = inspect.signature(func)
        hints = _type_hints(annotated)
    except (TypeError, ValueError) as exc:
        raise UserError(f"Cannot read the signature of tool function {label}: {exc}") from exc
    doc = parse_docstring(documented)
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
        _check_parameter(label, param, annotation)
        default, field_info = _split_default(param.default)
        try:
            prop = builder.build(_with_metadata(annotation, field_info))
        except UnsupportedType as exc:
            raise UserError(
                f"Tool {label}: parameter {param.name!r} has an unsupported type: {exc}."
            ) from None
        explicit = getattr(field_info, "description", None) or annotation_description(annotation)
        prop = _describe(prop, field_info, explicit or doc.params.get(param.name))
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
        name=name or getattr(named, "__name__", None) or "tool",
        description=description if description is not None else doc.description,
        parameters=parameters,
        takes_ctx=takes_ctx,
        is_async=inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(annotated),
        _fields=fields,
    )


def _sources(func: Callable[..., Any]) -> tuple[Any, Any, Any]:
    """(what names it, what carries its annotations, what carries its docstring).

    A partial is described by its function; a callable object by its class and `__call__` (whose own
    docstring wins over the class's).
    """
    while isinstance(func, functools.partial):
        func = func.func
    if inspect.isroutine(func) or isinstance(func, type):
        return func, func, func
    call = type(func).__call__
    return type(func), call, call if getattr(call, "__doc__", None) else func


class _Unresolved:
    """An annotation that cannot be evaluated (it names something the function's module does not define)."""

    def __init__(self, error: Exception) -> None:
        self.error = error


class _AnyForUnknown(dict[str, Any]):
    """Names for a lenient `eval`: the module's globals and builtins, and `Any` for anything else."""

    def __init__(self, globalns: dict[str, Any]) -> None:
        super().__init__()
        self.globalns = globalns

    def __missing__(self, key: str) -> Any:
        if key in self.globalns:
            return self.globalns[key]
        return getattr(builtins, key, Any)


def _type_hints(annotated: Any) -> dict[str, Any]:
    """The resolved annotations. A name only an enclosing function knew (a class defined inside a test, with
    `from __future__ import annotations`) is fine in the `RunContext[...]` annotation, whose type arguments
    do not matter here; any other parameter naming one gets an `_Unresolved`, reported with its name."""
    try:
        return typing.get_type_hints(annotated, include_extras=True)
    except Exception:  # NameError, SyntaxError, TypeError: find out which parameter, below
        pass
    globalns = getattr(inspect.unwrap(annotated), "__globals__", {})
    hints: dict[str, Any] = {}
    for name, raw in getattr(annotated, "__annotations__", {}).items():
        try:
            hints[name] = eval(raw, globalns) if isinstance(raw, str) else raw  # as get_type_hints does
        except Exception as exc:
            try:
                lenient = eval(raw, {}, _AnyForUnknown(globalns))
            except Exception:  # not even a type expression with `Any` filled in
                lenient = None
            hints[name] = lenient if _is_run_context(lenient) else _Unresolved(exc)
    return hints


def _is_run_context(annotation: object) -> bool:
    return annotation is RunContext or typing.get_origin(annotation) is RunContext


def _check_parameter(label: str, param: inspect.Parameter, annotation: object) -> None:
    kind = param.kind
    if kind is inspect.Parameter.VAR_POSITIONAL:
        raise UserError(
            f"Tool {label}: *{param.name} is not supported; declare each argument the model may pass."
        )
    if kind is inspect.Parameter.VAR_KEYWORD:
        raise UserError(
            f"Tool {label}: **{param.name} is not supported; declare each argument the model may pass."
        )
    if kind is inspect.Parameter.POSITIONAL_ONLY:
        raise UserError(
            f"Tool {label}: parameter {param.name!r} is positional-only; tools are called with keyword "
            "arguments, so remove the `/` from the signature."
        )
    if _is_run_context(annotation):
        raise UserError(f"Tool {label}: RunContext must be the first parameter, not {param.name!r}.")
    if isinstance(annotation, _Unresolved):
        raise UserError(
            f"Tool {label}: the annotation of parameter {param.name!r} cannot be resolved "
            f"({annotation.error}); define the type where the function's module can see it."
        )
    if annotation is _MISSING:
        raise UserError(
            f"Tool {label}: parameter {param.name!r} has no type annotation. Annotate it "
            "(use `typing.Any` to accept any JSON value) so the model knows what to send."
        )


def _is_field_info(value: object) -> bool:
    from pydantic.fields import FieldInfo

    return isinstance(value, FieldInfo)


def _split_default(default: Any) -> tuple[Any, Any]:
    """(default value, FieldInfo or None) for `x: int = 3` and `x: int = Field(3, description=...)`."""
    if default is _MISSING or not _is_field_info(default):
        return default, None
    if default.is_required():
        return _MISSING, default
    return default.get_default(call_default_factory=True), default


def _field_default(default: Any) -> Any:
    return ... if default is _MISSING else default


def _describe(prop: JsonSchema, field_info: Any, text: str | None) -> JsonSchema:
    """`text` (from `Field`, `Annotated` or the docstring) wins over a class's own docstring."""
    if text:
        prop = {**prop, "description": text}
    if field_info is not None and field_info.examples:
        prop = {**prop, "examples": list(field_info.examples)}
    return prop


def _with_metadata(annotation: Any, field_info: Any) -> Any:
    """`x: int = Field(ge=1)` -> `Annotated[int, Ge(1)]`, so the constraints reach the schema."""
    if field_info is None or not field_info.metadata:
        return annotation
    return typing.Annotated.__class_getitem__((annotation, *field_info.metadata))  # type: ignore[attr-defined]


def _add_default(prop: JsonSchema, default: Any) -> None:
    from pydantic_core import to_jsonable_python

    try:
        prop["default"] = to_jsonable_python(_ordered(default))
    except Exception:  # a default with no JSON form is simply not advertised
        return


def _ordered(value: Any) -> Any:
    """Sets in a stable order, so the same default always gives the same JSON."""
    if isinstance(value, (set, frozenset)):
        return sorted((_ordered(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_ordered(v) for v in value]
    if isinstance(value, dict):
        return {k: _ordered(v) for k, v in value.items()}
    return value


def parse_arguments(tool_name: str, raw: str | dict[str, Any] | None) -> dict[str, Any]:
    """Decode a model's raw arguments: JSON text (empty or `null` meaning no arguments) or a dict.

    Raises `ToolArgumentsError` for text that is not JSON, a value that is not an object, and what no tool
    can take: a number of more digits than Python reads (`sys.get_int_max_str_digits()`, 4,300 by default),
    nesting deeper than `MAX_ARGUMENT_DEPTH`, and numbers that are not finite (`NaN`, `Infinity`, `1e400`).
    """
    if raw is None:
        return {}
    if isinstance(raw, dict):
        _check_value(tool_name, raw)
        return raw
    text = raw.strip()
    if not text:
        return {}
    try:
        value = json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        snippet = text if len(text) <= 80 else text[:77] + "..."
        raise ToolArgumentsError(
            tool_name, [f"$: the arguments are not valid JSON ({exc.msg} at position {exc.pos}): {snippet}"]
        ) from None
    except _TooManyDigits as exc:
        raise ArgumentsPastLimits(
            tool_name,
            [
                f"$: a number of {exc.digits:,} digits; at most {sys.get_int_max_str_digits():,} are read "
                "(send a shorter number, or the digits as a string)"
            ],
        ) from None
    except RecursionError:
        raise ArgumentsPastLimits(tool_name, [_too_deep()]) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ToolArgumentsError(
            tool_name, [f"$: expected a JSON object of named arguments, got {_json_kind(value)}"]
        )
    _check_value(tool_name, value)
    return value


class ArgumentsPastLimits(ToolArgumentsError):
    """Arguments that are JSON but hold what no tool takes (a number of too many digits or not finite,
    nesting too deep): the model is told, and no repair is tried (they are not malformed)."""


class _TooManyDigits(Exception):
    def __init__(self, digits: int) -> None:
        self.digits = digits


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # more digits than `sys.get_int_max_str_digits()`
        raise _TooManyDigits(len(text.lstrip("-"))) from None


def _too_deep() -> str:
    return (
        f"$: the arguments are nested too deeply (at most {MAX_ARGUMENT_DEPTH} levels of objects and arrays)"
    )


def _check_value(tool_name: str, arguments: dict[str, Any]) -> None:
    """Raise `ToolArgumentsError` for decoded arguments nested deeper than `MAX_ARGUMENT_DEPTH` or holding a
    number that is not finite (each such number's path named); walked without recursion."""
    problems: list[str] = []
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(arguments, ())]
    seen: set[int] = set()  # a dict given in code may hold itself: a cycle is left to the validator
    while stack:
        value, path = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{json_path(path)}: not a finite number ({value}); send a finite number")
        elif isinstance(value, (dict, list)) and id(value) not in seen:
            seen.add(id(value))
            if len(path) >= MAX_ARGUMENT_DEPTH:
                raise ArgumentsPastLimits(tool_name, [_too_deep()])
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend((item, (*path, key)) for key, item in reversed(list(items)))
    if problems:
        raise ArgumentsPastLimits(tool_name, cap_problems(problems))


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else type(value).__name__


def format_validation_error(exc: ValidationError, arguments: object = _MISSING) -> list[str]:
    """One line per problem: its JSON path in `arguments`, what was expected, and a short view of the input.

    pydantic names union members in its error locations (`x.int`, `x.Model.field`); those are not places in
    the data, so, given the validated `arguments`, they are left out. The alternatives for one place are
    joined into one line.
    """
    merged: dict[str, tuple[list[str], str]] = {}
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        kind = error["type"]
        parts = list(loc) if arguments is _MISSING else _data_path(loc, arguments, kind == "missing")
        path = json_path(parts)
        if kind == "missing":
            message, shown = error["msg"], ""
        elif kind == "extra_forbidden":
            message, shown = f"unexpected {'argument' if len(loc) == 1 else 'field'}; remove it", ""
        else:
            message, shown = error["msg"], f" (got {_short_json(error.get('input'))})"
        messages, _ = merged.setdefault(path, ([], shown))
        if message not in messages:
            messages.append(message)
    problems = [
        f"{path}: {_join_alternatives(messages)}{shown}" for path, (messages, shown) in merged.items()
    ]
    return cap_problems(problems)


def _data_path(loc: Sequence[int | str], arguments: object, missing: bool) -> list[int | str]:
    """The parts of a pydantic error location that are places in `arguments`."""
    node, path = arguments, []
    for index, part in enumerate(loc):
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]  # type: ignore[index]
        elif not (missing and index == len(loc) - 1 and isinstance(node, dict)):
            continue  # a union member's tag, or a part pydantic adds (`[key]`)
        path.append(part)
    return path


def json_path(parts: Sequence[int | str]) -> str:
    """`["a", 0, "b c"]` -> `$.a[0]["b c"]`."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def _join_alternatives(messages: list[str]) -> str:
    if len(messages) > 1 and all(m.startswith("Input should be ") for m in messages):
        return "Input should be " + ", or ".join(m[len("Input should be ") :] for m in messages)
    return "; ".join(messages)


def _short_json(value: object) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # circular, or keys JSON cannot have
        text = repr(value)
    return text if len(text) <= _SHOWN_INPUT else text[: _SHOWN_INPUT - 3] + "..."


def cap_problems(problems: list[str]) -> list[str]:
    """At most `MAX_PROBLEMS` lines, so the message stays short enough to send back to the model."""
    if len(problems) <= MAX_PROBLEMS:
        return problems
    hidden = len(problems) - MAX_PROBLEMS + 1
    return [*problems[: MAX_PROBLEMS - 1], f"... and {hidden} more problems"]
