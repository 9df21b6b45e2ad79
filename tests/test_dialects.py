"""Schema dialects: OpenAI strict and Gemini rewrite every keyword they must, in generated and raw schemas."""

from __future__ import annotations

import copy
import datetime
import enum
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import jsonschema
import pytest
from pydantic import BaseModel, Field

from agentkit.exceptions import UserError
from agentkit.models._dialects import (
    DIALECTS,
    GEMINI_RECURSION_DEPTH,
    NotStrictCompatible,
    resolve_ref,
    restore_arguments,
    to_dialect,
)
from agentkit.tool import Tool, tool

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "benchmarks")]  # the reference tools, and the round-trip cases
import reference_tools  # noqa: E402
from test_dialects_roundtrip import CASES  # noqa: E402

# --- walkers ----------------------------------------------------------------------------------------------

GEMINI_REJECTS = frozenset(
    {
        "$defs", "definitions", "$ref", "additionalProperties", "title", "$schema", "oneOf", "allOf", "not",
        "const", "examples", "discriminator", "exclusiveMinimum", "exclusiveMaximum", "prefixItems",
        "uniqueItems", "multipleOf", "patternProperties", "$id",
    }
)  # fmt: skip
GEMINI_FORMATS = {
    "string": {"date-time", "enum"},
    "integer": {"int32", "int64"},
    "number": {"float", "double"},
}
STRICT_REJECTS = frozenset(
    {
        "default", "title", "$schema", "examples", "minLength", "maxLength", "uniqueItems", "minProperties",
        "maxProperties", "prefixItems", "allOf", "oneOf", "not", "discriminator", "patternProperties",
    }
)  # fmt: skip


