"""How a run's final answer is requested and validated: plain text, or a structured `output_type`.

A structured output is asked for in one of three output modes (`output_mode`), the agent's choice or else
the model profile's (`choose_mode`): `native` (a `response_format` json_schema), `tool` (a `final_result`
tool; Gemini 2.x, local models) or `prompted` (the schema in the prompt, the JSON read from the reply). The
answer is validated the same way in all three (`OutputSpec.validate`), a reply fenced in ``` included.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic

from .._schema.function import format_validation_error, parse_arguments
from .._schema.types import JsonSchema, SchemaBuilder, UnsupportedType
from ..exceptions import ToolArgumentsError, UserError
from ..models import FINAL_RESULT_TOOL
from ..result import OutputT
from ..tool import ToolDefinition

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from ..models.profiles import ModelProfile, OutputMode

__all__ = ["FINAL_RESULT_TOOL", "OUTPUT_MODES", "OutputSpec", "OutputT", "choose_mode"]

OUTPUT_MODES = ("tool", "native", "prompted")
_FENCED = re.compile(r"```[ \t]*(?:json)?[ \t]*\n?(.*?)\n?[ \t]*```", re.S | re.I)
_FENCE_OPEN = re.compile(r"```[ \t]*(?:json)?[ \t]*\n?", re.I)


@dataclass(kw_only=True)
class OutputSpec(Generic[OutputT]):
    """The output type of an agent, its schema, and its validator."""

    output_type: type[OutputT]
    schema: JsonSchema | None = None
    """Object schema of the answer (`None` for plain text)."""
    wrapped: bool = False
    """True when a non-object type travels as `{"result": ...}`."""
    mode: OutputMode | None = None
    """The output mode asked for (`Agent(output_mode=...)`); `None`: the model profile's."""
    _adapter: TypeAdapter[OutputT] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, output_type: type[OutputT], *, mode: OutputMode | None = None) -> OutputSpec[OutputT]:
        if mode is not None and mode not in OUTPUT_MODES:
            raise UserError(f"output_mode must be one of {', '.join(map(repr, OUTPUT_MODES))}, not {mode!r}.")
        if output_type is str:
            if mode is not None:
                raise UserError(
                    f"output_mode={mode!r} needs a structured output_type (a model, dataclass, list...); "
                    "with output_type=str the answer is plain text."
                )
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
        return cls(output_type=output_type, schema=schema, wrapped=not is_object, mode=mode)

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

    def validate(self, raw: str | dict[str, Any] | None) -> OutputT:
        """Validate the model's answer (tool arguments or JSON text); raises `ToolArgumentsError`."""
        from pydantic import ValidationError

        assert self.schema is not None
        if isinstance(raw, str):
            raw = _unfenced(raw)
        value: Any = parse_arguments(FINAL_RESULT_TOOL, raw)
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

    def validate_partial(
        self, text: str, standard: Callable[[dict[str, Any], JsonSchema], dict[str, Any]] | None = None
    ) -> OutputT | None:
        """The answer validated as far as the JSON `text` has arrived (fields still to come are missing, a
        string cut short is kept as it is so far), or `None` while nothing validates yet. `standard` puts the
        decoded value in standard form (the model's `partial_output`: what the model layer does for the final
        answer)."""
        from pydantic import ValidationError
        from pydantic_core import from_json

        try:
            value: Any = from_json(_unfenced(text, partial=True), allow_partial="trailing-strings")
        except (ValueError, TypeError):  # TypeError: text UTF-8 cannot encode (a lone surrogate)
            return None
        if not isinstance(value, dict):
            return None
        try:
            if standard is not None:
                value = standard(value, self.schema or {})
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


def _unfenced(text: str, *, partial: bool = False) -> str:
    """The JSON of a reply: the text itself, or the first ``` fenced block in it (words around it dropped);
    with `partial`, a block still open runs to the end."""
    if text.lstrip().startswith(("{", "[")):
        return text
    fenced = _FENCED.search(text)
    if fenced is not None:
        return fenced.group(1)
    opened = _FENCE_OPEN.search(text) if partial else None
    return text[opened.end() :] if opened is not None else text


def choose_mode(
    requested: OutputMode | None, profile: ModelProfile, *, with_tools: bool, model: str
) -> OutputMode:
    """The output mode of a run: `requested` when the model can do it (else a `UserError` saying what to use),
    or the profile's `structured_output`, `native` falling back to `tool` when the model cannot take a
    response format with the run's tools."""
    if requested is None:
        mode = profile.structured_output
        if mode == "native" and not profile.takes_response_format(with_tools=with_tools):
            return "tool"
        return mode
    if requested == "native" and not profile.takes_response_format(with_tools=with_tools):
        if not profile.supports_response_format:
            why = "its server takes no JSON response format"
        elif profile.tool_calling != "native":
            why = "its tools are called through the prompt, which a JSON response format would rule out"
        else:
            why = "it cannot take tools and a JSON response format in one request"
        raise UserError(
            f"output_mode='native' is not available on {model}: {why}. Use output_mode='tool' (a final-result "
            "tool) or 'prompted' (the schema in the prompt), or leave output_mode unset to let the model's "
            "profile choose."
        )
    return requested
