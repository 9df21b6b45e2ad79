"""How a run's final answer is requested and validated: plain text, or a structured `output_type`.

A structured output reaches the model either as a `final_result` tool (Gemini 2.x, local models) or as a
`response_format` json_schema, as the model's profile says. Both are validated by pydantic here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import TypeVar

from ._dialects import Dialect, restore_arguments
from ._function_schema import format_validation_error, parse_arguments
from ._type_schema import JsonSchema, SchemaBuilder, UnsupportedType
from .exceptions import ToolArgumentsError, UserError
from .tool import ToolDefinition

if TYPE_CHECKING:
    from pydantic import TypeAdapter

__all__ = ["FINAL_RESULT_TOOL", "OutputSpec", "OutputT"]

OutputT = TypeVar("OutputT", default=str)

FINAL_RESULT_TOOL = "final_result"
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.S)
_FENCE_START = re.compile(r"^\s*```(?:json)?\s*\n")


@dataclass(kw_only=True)
class OutputSpec(Generic[OutputT]):
    """The output type of an agent, its schema, and its validator."""

    output_type: type[OutputT]
    schema: JsonSchema | None = None
    """Object schema of the answer (`None` for plain text)."""
    wrapped: bool = False
    """True when a non-object type travels as `{"result": ...}`."""
    _adapter: TypeAdapter[OutputT] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, output_type: type[OutputT]) -> OutputSpec[OutputT]:
        if output_type is str:
            return cls(output_type=output_type)
        builder = SchemaBuilder()
        try:
            fragment = builder.build(output_type)
        except UnsupportedType as exc:
            raise UserError(f"output_type {output_type!r} has no JSON Schema form: {exc}.") from None
        if "$ref" in fragment:  # a recursive model: its definition is the object, kept in $defs
            fragment = {**builder.defs.get(fragment["$ref"].rsplit("/", 1)[-1], {}), **fragment}
            del fragment["$ref"]
        is_object = fragment.get("type") == "object" and "properties" in fragment
        if is_object:
            schema = dict(fragment)
        else:
            schema = {"type": "object", "properties": {"result": fragment}, "required": ["result"]}
        if builder.defs:
            schema["$defs"] = dict(sorted(builder.defs.items()))
        return cls(output_type=output_type, schema=schema, wrapped=not is_object)

    @property
    def is_text(self) -> bool:
        return self.schema is None

    def tool_definition(self) -> ToolDefinition:
        """The `final_result` tool through which the model gives a structured answer."""
        assert self.schema is not None
        return ToolDefinition(
            name=FINAL_RESULT_TOOL,
            description="Give the final answer. Call this once you have everything the answer needs.",
            parameters=self.schema,
        )

    def validate(self, raw: str | dict[str, Any] | None, dialect: Dialect) -> OutputT:
        """Validate the model's answer (tool arguments or JSON text); raises `ToolArgumentsError`."""
        from pydantic import ValidationError

        assert self.schema is not None
        if isinstance(raw, str):
            fenced = _FENCE.match(raw)
            raw = fenced.group(1) if fenced else raw
        value: Any = parse_arguments(FINAL_RESULT_TOOL, raw)
        if dialect != "standard":
            value = restore_arguments(value, self.schema, dialect)
        if self.wrapped:
            if "result" not in value:
                raise ToolArgumentsError(
                    FINAL_RESULT_TOOL, ['$.result: required; put the answer under "result"']
                )
            value = value["result"]
        try:
            return self._validator().validate_python(value)
        except ValidationError as exc:
            problems = format_validation_error(exc, value)
            if self.wrapped:
                problems = [p.replace("$", "$.result", 1) for p in problems]
            raise ToolArgumentsError(FINAL_RESULT_TOOL, problems) from None

    def validate_partial(self, text: str, dialect: Dialect) -> OutputT | None:
        """The answer validated as far as the JSON `text` has arrived (fields still to come are missing, a
        string cut short is kept as it is so far), or `None` while nothing validates yet."""
        from pydantic import ValidationError
        from pydantic_core import from_json

        fenced = _FENCE_START.match(text)
        try:
            value: Any = from_json(text[fenced.end() :] if fenced else text, allow_partial="trailing-strings")
        except (ValueError, TypeError):  # TypeError: text UTF-8 cannot encode (a lone surrogate)
            return None
        if not isinstance(value, dict):
            return None
        try:
            if dialect != "standard":
                value = restore_arguments(value, self.schema or {}, dialect)
            if self.wrapped:
                if "result" not in value:
                    return None
                value = value["result"]
            return self._validator().validate_python(value, experimental_allow_partial="trailing-strings")
        except (ValidationError, ValueError, TypeError, KeyError):
            return None

    def _validator(self) -> TypeAdapter[OutputT]:
        if self._adapter is None:
            from pydantic import TypeAdapter

            self._adapter = TypeAdapter(self.output_type)
        return self._adapter