def schema_nodes(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object in `node`, with where it is."""
    if not isinstance(node, dict):
        return
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from schema_nodes(sub, f"{path}.properties.{name}")
    for key in ("$defs", "definitions"):
        for name, sub in node.get(key, {}).items():
            yield from schema_nodes(sub, f"{path}.{key}.{name}")
    for key in ("items", "additionalProperties", "not"):
        yield from schema_nodes(node.get(key), f"{path}.{key}")
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(node.get(key, ())):
            yield from schema_nodes(sub, f"{path}.{key}[{i}]")


def gemini_violations(schema: dict[str, Any]) -> list[str]:
    problems = []
    for path, node in schema_nodes(schema):
        problems += [f"{path}: {key}" for key in node if key in GEMINI_REJECTS]
        t = node.get("type")
        if isinstance(t, list):
            problems.append(f"{path}: type list")
        if t == "null":
            problems.append(f"{path}: null type")
        if "anyOf" in node and len(node) > 1:
            problems.append(f"{path}: anyOf with siblings {sorted(node)}")
        if "anyOf" not in node and t is None:
            problems.append(f"{path}: no type")
        if t == "object" and not node.get("properties"):
            problems.append(f"{path}: object without properties")
        if t == "array" and "items" not in node:
            problems.append(f"{path}: array without items")
        if any(not isinstance(v, str) for v in node.get("enum", ())):
            problems.append(f"{path}: non-string enum")
        if "enum" in node and t != "string":
            problems.append(f"{path}: enum of type {t}")
        if "format" in node and node["format"] not in GEMINI_FORMATS.get(t, ()):
            problems.append(f"{path}: format {node['format']} on {t}")
        if "description" in node and not node["description"]:
            problems.append(f"{path}: empty description")
    return problems


def strict_violations(schema: dict[str, Any]) -> list[str]:
    problems = []
    for path, node in schema_nodes(schema):
        problems += [f"{path}: {key}" for key in node if key in STRICT_REJECTS]
        if node.get("type") == "object":
            if node.get("additionalProperties") is not False:
                problems.append(f"{path}: open object")
            if node.get("required") != list(node.get("properties", {})):
                problems.append(f"{path}: not every property required")
        if "$ref" in node and len(node) > 1:
            problems.append(f"{path}: $ref with siblings")
        if node.get("type") == "array" and "items" not in node:
            problems.append(f"{path}: array without items")
        if node == {}:
            problems.append(f"{path}: any value")
    return problems


# --- every generated schema -------------------------------------------------------------------------------


class Color(str, enum.Enum):
    RED = "red"
    GREEN = "green"


class Item(BaseModel):
    """An item."""

    sku: str = Field(pattern="^[A-Z]{3}$", description="Stock code.")
    quantity: int = Field(gt=0, multiple_of=2)
    tags: set[str] = set()
    attributes: dict[str, float] = {}
    color: Optional[Color] = None


class Order(BaseModel):
    items: list[Item]
    parent: Optional[Order] = None
    notes: Annotated[str, Field(max_length=100, examples=["Leave at the door"])] = ""


def kitchen_sink(
    order: Order,
    when: datetime.datetime,
    day: datetime.date,
    mode: Literal["fast", "slow"] = "fast",
    level: Literal[1, 2, 3] = 2,
    limits: Optional[dict[str, int]] = None,
    either: Union[int, str, None] = None,
    extra: Any = None,
    ratio: Annotated[float, Field(gt=0, lt=1)] = 0.5,
) -> str:
    """Place an order.

    Args:
        order: The order.
        when: When to deliver.
        day: The day.
        mode: Delivery mode.
        level: Service level.
        limits: Per-item limits.
        either: A number or a name.
        extra: Anything else.
        ratio: A fraction.
    """
    return "ok"


def no_arguments() -> str:
    """Takes nothing."""
    return "ok"


def _case_tool(annotation: Any) -> Tool[..., Any]:
    def probe(x: Any) -> None: ...

    probe.__annotations__ = {"x": annotation}
    return Tool(probe)


ALL_TOOLS = [
    *(pytest.param(Tool(f), id=f.__name__) for f in reference_tools.REFERENCE_FUNCTIONS),
    pytest.param(Tool(kitchen_sink), id="kitchen_sink"),
    pytest.param(Tool(no_arguments), id="no_arguments"),
    *(pytest.param(_case_tool(annotation), id=case_id) for case_id, annotation, _ in CASES),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("the_tool", ALL_TOOLS)
def test_every_schema_is_valid_json_schema(the_tool: Tool[..., Any], dialect: str) -> None:
    entry = the_tool.openai_tool(dialect)  # type: ignore[arg-type]
    jsonschema.Draft202012Validator.check_schema(entry["function"].get("parameters", {}))
    json.dumps(entry, allow_nan=False)


@pytest.mark.parametrize("the_tool", ALL_TOOLS)
def test_gemini_schemas_have_nothing_gemini_rejects(the_tool: Tool[..., Any]) -> None:
    function = the_tool.openai_tool("gemini")["function"]
    if "parameters" not in function:
        assert not the_tool.parameters["properties"]
        return
    assert gemini_violations(function["parameters"]) == []


@pytest.mark.parametrize("the_tool", ALL_TOOLS)
def test_strict_schemas_follow_openai_rules_or_fall_back(the_tool: Tool[..., Any]) -> None:
    function = the_tool.openai_tool("openai-strict")["function"]
    if function.get("strict"):
        assert strict_violations(function["parameters"]) == []
    else:
        assert function["parameters"] is the_tool.parameters
        with pytest.raises(NotStrictCompatible):
            to_dialect(the_tool.parameters, "openai-strict")


def test_standard_dialect_is_the_canonical_schema() -> None:
    t = Tool(kitchen_sink)
    assert to_dialect(t.parameters, "standard") is t.parameters
    assert t.openai_tool() == {
        "type": "function",
        "function": {"name": "kitchen_sink", "description": "Place an order.", "parameters": t.parameters},
    }


def test_unknown_dialect() -> None:
    with pytest.raises(
        UserError, match="Unknown schema dialect 'claude'; use one of standard, openai-strict, gemini"
    ):
        to_dialect({}, "claude")  # type: ignore[arg-type]


# --- OpenAI strict ----------------------------------------------------------------------------------------


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    return to_dialect({"type": "object", "properties": schema, "required": []}, "openai-strict")["properties"]


def test_strict_closes_objects_and_makes_optional_properties_nullable() -> None:
    out = strict(
        {
            "s": {"type": "string", "default": "x", "description": "S."},
            "e": {"type": "string", "enum": ["a", "b"]},
            "o": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
            "u": {"anyOf": [{"type": "integer"}, {"type": "string"}], "description": "U."},
            "r": {"$ref": "#/$defs/X"},
            "n": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "l": {"type": ["integer", "null"]},
            "c": {"const": 3},
            "en": {"enum": ["a", None]},
            "cn": {"const": None},
        }
    )
    assert out == {
        "s": {"type": ["string", "null"], "description": "S."},
        "e": {"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "null"}]},
        "o": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}},
                    "required": ["a"],
                    "additionalProperties": False,
                },
                {"type": "null"},
            ]
        },
        "u": {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}], "description": "U."},
        "r": {"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}]},
        "n": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "l": {"type": ["integer", "null"]},
        "c": {"anyOf": [{"const": 3}, {"type": "null"}]},
        "en": {"enum": ["a", None]},
        "cn": {"const": None},
    }


def test_strict_moves_what_it_cannot_check_into_the_description() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "minLength": 2, "maxLength": 5, "description": "Code."},
            "b": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "c": {"type": "array", "items": {"type": "string"}, "uniqueItems": False},
            "d": {"type": "string", "format": "path"},
            "e": {"type": "string", "format": "date"},
            "f": {"type": "string", "pattern": "^(?!x)"},
            "g": {"type": "string", "pattern": "^[a-z]+$"},
            "h": {"type": "integer", "minimum": 1, "exclusiveMaximum": 9, "multipleOf": 2, "title": "H"},
            "i": {"$ref": "#/$defs/Point", "description": "A point.", "examples": [{"x": 1}]},
        },
        "required": ["a", "b", "c", "d", "e", "f", "g", "h", "i"],
        "$defs": {
            "Point": {
                "type": "object",
                "properties": {"x": {"type": "integer"}},
                "minProperties": 1,
                "maxProperties": 3,
            }
        },
        "$schema": "https://json-schema.org/draft/2020-12/schema",
    }
    out = to_dialect(schema, "openai-strict")
    assert out["properties"] == {
        "a": {"type": "string", "description": "Code. (at least 2 characters; at most 5 characters)"},
        "b": {"type": "array", "items": {"type": "string"}, "description": "Items must be unique"},
        "c": {"type": "array", "items": {"type": "string"}},
        "d": {"type": "string", "description": "Format: path"},
        "e": {"type": "string", "format": "date"},
        "f": {"type": "string", "description": 'Matching the pattern "^(?!x)"'},
        "g": {"type": "string", "pattern": "^[a-z]+$"},
        "h": {"type": "integer", "minimum": 1, "exclusiveMaximum": 9, "multipleOf": 2},
        "i": {"anyOf": [{"$ref": "#/$defs/Point"}], "description": "A point."},
    }
    assert out["$defs"]["Point"] == {
        "type": "object",
        "properties": {"x": {"type": ["integer", "null"]}},
        "description": "At least 1 entries; at most 3 entries",
        "required": ["x"],
        "additionalProperties": False,
    }
    assert "$schema" not in out
    assert schema["properties"]["a"]["minLength"] == 2  # the input is not changed


def test_strict_sends_dicts_as_key_value_lists() -> None:
    out = strict(
        {"d": {"type": "object", "additionalProperties": {"type": "integer"}, "description": "Counts."}}
    )
    assert out["d"] == {
        "anyOf": [
            {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"key": {"type": "string"}, "value": {"type": "integer"}},
                    "required": ["key", "value"],
                    "additionalProperties": False,
                },
            },
            {"type": "null"},
        ],
        "description": "Counts. (A list of key/value pairs.)",
    }


def test_strict_merges_a_single_all_of_and_renames_one_of() -> None:
    out = strict(
        {
            "a": {"allOf": [{"type": "integer"}], "description": "A."},
            "b": {"oneOf": [{"type": "integer"}, {"type": "boolean"}]},
        }
    )
    assert out == {
        "a": {"type": ["integer", "null"], "description": "A."},
        "b": {"anyOf": [{"type": "integer"}, {"type": "boolean"}, {"type": "null"}]},
    }


def test_strict_root_without_properties_is_an_empty_closed_object() -> None:
    assert to_dialect({"type": "object"}, "openai-strict") == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }
    assert to_dialect({}, "openai-strict")["properties"] == {}


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "prefixItems": [{"type": "integer"}]},
        {"description": "anything"},
        {"type": "array"},
        {"type": "array", "items": True},
        {"type": "object"},
        {"type": "object", "additionalProperties": True},
        {"type": "object", "additionalProperties": {}},
        {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": True},
        {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}},
        {"allOf": [{"type": "integer"}, {"minimum": 1}]},
        {"not": {"type": "string"}},
        {"anyOf": [{"type": "integer"}], "oneOf": [{"type": "string"}]},
        {"type": "string", "if": {"minLength": 1}, "then": {}},
    ],
    ids=json.dumps,
)
def test_strict_cannot_express(schema: dict[str, Any]) -> None:
    with pytest.raises(NotStrictCompatible):
        strict({"x": schema})


def test_strict_root_must_be_an_object() -> None:
    with pytest.raises(NotStrictCompatible):
        to_dialect({"type": "array", "items": {"type": "string"}}, "openai-strict")


def test_strict_option_of_a_tool() -> None:
    def f(a: int) -> int:
        return a

    assert tool(f).openai_tool("openai-strict")["function"]["strict"] is True
    assert tool(strict=True)(f).openai_tool("openai-strict")["function"]["strict"] is True
    off = tool(strict=False)(f).openai_tool("openai-strict")["function"]
    assert "strict" not in off
    assert off["parameters"] is tool(f).parameters
    assert "strict" not in tool(strict=True)(f).openai_tool("standard")["function"]


# --- Gemini -----------------------------------------------------------------------------------------------


def gemini(properties: dict[str, Any], required: list[str] | None = None, **root: Any) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required or [], **root}
    out = to_dialect(schema, "gemini")
    assert gemini_violations(out) == []
    return out["properties"]


def test_gemini_nullable_enums_const_and_type_lists() -> None:
    out = gemini(
        {
            "a": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None, "description": "A."},
            "b": {"enum": [1, 2, None], "default": 2},
            "c": {"const": "fixed"},
            "d": {"const": 3},
            "e": {"type": ["string", "null"], "format": "date-time"},
            "f": {"type": ["integer", "string"], "description": "F."},
            "g": {"type": ["null"]},
            "h": {"anyOf": [{"type": "null"}]},
            "i": {"type": "boolean", "enum": [True]},
            "j": {"anyOf": [{"enum": ["x"]}, {"type": "null"}], "default": None},
            "k": {"enum": [None]},
        }
    )
    assert out == {
        "a": {"type": "integer", "description": "A.", "nullable": True},
        "b": {"enum": ["1", "2"], "default": "2", "nullable": True, "type": "string"},
        "c": {"enum": ["fixed"], "type": "string"},
        "d": {"enum": ["3"], "type": "string"},
        "e": {"type": "string", "format": "date-time", "nullable": True},
        "f": {
            "anyOf": [
                {"type": "integer", "description": "F."},
                {"type": "string", "description": "F."},
            ]
        },
        "g": {"type": "string", "nullable": True, "description": "Always null"},
        "h": {"nullable": True, "type": "string", "description": "Always null"},
        "i": {"type": "string", "enum": ["true"]},
        "j": {"enum": ["x"], "type": "string", "nullable": True},
        "k": {"type": "string", "nullable": True, "description": "Always null"},
    }


def test_gemini_any_of_stands_alone() -> None:
    out = gemini(
        {
            "u": {
                "oneOf": [{"type": "integer", "minimum": 1}, {"type": "string"}, {"type": "null"}],
                "description": "U.",
                "title": "U",
                "default": 1,
            },
            "nested": {"anyOf": [{"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, {"type": "string"}]},
        }
    )
    assert out == {
        "u": {
            "anyOf": [
                {"type": "integer", "minimum": 1, "description": "U.", "nullable": True},
                {"type": "string", "description": "U.", "nullable": True},
            ]
        },
        "nested": {"anyOf": [{"type": "integer"}, {"type": "boolean"}, {"type": "string"}]},
    }


def test_gemini_keeps_meaning_of_dropped_keywords_in_the_description() -> None:
    out = gemini(
        {
            "ratio": {
                "type": "number",
                "exclusiveMinimum": 0,
                "exclusiveMaximum": 1,
                "description": "Ratio.",
            },
            "even": {"type": "integer", "multipleOf": 2, "format": "int32"},
            "day": {"type": "string", "format": "date"},
            "when": {"type": "string", "format": "date-time"},
            "size": {"type": "number", "format": "double", "minimum": 0, "maximum": 9},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "minItems": 1},
            "code": {"type": "string", "pattern": "^[a-z]+$", "minLength": 1, "maxLength": 3},
            "big": {"type": "integer", "format": "uint64"},
        }
    )
    assert out == {
        "ratio": {"type": "number", "description": "Ratio. (greater than 0; less than 1)"},
        "even": {"type": "integer", "format": "int32", "description": "A multiple of 2"},
        "day": {"type": "string", "description": "Format: date"},
        "when": {"type": "string", "format": "date-time"},
        "size": {"type": "number", "format": "double", "minimum": 0, "maximum": 9},
        "tags": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "description": "Items must be unique",
        },
        "code": {"type": "string", "pattern": "^[a-z]+$", "minLength": 1, "maxLength": 3},
        "big": {"type": "integer", "description": "Format: uint64"},
    }


def test_gemini_arrays_always_carry_items_and_tuples_become_any_of() -> None:
    out = gemini(
        {
            "bare": {"type": "array"},
            "pair": {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "minItems": 2,
            },
            "same": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "integer"}]},
            "none": {"type": "array", "items": False},
            "optional_none": {"type": "array", "items": False},
        },
        required=["none"],
    )
    any_value = {"type": "string", "nullable": True, "description": "Any JSON value, written as a string"}
    assert out == {
        "bare": {"type": "array", "items": any_value},
        "pair": {
            "type": "array",
            "minItems": 2,
            "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        },
        "same": {"type": "array", "items": {"type": "integer"}},
        "none": {
            "type": "array",
            "items": {"type": "string"},
            "maxItems": 0,
            "description": "Must be empty here: nesting limit reached",
        },
    }


def test_gemini_objects_without_properties_become_key_value_lists() -> None:
    out = gemini(
        {
            "counts": {
                "type": "object",
                "additionalProperties": {"type": "integer"},
                "description": "Counts.",
            },
            "anything": {"type": "object"},
            "maybe": {
                "anyOf": [{"type": "object", "additionalProperties": {"type": "string"}}, {"type": "null"}]
            },
            "empty_model": {"type": "object", "properties": {}},
        }
    )
    pairs = {
        "type": "object",
        "properties": {"key": {"type": "string"}, "value": {"type": "integer"}},
        "required": ["key", "value"],
    }
    assert out["counts"] == {
        "type": "array",
        "description": "Counts. (A list of key/value pairs.)",
        "items": pairs,
    }
    assert (
        out["anything"]["items"]["properties"]["value"]["description"]
        == "Any JSON value, written as a string"
    )
    assert out["maybe"]["nullable"] is True
    assert out["maybe"]["type"] == "array"
    assert out["empty_model"]["type"] == "array"


def test_gemini_merges_all_of() -> None:
    out = gemini(
        {
            "m": {
                "allOf": [
                    {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                    {
                        "properties": {"b": {"type": "string"}},
                        "required": ["b"],
                        "allOf": [{"description": "M."}],
                    },
                ],
                "properties": {"c": {"type": "boolean"}},
                "required": ["c"],
            }
        }
    )
    assert out["m"] == {
        "properties": {"a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "boolean"}},
        "required": ["c", "a", "b"],
        "type": "object",
        "description": "M.",
    }


def test_gemini_drops_defaults_it_cannot_use() -> None:
    out = gemini(
        {
            "a": {"type": "integer", "default": 3},
            "b": {"type": "array", "items": {"type": "integer"}, "default": [1]},
            "c": {"type": "object", "properties": {"x": {"type": "integer"}}, "default": {"x": 1}},
            "d": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        }
    )
    assert out["a"]["default"] == 3
    assert all("default" not in out[k] for k in "bcd")


class Tree(BaseModel):
    value: int
    children: list[Tree] = []
    parent: Optional[Tree] = None


class Category(BaseModel):
    name: str
    subcategories: list[Category]


class Chain(BaseModel):
    next: Chain


def _depth(node: dict[str, Any], key: str) -> int:
    depth = 0
    while node.get("properties", {}).get(key):
        node = node["properties"][key]
        node = node.get("items", node)
        depth += 1
    return depth


def test_gemini_unrolls_recursion_to_a_bounded_depth() -> None:
    def f(tree: Tree) -> None: ...

    schema = Tool(f).openai_tool("gemini")["function"]["parameters"]
    assert gemini_violations(schema) == []
    root = schema["properties"]["tree"]
    assert _depth(root, "children") == GEMINI_RECURSION_DEPTH - 1
    assert _depth(root, "parent") == GEMINI_RECURSION_DEPTH - 1
    assert "$ref" not in json.dumps(schema)


def test_gemini_required_recursive_list_ends_empty() -> None:
    def f(category: Category) -> None: ...

    schema = Tool(f).openai_tool("gemini")["function"]["parameters"]
    assert gemini_violations(schema) == []
    node = schema["properties"]["category"]
    for _ in range(GEMINI_RECURSION_DEPTH - 1):
        node = node["properties"]["subcategories"]["items"]
    assert node["properties"]["subcategories"] == {
        "type": "array",
        "items": {"type": "string"},
        "maxItems": 0,
        "description": "Must be empty here: nesting limit reached",
    }


def test_gemini_required_recursion_is_a_user_error() -> None:
    def f(chain: Chain) -> None: ...

    with pytest.raises(UserError, match="required property 'next' nests deeper than 3 levels"):
        Tool(f).openai_tool("gemini")


def test_gemini_recursion_through_unions_and_lists_with_minimum() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"$ref": "#/$defs/N"}},
        "required": ["n"],
        "$defs": {
            "N": {
                "type": "object",
                "properties": {
                    "either": {"anyOf": [{"$ref": "#/$defs/N"}, {"type": "null"}]},
                    "only": {"anyOf": [{"$ref": "#/$defs/N"}]},
                    "lists": {
                        "anyOf": [{"type": "array", "items": {"$ref": "#/$defs/N"}}, {"type": "integer"}]
                    },
                    "listonly": {"anyOf": [{"type": "array", "items": {"$ref": "#/$defs/N"}}]},
                    "nonempty": {"type": "array", "items": {"$ref": "#/$defs/N"}, "minItems": 1},
                    "pair": {"type": "array", "prefixItems": [{"$ref": "#/$defs/N"}]},
                    "both": {"allOf": [{"$ref": "#/$defs/N"}]},
                    "map": {"type": "object", "additionalProperties": {"$ref": "#/$defs/N"}},
                    "never": {"not": {"$ref": "#/$defs/N"}},
                },
                "required": ["listonly"],
            }
        },
    }
    out = to_dialect(schema, "gemini")
    assert gemini_violations(out) == []
    deepest = out["properties"]["n"]
    for _ in range(GEMINI_RECURSION_DEPTH - 1):
        deepest = deepest["properties"]["either"]
    assert list(deepest["properties"]) == ["lists", "listonly", "never"]
    assert deepest["required"] == ["listonly"]
    assert deepest["properties"]["lists"] == {"type": "integer"}
    assert deepest["properties"]["listonly"]["maxItems"] == 0


def test_gemini_without_arguments_sends_no_parameters() -> None:
    function = Tool(no_arguments).openai_tool("gemini")["function"]
    assert function == {"name": "no_arguments", "description": "Takes nothing."}
    assert to_dialect({"type": "object", "properties": {}}, "gemini") == {}


def test_dialects_do_not_change_their_input() -> None:
    t = Tool(kitchen_sink)
    before = copy.deepcopy(t.parameters)
    for dialect in DIALECTS:
        t.openai_tool(dialect)
    assert t.parameters == before


# --- raw, hand-written schemas (MCP) ----------------------------------------------------------------------

RAW: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Arguments",
    "type": "object",
    "properties": {
        "mode": {"const": "fast", "title": "Mode"},
        "level": {"enum": [1, 2, 3], "default": 2, "examples": [3]},
        "when": {"type": ["string", "null"], "format": "date"},
        "either": {"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "A number or a name."},
        "shape": {"$ref": "#/$defs/Shape", "description": "The shape."},
        "tree": {"$ref": "#/definitions/Tree"},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "anything": {},
        "list_any": {"type": "array"},
        "empty": {"type": "object", "properties": {}},
        "pair": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "boolean"}]},
        "merged": {
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                {"properties": {"b": {"type": "string"}}},
            ]
        },
        "pet": {
            "oneOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}],
            "discriminator": {"propertyName": "kind"},
        },
        "multi": {"type": ["integer", "string", "null"]},
        "nothing": {"type": "null"},
        "flags": {"type": "array", "items": {"type": "boolean"}, "uniqueItems": True},
        "first": {"$ref": "#/properties/mode"},
    },
    "required": ["mode", "shape"],
    "additionalProperties": False,
    "$defs": {
        "Shape": {
            "title": "Shape",
            "type": "object",
            "properties": {"sides": {"type": "integer", "minimum": 3}, "name": {"type": "string"}},
            "required": ["sides"],
            "additionalProperties": False,
        },
        "Cat": {"type": "object", "properties": {"kind": {"const": "cat"}, "lives": {"type": "integer"}}},
        "Dog": {"type": "object", "properties": {"kind": {"const": "dog"}, "good": {"type": "boolean"}}},
    },
    "definitions": {
        "Tree": {
            "type": "object",
            "properties": {
                "value": {"type": "integer"},
                "children": {"type": "array", "items": {"$ref": "#/definitions/Tree"}},
            },
            "required": ["value"],
        }
    },
}


def _raw_tool(received: list[dict[str, Any]]) -> Tool[..., Any]:
    def handler(**arguments: Any) -> str:
        received.append(arguments)
        return "ok"

    return Tool.from_schema(handler, name="raw_tool", description="A hand-written schema.", parameters=RAW)


def test_raw_schema_in_gemini_has_nothing_gemini_rejects() -> None:
    t = _raw_tool([])
    schema = t.openai_tool("gemini")["function"]["parameters"]
    assert gemini_violations(schema) == []
    assert schema["properties"]["shape"]["description"] == "The shape."
    assert schema["properties"]["first"] == {"enum": ["fast"], "type": "string"}
    assert schema["required"] == ["mode", "shape"]
    for dialect in DIALECTS:
        jsonschema.Draft202012Validator.check_schema(t.openai_tool(dialect)["function"]["parameters"])
    assert "strict" not in t.openai_tool("openai-strict")["function"]  # `anything` has no strict form


async def test_raw_schema_arguments_come_back_from_gemini() -> None:
    received: list[dict[str, Any]] = []
    t = _raw_tool(received)
    sent = {
        "mode": "fast",
        "level": "3",
        "shape": {"sides": 4},
        "labels": [{"key": "a", "value": "x"}],
        "anything": '{"deep": [1, 2]}',
        "list_any": ["1", "text", "null"],
        "empty": [],
        "pair": [1, True],
        "tree": {"value": 1, "children": [{"value": 2}]},
        "pet": {"kind": "dog", "good": True},
        "multi": None,
        "when": None,
    }
    arguments = t.validate_arguments(json.dumps(sent), dialect="gemini")
    assert arguments == {
        **sent,
        "level": 3,
        "labels": {"a": "x"},
        "anything": {"deep": [1, 2]},
        "list_any": [1, "text", None],
        "empty": {},
    }
    assert await t.call(arguments) == "ok"
    assert received == [arguments]


def test_raw_strict_compatible_schema_is_sent_strict() -> None:
    schema = {
        "type": "object",
        "properties": {"q": {"type": "string"}, "n": {"type": "integer", "default": 5}},
        "required": ["q"],
    }
    t = Tool.from_schema(lambda **kw: kw, name="search", description="Search.", parameters=schema)
    function = t.openai_tool("openai-strict")["function"]
    assert function["strict"] is True
    assert function["parameters"]["properties"]["n"] == {"type": ["integer", "null"]}
    assert t.validate_arguments('{"q": "x", "n": null}', dialect="openai-strict") == {"q": "x"}


# --- references and restoring arguments -------------------------------------------------------------------


def test_resolve_ref() -> None:
    root = {
        "$defs": {"a/b": {"type": "integer"}, "t~x": {"type": "string"}},
        "list": [{"type": "boolean"}],
        "leaf": 3,
    }
    assert resolve_ref(root, "#/$defs/a~1b") == {"type": "integer"}
    assert resolve_ref(root, "#/$defs/t~0x") == {"type": "string"}
    assert resolve_ref(root, "#/list/0") == {"type": "boolean"}
    assert resolve_ref(root, "#") is root
    with pytest.raises(UserError, match="only local references"):
        resolve_ref(root, "https://example.com/schema.json")
    with pytest.raises(UserError, match="which it does not define"):
        resolve_ref(root, "#/$defs/missing")
    with pytest.raises(UserError, match="which it does not define"):
        resolve_ref(root, "#/list/7")
    with pytest.raises(UserError, match="not a schema object"):
        resolve_ref(root, "#/leaf")


def test_restore_arguments_edge_cases() -> None:
    schema = {
        "type": "object",
        "properties": {
            "all": {
                "allOf": [{"type": "object", "additionalProperties": {"type": "integer", "enum": [1, 2]}}]
            },
            "one": {"oneOf": [{"type": "integer", "enum": [1]}, {"type": "boolean"}]},
            "none_fits": {"anyOf": [{"type": "integer"}, {"type": "boolean"}]},
            "prefix": {"type": "array", "prefixItems": [{"enum": [1]}]},
            "enum": {"enum": [1, 2]},
            "bool_schema": True,
            "typed_union": {"anyOf": [{"type": ["integer", "null"]}, {"properties": {"a": {}}}, {}]},
            "opt": {"$ref": "#/$defs/Opt"},
            "flag": {"anyOf": [{"type": "integer"}, {"anyOf": [{"type": "string"}, {"type": "boolean"}]}]},
            "anything": True,
        },
        "required": [],
        "$defs": {"Opt": {"type": "integer"}},
    }
    restored = restore_arguments(
        {
            "all": [{"key": "k", "value": "2"}],
            "one": "1",
            "none_fits": "x",
            "prefix": ["1", "extra"],
            "enum": "3",
            "bool_schema": "kept",
            "typed_union": {"a": 1},
            "opt": None,
            "flag": True,
            "anything": None,
            "unknown": "[1]",
        },
        schema,
        "gemini",
    )
    assert restored == {
        "all": {"k": 2},
        "one": 1,
        "none_fits": "x",
        "prefix": [1, "extra"],
        "enum": "3",
        "bool_schema": "kept",
        "typed_union": {"a": 1},
        "flag": True,
        "anything": None,
        "unknown": "[1]",
    }
    # Outside Gemini, a string for an any-typed value is just a string.
    assert restore_arguments({"x": "[1]"}, {"type": "object", "properties": {"x": {}}}) == {"x": "[1]"}
    assert restore_arguments({"x": "[1]"}, {"type": "object", "properties": {"x": {}}}, "gemini") == {
        "x": [1]
    }
    assert restore_arguments("not an object", {"type": "object"}) == "not an object"
    assert restore_arguments({"x": "a"}, {"type": "object", "properties": {"x": {"type": "array"}}}) == {
        "x": "a"
    }
