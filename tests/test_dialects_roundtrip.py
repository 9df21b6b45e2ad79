"""Every supported type, in every dialect: schema -> what a model sends -> the value the function receives.

For each type a sample value is turned into JSON, then encoded the way a model following the dialect's
schema would send it (`encode` walks the dialect schema: key/value lists for dicts, enum values as text for
Gemini, `null` for optional properties in strict mode, any-typed values as JSON text for Gemini). The payload
is checked against the dialect schema with `jsonschema`, passed through `Tool.validate_arguments(...,
dialect=...)` and `Tool.call`, and the function must receive the declared Python type and the original value.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import ipaddress
import json
import pathlib
import uuid
from typing import Annotated, Any, Literal, Optional, Union

import jsonschema
import pytest
from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python
from typing_extensions import NotRequired, TypedDict

from agentkit.models._dialects import DIALECTS, Dialect, resolve_ref
from agentkit.tool import Tool


class Color(str, enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Size(enum.Enum):
    SMALL = 1
    LARGE = 10


class Address(BaseModel):
    """A postal address."""

    street: str
    city: str = Field(description="City name.")


class Contact(BaseModel):
    name: str
    phone: Optional[str] = None
    address: Address
    tags: set[str] = set()


class Node(BaseModel):
    name: str
    children: list[Node] = []


class Category(BaseModel):
    """A tree whose children list is required (it can still be empty)."""

    name: str
    subcategories: list[Category]


class Settings(BaseModel):
    level: Level
    limits: dict[str, int]
    mode: Literal[1, 2, 3] = 1


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0
    label: Optional[str] = None


class Movie(TypedDict):
    title: str
    year: NotRequired[int]


UTC = datetime.timezone.utc

CASES: list[tuple[str, Any, Any]] = [
    ("str", str, "héllo"),
    ("int", int, 42),
    ("float", float, 2.5),
    ("bool", bool, True),
    ("none", None, None),
    ("list", list[int], [1, 2, 3]),
    ("list_of_lists", list[list[str]], [["a"], [], ["b", "c"]]),
    ("tuple", tuple[int, str], (1, "a")),
    ("tuple_variadic", tuple[float, ...], (1.5, 2.0)),
    ("set", set[str], {"a", "b"}),
    ("frozenset", frozenset[int], frozenset({1, 2})),
    ("dict", dict[str, int], {"a": 1, "b": 2}),
    ("dict_of_models", dict[str, Address], {"home": Address(street="1 Main St", city="Oslo")}),
    ("optional_value", Optional[int], 3),
    ("optional_null", Optional[int], None),
    ("pipe_none", int | None, None),
    ("union_first", Union[int, str], 7),
    ("union_second", Union[int, str], "seven"),
    ("literal_str", Literal["x", "y"], "y"),
    ("literal_int", Literal[1, 2], 2),
    ("literal_bool", Literal[True], True),
    ("enum_str", Color, Color.BLUE),
    ("enum_int", Level, Level.HIGH),
    ("enum_plain_int", Size, Size.LARGE),
    ("optional_enum", Optional[Level], Level.LOW),
    ("list_of_enums", list[Size], [Size.SMALL, Size.LARGE]),
    ("datetime", datetime.datetime, datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)),
    ("date", datetime.date, datetime.date(2024, 5, 6)),
    ("time", datetime.time, datetime.time(7, 8, 9)),
    ("timedelta", datetime.timedelta, datetime.timedelta(hours=1, minutes=2)),
    ("uuid", uuid.UUID, uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ("path", pathlib.Path, pathlib.Path("/tmp/report.txt")),
    ("decimal", decimal.Decimal, decimal.Decimal("12.50")),
    ("bytes", bytes, b"abc"),
    ("ipv4", ipaddress.IPv4Address, ipaddress.IPv4Address("10.0.0.1")),
    ("model", Address, Address(street="1 Main St", city="Oslo")),
    (
        "nested_model",
        Contact,
        Contact(name="Ann", address=Address(street="2 High St", city="Bergen"), tags={"x"}),
    ),
    ("nested_model_nulls", Contact, Contact(name="Bob", phone=None, address=Address(street="s", city="c"))),
    ("optional_model", Optional[Address], Address(street="s", city="c")),
    ("optional_model_null", Optional[Address], None),
    ("list_of_models", list[Address], [Address(street="a", city="b"), Address(street="c", city="d")]),
    ("model_with_dict_and_enum", Settings, Settings(level=Level.LOW, limits={"cpu": 2}, mode=3)),
    ("recursive", Node, Node(name="root", children=[Node(name="leaf")])),
    (
        "recursive_required_list",
        Category,
        Category(name="a", subcategories=[Category(name="b", subcategories=[])]),
    ),
    ("dataclass", Point, Point(x=1, y=2, label="p")),
    ("dataclass_defaults", Point, Point(x=5)),
    ("typeddict", Movie, Movie(title="Heat", year=1995)),
    ("typeddict_not_required", Movie, Movie(title="Heat")),
    ("annotated_field", Annotated[int, Field(ge=1, le=10, description="One to ten.")], 5),
    ("annotated_exclusive", Annotated[float, Field(gt=0, lt=1)], 0.5),
    ("annotated_text", Annotated[str, Field(min_length=2, max_length=5, pattern="^[a-z]+$")], "abc"),
    ("annotated_description", Annotated[str, "A description."], "q"),
    ("any_object", Any, {"k": [1, 2]}),
    ("any_number", Any, 3.5),
    ("dict_any", dict[str, Any], {"a": [1], "b": "x", "c": None}),
    ("list_any", list[Any], [1, "a", None, {"b": 2}]),
    ("bare_list", list, [1, "two"]),
    ("bare_dict", dict, {"a": 1}),
]


def _make_tool(annotation: Any, default: Any = dataclasses.MISSING) -> tuple[Tool[..., Any], list[Any]]:
    received: list[Any] = []

    def probe(x: Any) -> None:
        received.append(x)

    probe.__annotations__ = {"x": annotation, "return": None}
    if default is not dataclasses.MISSING:
        probe.__defaults__ = (default,)
    return Tool(probe), received


class Mismatch(Exception):
    """The value cannot be sent under this (branch of the) schema."""


def _first_type(node: dict[str, Any]) -> str | None:
    t = node.get("type")
    if isinstance(t, list):
        return next((k for k in t if k != "null"), "null")
    return t


def _accepts_null(node: dict[str, Any]) -> bool:
    t = node.get("type")
    return node.get("nullable") is True or t == "null" or (isinstance(t, list) and "null" in t)


def encode(value: Any, node: Any, root: dict[str, Any], dialect: Dialect) -> Any:
    """What a model following `node` sends for the JSON value `value`; raises `Mismatch`."""
    if not isinstance(node, dict):
        return value
    if "$ref" in node:
        return encode(value, resolve_ref(root, node["$ref"]), root, dialect)
    if "anyOf" in node:
        for branch in node["anyOf"]:
            try:
                out = encode(value, branch, root, dialect)
                _validate(out, branch, root, dialect)
            except (Mismatch, jsonschema.ValidationError):
                continue
            return out
        raise Mismatch(value)
    if value is None:
        if _accepts_null(node) or not node:
            return None
        raise Mismatch(value)
    if "enum" in node:
        for option in (value, json.dumps(value)):
            if option in node["enum"]:
                return option
        raise Mismatch(value)
    kind = _first_type(node)
    if kind == "array":
        return _encode_array(value, node, root, dialect)
    if kind == "object":
        return _encode_object(value, node, root, dialect)
    if kind == "string" and not isinstance(value, str):
        if dialect == "gemini" and "any json value" in node.get("description", "").lower():
            return json.dumps(value)
        raise Mismatch(value)
    expected = {"integer": int, "number": (int, float), "boolean": bool, "string": str, None: object}[kind]
    if not isinstance(value, expected) or (isinstance(value, bool) and kind in ("integer", "number")):
        raise Mismatch(value)
    return value


def _encode_array(value: Any, node: dict[str, Any], root: dict[str, Any], dialect: Dialect) -> Any:
    items = node.get("items", {})
    if isinstance(value, dict):
        pair = items.get("properties", {})
        if set(pair) != {"key", "value"}:
            raise Mismatch(value)
        return [{"key": k, "value": encode(v, pair["value"], root, dialect)} for k, v in value.items()]
    if not isinstance(value, list):
        raise Mismatch(value)
    prefix = node.get("prefixItems")
    if prefix:
        return [encode(v, prefix[i], root, dialect) for i, v in enumerate(value)]
    return [encode(v, items, root, dialect) for v in value]


def _encode_object(value: Any, node: dict[str, Any], root: dict[str, Any], dialect: Dialect) -> Any:
    if not isinstance(value, dict):
        raise Mismatch(value)
    properties = node.get("properties", {})
    required = node.get("required", [])
    out: dict[str, Any] = {}
    for name, sub in properties.items():
        if name in value:
            out[name] = encode(value[name], sub, root, dialect)
        elif name in required:  # strict mode: an optional property is sent as null
            out[name] = encode(None, sub, root, dialect)
    for name in value.keys() - properties.keys():
        additional = node.get("additionalProperties", True)
        if additional is False:
            raise Mismatch(value)
        out[name] = encode(value[name], additional, root, dialect)
    return out


def as_json_schema(node: Any) -> Any:
    """A Gemini schema as standard JSON Schema (`nullable` -> a type list), to validate payloads against."""
    if isinstance(node, list):
        return [as_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: as_json_schema(v) if k in ("items", "anyOf") else v for k, v in node.items()}
    if "properties" in node:
        out["properties"] = {k: as_json_schema(v) for k, v in node["properties"].items()}
    if out.pop("nullable", False):
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def _validate(payload: Any, node: dict[str, Any], root: dict[str, Any], dialect: Dialect) -> None:
    schema = as_json_schema(node) if dialect == "gemini" else {**node, "$defs": root.get("$defs", {})}
    jsonschema.Draft202012Validator(schema).validate(payload)


def _canonical_accepts_null(node: dict[str, Any]) -> bool:
    if not {"type", "anyOf", "enum", "$ref", "properties"} & node.keys():
        return True
    return (
        node.get("type") == "null"
        or None in node.get("enum", ())
        or any(map(_canonical_accepts_null, node.get("anyOf", ())))
    )


def _sent_schema(tool: Tool[..., Any], dialect: Dialect) -> dict[str, Any]:
    return tool.openai_tool(dialect)["function"].get("parameters", {})


def _check_received(received: Any, expected: Any) -> None:
    assert received == expected
    assert type(received) is type(expected)
    if isinstance(expected, BaseModel):
        for name in type(expected).model_fields:
            _check_received(getattr(received, name), getattr(expected, name))
    if isinstance(expected, (list, tuple)) and not isinstance(expected, str):
        for got, want in zip(received, expected, strict=True):
            _check_received(got, want)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("annotation", "value"), [pytest.param(a, v, id=i) for i, a, v in CASES])
async def test_value_round_trip(annotation: Any, value: Any, dialect: Dialect) -> None:
    tool, received = _make_tool(annotation)
    schema = _sent_schema(tool, dialect)
    payload = encode({"x": to_jsonable_python(value)}, schema, schema, dialect)
    _validate(payload, schema, schema, dialect)
    arguments = tool.validate_arguments(json.dumps(payload), dialect=dialect)
    await tool.call(arguments)
    _check_received(received[0], value)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("annotation", "value"), [pytest.param(a, v, id=i) for i, a, v in CASES])
async def test_omitted_argument_gets_default(annotation: Any, value: Any, dialect: Dialect) -> None:
    tool, received = _make_tool(annotation, default=value)
    schema = _sent_schema(tool, dialect)
    assert (
        "required" not in schema
        or "x" not in schema["required"]
        or tool.openai_tool(dialect)["function"]["strict"]
    )
    payload = encode({}, schema, schema, dialect)
    _validate(payload, schema, schema, dialect)
    arguments = tool.validate_arguments(json.dumps(payload), dialect=dialect)
    await tool.call(arguments)
    # In strict mode the model must send every property: `null` for a type that accepts it is a real None.
    null_is_value = payload.get("x", "absent") is None and tool.openai_tool(dialect)["function"].get("strict")
    sub = tool.parameters["properties"]["x"]
    accepts_null = _canonical_accepts_null(sub)
    expected = None if (null_is_value and accepts_null) else value
    _check_received(received[0], expected)


def test_every_case_is_strict_or_knowingly_not() -> None:
    """Strict mode covers all but the types it cannot express (tuples, any-typed values)."""
    not_strict = set()
    for case_id, annotation, _ in CASES:
        tool, _ = _make_tool(annotation)
        if not tool.openai_tool("openai-strict")["function"].get("strict"):
            not_strict.add(case_id)
    assert not_strict == {
        "tuple",
        "any_object",
        "any_number",
        "dict_any",
        "list_any",
        "bare_list",
        "bare_dict",
    }
