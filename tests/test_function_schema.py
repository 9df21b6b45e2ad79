"""Function -> JSON Schema: every supported type, descriptions, defaults, errors at definition time."""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime
import decimal
import enum
import functools
import ipaddress
import json
import pathlib
import subprocess
import sys
import typing
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import jsonschema
import pytest
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import NotRequired, TypedDict

from agentkit._schema.function import function_schema
from agentkit._schema.types import SchemaBuilder, UnsupportedType, annotation_description, strip_titles
from agentkit.context import RunContext
from agentkit.exceptions import UserError
from agentkit.tool import Tool

ROOT = Path(__file__).resolve().parents[1]


class Color(str, enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    """A postal address."""

    street: str
    city: str = Field(description="City name.")


class Contact(BaseModel):
    name: str
    address: Address
    backup: Optional[Address] = None


class Node(BaseModel):
    name: str
    children: list[Node] = []


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


class Movie(TypedDict):
    title: str
    year: NotRequired[int]


class Book(BaseModel):
    title: str


class Shelf(BaseModel):
    favourite: Book = Book(title="Dune")


class NotAModel:
    pass


def prop(annotation: Any) -> dict[str, Any]:
    """The schema of one parameter of type `annotation` (no `$defs`)."""
    schema = parameters_of(annotation)
    assert "$defs" not in schema
    result: dict[str, Any] = schema["properties"]["x"]
    return result


def parameters_of(annotation: Any) -> dict[str, Any]:
    def probe(x: Any) -> None: ...

    probe.__annotations__ = {"x": annotation}
    schema = function_schema(probe).parameters
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (None, {"type": "null"}),
        (type(None), {"type": "null"}),
        (bytes, {"type": "string", "format": "binary"}),
        (Any, {}),
        (object, {}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (typing.List[str], {"type": "array", "items": {"type": "string"}}),  # noqa: UP006
        (collections.abc.Sequence[int], {"type": "array", "items": {"type": "integer"}}),
        (list, {"type": "array"}),
        (list[Any], {"type": "array"}),
        (set[str], {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
        (frozenset[int], {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}),
        (
            tuple[int, str],
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "minItems": 2,
                "maxItems": 2,
            },
        ),
        (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
        (tuple[Any, ...], {"type": "array"}),
        (tuple[()], {"type": "array", "maxItems": 0}),
        (tuple, {"type": "array"}),
        (typing.Tuple, {"type": "array"}),  # noqa: UP006
        (dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (dict[Literal["a", "b"], int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (dict[Any, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (dict, {"type": "object", "additionalProperties": {}}),
        (typing.Mapping[str, bool], {"type": "object", "additionalProperties": {"type": "boolean"}}),
        (Optional[int], {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        (int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        (Union[int, str, None], {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]}),
        (Union[int, Any], {}),
        (
            Union[Annotated[int, "n"], Optional[str]],
            {"anyOf": [{"type": "integer", "description": "n"}, {"type": "string"}, {"type": "null"}]},
        ),
        (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
        (Literal[1, 2], {"type": "integer", "enum": [1, 2]}),
        (Literal[1, 2.5], {"type": "number", "enum": [1, 2.5]}),
        (Literal[True], {"type": "boolean", "enum": [True]}),
        (Literal["a", 1], {"enum": ["a", 1]}),
        (Literal["a", None], {"enum": ["a", None]}),
        (Color, {"type": "string", "enum": ["red", "blue"]}),
        (Level, {"type": "integer", "enum": [1, 2]}),
        (Literal[Color.RED], {"type": "string", "enum": ["red"]}),
        (datetime.datetime, {"type": "string", "format": "date-time"}),
        (datetime.date, {"type": "string", "format": "date"}),
        (datetime.time, {"type": "string", "format": "time"}),
        (datetime.timedelta, {"type": "string", "format": "duration"}),
        (uuid.UUID, {"type": "string", "format": "uuid"}),
        (pathlib.Path, {"type": "string", "format": "path"}),
        (decimal.Decimal, {"type": "string", "format": "decimal"}),
        (ipaddress.IPv4Address, {"type": "string", "format": "ipv4"}),
        (Annotated[str, "The text."], {"type": "string", "description": "The text."}),
        (Annotated[str, "Two", "parts."], {"type": "string", "description": "Two parts."}),
        (Annotated[str, ""], {"type": "string"}),
        (Annotated[int, Field(ge=1, le=5)], {"maximum": 5, "minimum": 1, "type": "integer"}),
        (Annotated[int, Field(description="From Field.")], {"description": "From Field.", "type": "integer"}),
        (
            Annotated[int, Field(gt=0), "Positive."],
            {"exclusiveMinimum": 0, "type": "integer", "description": "Positive."},
        ),
        (
            Annotated[str, Field(min_length=2, pattern="^a")],
            {"minLength": 2, "pattern": "^a", "type": "string"},
        ),
        (Annotated[int, {"unhashable": "metadata"}], {"type": "integer"}),
        (Union[datetime.date, Annotated[datetime.date, ""]], {"type": "string", "format": "date"}),
    ],
    ids=repr,
)
def test_plain_types(annotation: Any, expected: dict[str, Any]) -> None:
    assert prop(annotation) == expected


def test_pydantic_model_inlined_with_nested_definitions() -> None:
    schema = parameters_of(Contact)
    assert schema["properties"]["x"] == {
        "properties": {
            "name": {"type": "string"},
            "address": {"$ref": "#/$defs/Address"},
            "backup": {"anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}], "default": None},
        },
        "required": ["name", "address"],
        "type": "object",
    }
    assert schema["$defs"] == {
        "Address": {
            "description": "A postal address.",
            "properties": {
                "street": {"type": "string"},
                "city": {"description": "City name.", "type": "string"},
            },
            "required": ["street", "city"],
            "type": "object",
        }
    }


def test_recursive_model_refers_to_itself() -> None:
    schema = parameters_of(Node)
    assert schema["properties"]["x"] == {"$ref": "#/$defs/Node"}
    assert schema["$defs"]["Node"]["properties"]["children"] == {
        "default": [],
        "items": {"$ref": "#/$defs/Node"},
        "type": "array",
    }


def test_dataclass_and_typeddict() -> None:
    assert prop(Point) == {
        "properties": {"x": {"type": "integer"}, "y": {"default": 0, "type": "integer"}},
        "required": ["x"],
        "type": "object",
    }
    assert prop(Movie) == {
        "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
        "required": ["title"],
        "type": "object",
    }
    assert prop(NotRequired[int]) == {"type": "integer"}


def test_titles_are_removed_but_data_named_title_is_kept() -> None:
    schema = parameters_of(Shelf)
    assert "title" not in json.dumps(schema).replace('"title": {', "").replace('"title": "Dune"', "").replace(
        '"required": ["title"]', ""
    )
    assert schema["$defs"]["Book"]["properties"] == {"title": {"type": "string"}}
    assert schema["properties"]["x"]["properties"]["favourite"]["default"] == {"title": "Dune"}
    assert strip_titles({"title": "T", "enum": [{"title": "kept"}], "items": [{"title": "gone"}]}) == {
        "enum": [{"title": "kept"}],
        "items": [{}],
    }


def test_definitions_with_the_same_name_are_kept_apart() -> None:
    first = _model("Item", a=(int, ...))
    second = _model("Item", b=(str, ...))
    holder_one = _model("HolderOne", item=(first, ...))
    holder_two = _model("HolderTwo", item=(second, ...))

    def f(one: Any, two: Any, again: Any) -> None: ...

    f.__annotations__ = {"one": holder_one, "two": holder_two, "again": holder_one}
    schema = function_schema(f).parameters
    assert schema["properties"]["one"]["properties"]["item"] == {"$ref": "#/$defs/Item"}
    assert schema["properties"]["two"]["properties"]["item"] == {"$ref": "#/$defs/Item2"}
    assert schema["$defs"]["Item"]["properties"] == {"a": {"type": "integer"}}
    assert schema["$defs"]["Item2"]["properties"] == {"b": {"type": "string"}}


def _model(name: str, **fields: Any) -> type[BaseModel]:
    from pydantic import create_model

    model: type[BaseModel] = create_model(name, **fields)
    return model


def test_keyword_only_and_defaults() -> None:
    def f(a: int, b: str = "x", *, c: float, d: bool = False, e: Optional[int] = None) -> None: ...

    schema = function_schema(f).parameters
    assert schema == {
        "type": "object",
        "properties": {
            "a": {"type": "integer"},
            "b": {"type": "string", "default": "x"},
            "c": {"type": "number"},
            "d": {"type": "boolean", "default": False},
            "e": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
        },
        "required": ["a", "c"],
        "additionalProperties": False,
    }


def test_defaults_in_json_form_or_left_out() -> None:
    sentinel = object()

    def f(
        color: Color = Color.RED,
        when: datetime.date = datetime.date(2024, 1, 2),
        tags: frozenset[str] = frozenset({"b", "a", "c"}),
        nested: dict[str, list[set[int]]] = {"k": [{3, 1, 2}]},  # noqa: B006
        odd: Any = sentinel,
    ) -> None: ...

    properties = function_schema(f).parameters["properties"]
    assert properties["color"]["default"] == "red"
    assert properties["when"]["default"] == "2024-01-02"
    assert properties["tags"]["default"] == ["a", "b", "c"]
    assert properties["nested"]["default"] == {"k": [[1, 2, 3]]}
    assert "default" not in properties["odd"]
    assert (
        "odd" not in function_schema(f).parameters["required"]
        if "required" in function_schema(f).parameters
        else True
    )


def test_same_function_gives_byte_identical_json_across_processes() -> None:
    """Set defaults are ordered, so hash randomisation cannot change the JSON."""
    code = (
        "import json\n"
        "from agentkit.tool import tool\n"
        "@tool\n"
        "def f(tags: frozenset[str] = frozenset({'alpha', 'beta', 'gamma', 'delta'}), n: int = 1) -> None:\n"
        "    '''Doc.\n\n    Args:\n        tags: The tags.\n    '''\n"
        "print(f.openai_tool_json(), f.openai_tool_json('gemini'), f.openai_tool_json('openai-strict'))\n"
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {"PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        run = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        outputs.add(run.stdout)
    assert len(outputs) == 1


def test_field_defaults_descriptions_and_examples() -> None:
    def f(
        a: int = Field(3, ge=1, description="From Field.", examples=[4]),
        b: list[int] = Field(default_factory=list),  # noqa: B008
        c: str = Field(description="Required, with a Field."),
    ) -> None:
        """Doc.

        Args:
            a: Docstring loses to Field.
            b: From the docstring.
        """

    properties = function_schema(f).parameters["properties"]
    assert properties["a"] == {
        "minimum": 1,
        "type": "integer",
        "examples": [4],
        "description": "From Field.",
        "default": 3,
    }
    assert properties["b"] == {
        "type": "array",
        "items": {"type": "integer"},
        "description": "From the docstring.",
        "default": [],
    }
    assert properties["c"] == {"type": "string", "description": "Required, with a Field."}
    assert function_schema(f).parameters["required"] == ["c"]
    assert function_schema(f).validate({"c": "x"}) == {"a": 3, "b": [], "c": "x"}
    first, second = (function_schema(f).validate({"c": "x"})["b"] for _ in range(2))
    assert first is not second  # the factory runs for every call


def test_description_precedence() -> None:
    def f(
        a: Address,
        b: Annotated[Address, "Annotated text."],
        c: Annotated[int, Field(description="Annotated Field.")],
        d: Annotated[int, "Annotated text."] = Field(0, description="Default Field."),
        e: Address | None = None,
        undocumented: Address | None = None,
    ) -> None:
        """Summary.

        Args:
            a: Docstring a.
            b: Docstring b.
            c: Docstring c.
            d: Docstring d.
            e: Docstring e.
        """

    properties = function_schema(f).parameters["properties"]
    assert properties["a"]["description"] == "Docstring a."  # the parameter's text beats the class docstring
    assert properties["b"]["description"] == "Annotated text."
    assert properties["c"]["description"] == "Annotated Field."
    assert properties["d"]["description"] == "Default Field."
    address = prop(Address)
    assert address["description"] == "A postal address."
    assert properties["e"] == {
        "anyOf": [address, {"type": "null"}],
        "description": "Docstring e.",
        "default": None,
    }
    assert properties["undocumented"] == {"anyOf": [address, {"type": "null"}], "default": None}


def test_description_on_a_reference_keeps_only_the_reference() -> None:
    def f(node: Node) -> None:
        """Doc.

        Args:
            node: The tree.
        """

    assert function_schema(f).parameters["properties"]["node"] == {
        "$ref": "#/$defs/Node",
        "description": "The tree.",
    }


def test_no_titles_and_no_empty_descriptions() -> None:
    def f(a: Contact, b: Annotated[str, "  "], c: Movie, d: Node, e: Point) -> None:
        """ """

    tool = Tool(f)
    for dialect in ("standard", "openai-strict", "gemini"):
        keywords = list(_keywords(tool.openai_tool(dialect)["function"]["parameters"]))
        assert "title" not in [key for key, _ in keywords]
        assert all(value.strip() for key, value in keywords if key == "description")


def _keywords(node: Any) -> Any:
    """Every (keyword, value) of a schema, property names aside."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            if key in ("properties", "$defs"):
                for sub in value.values():
                    yield from _keywords(sub)
            elif key not in ("enum", "const", "default", "examples"):
                yield from _keywords(value)
    elif isinstance(node, list):
        for item in node:
            yield from _keywords(item)


def test_annotation_description() -> None:
    assert annotation_description(int) is None
    assert annotation_description(Annotated[int, 3]) is None
    assert annotation_description(Annotated[int, " a ", Field(description="b"), Field()]) == "a b"


def test_run_context_first_parameter_is_left_out() -> None:
    def with_ctx(ctx: RunContext[None], city: str) -> str:
        return city

    def bare_ctx(ctx: RunContext, city: str) -> str:  # type: ignore[type-arg]
        return city

    for func in (with_ctx, bare_ctx):
        schema = function_schema(func)
        assert schema.takes_ctx
        assert list(schema.parameters["properties"]) == ["city"]
    assert not function_schema(test_annotation_description).takes_ctx


def test_run_context_with_a_locally_defined_deps_type() -> None:
    namespace: dict[str, Any] = {}
    exec(
        "from __future__ import annotations\n"
        "from agentkit.context import RunContext\n"
        "def make():\n"
        "    class LocalDeps: ...\n"
        "    def greet(ctx: RunContext[LocalDeps], name: str) -> str:\n"
        "        return name\n"
        "    def broken(ctx: RunContext[None], name: LocalDeps) -> str:\n"
        "        return name\n"
        "    def hopeless(ctx: RunContext[None], name: 'not valid python') -> str:\n"
        "        return name\n"
        "    return greet, broken, hopeless\n",
        namespace,
    )
    greet, broken, hopeless = namespace["make"]()
    schema = function_schema(greet)
    assert schema.takes_ctx
    assert schema.parameters["properties"] == {"name": {"type": "string"}}
    with pytest.raises(
        UserError, match=r"broken: the annotation of parameter 'name' cannot be resolved \(name 'LocalDeps'"
    ):
        function_schema(broken)
    with pytest.raises(
        UserError, match=r"hopeless: parameter 'name' .* unresolved forward reference 'not valid python'"
    ):
        function_schema(hopeless)
    hopeless.__annotations__["name"] = "not valid python"
    with pytest.raises(
        UserError, match=r"hopeless: the annotation of parameter 'name' cannot be resolved \(invalid syntax"
    ):
        function_schema(hopeless)


class Service:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def method(self, n: int) -> int:
        """Record n.

        Args:
            n: The number.
        """
        self.calls.append(n)
        return n

    @classmethod
    def build(cls, size: int) -> str:
        return cls.__name__ * size


def test_methods_never_show_self_or_cls() -> None:
    assert list(function_schema(Service().method).parameters["properties"]) == ["n"]
    assert list(function_schema(Service.method).parameters["properties"]) == ["n"]
    assert list(function_schema(Service.build).parameters["properties"]) == ["size"]


def test_partial_and_callable_object() -> None:
    def add(a: int, b: int) -> int:
        """Add two numbers.

        Args:
            a: The first.
            b: The second.
        """
        return a + b

    schema = function_schema(functools.partial(add, 1))
    assert (schema.name, schema.description) == ("add", "Add two numbers.")
    assert schema.parameters["properties"] == {"b": {"type": "integer", "description": "The second."}}

    class Greeter:
        """Greets people.

        Args:
            name: Who to greet.
        """

        def __call__(self, name: str) -> str:
            return name

    class Documented:
        """The class."""

        async def __call__(self, name: str) -> str:
            """The call.

            Args:
                name: Who.
            """
            return name

    greeter = function_schema(Greeter())
    assert (greeter.name, greeter.description, greeter.is_async) == ("Greeter", "Greets people.", False)
    assert greeter.parameters["properties"] == {"name": {"type": "string", "description": "Who to greet."}}
    documented = function_schema(Documented())
    assert (documented.description, documented.is_async) == ("The call.", True)


def test_async_detection() -> None:
    async def fetch(url: str) -> str:
        return url

    assert function_schema(fetch).is_async
    assert function_schema(functools.partial(fetch)).is_async
    assert not function_schema(test_async_detection).is_async


def test_schema_is_cached_per_function_name_and_description() -> None:
    def f(a: int) -> int:
        return a

    assert function_schema(f) is function_schema(f)
    assert function_schema(f, name="g") is function_schema(f, name="g")
    assert function_schema(f, name="g") is not function_schema(f)
    assert function_schema(f, description="d").description == "d"

    class Slotted:
        __slots__ = ()

        def __call__(self, a: int) -> int:
            return a

    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self, a: int) -> int:
            return a

    for func in (Slotted(), Unhashable()):
        first = function_schema(func)
        assert first is not function_schema(func)  # not cacheable, but still described
        assert first.parameters == function_schema(func).parameters


def _var_positional(*args: int) -> None: ...


def _var_keyword(**kwargs: int) -> None: ...


def _positional_only(a: int, /) -> None: ...


def _missing_annotation(a) -> None:  # type: ignore[no-untyped-def]
    ...


def _context_not_first(a: int, ctx: RunContext[None]) -> None: ...


def _unsupported_class(a: NotAModel) -> None: ...


def _int_keys(a: dict[int, str]) -> None: ...


def _callable_param(a: collections.abc.Callable[[int], int]) -> None: ...


T = typing.TypeVar("T")


def _type_var(a: T) -> None: ...  # type: ignore[type-var]


def _unknown_name(a: Undefined) -> None: ...  # type: ignore[name-defined]  # noqa: F821


@pytest.mark.parametrize(
    ("func", "message"),
    [
        (_var_positional, r"Tool _var_positional: \*args is not supported"),
        (_var_keyword, r"Tool _var_keyword: \*\*kwargs is not supported"),
        (_positional_only, r"Tool _positional_only: parameter 'a' is positional-only"),
        (
            _missing_annotation,
            r"Tool _missing_annotation: parameter 'a' has no type annotation. Annotate it \(use `typing.Any`",
        ),
        (_context_not_first, r"Tool _context_not_first: RunContext must be the first parameter, not 'ctx'"),
        (_unsupported_class, r"Tool _unsupported_class: parameter 'a' has an unsupported type: .*NotAModel"),
        (_int_keys, r"Tool _int_keys: parameter 'a' has an unsupported type: dict keys must be str"),
        (_callable_param, r"Tool _callable_param: parameter 'a' has an unsupported type: .*Callable"),
        (_type_var, r"Tool _type_var: parameter 'a' has an unsupported type: type variable ~T"),
        (
            _unknown_name,
            r"Tool _unknown_name: the annotation of parameter 'a' cannot be resolved \(name 'Undefined'",
        ),
        (max, r"Cannot read the signature of tool function max: no signature found"),
    ],
    ids=lambda v: getattr(v, "__name__", "message"),
)
def test_definition_errors_name_the_function_and_parameter(func: Any, message: str) -> None:
    with pytest.raises(UserError, match=message):
        function_schema(func)


def test_builder_rejects_unresolved_forward_references() -> None:
    for annotation in ("Later", typing.ForwardRef("Later")):
        with pytest.raises(UnsupportedType, match="unresolved forward reference"):
            SchemaBuilder().build(annotation)


def test_parameter_names_that_pydantic_reserves() -> None:
    def f(
        json: str, schema: int, model_config: bool, _private: float, model_dump: str = "d", copy: int = 1
    ) -> None: ...

    fs = function_schema(f)
    assert list(fs.parameters["properties"]) == [
        "json",
        "schema",
        "model_config",
        "_private",
        "model_dump",
        "copy",
    ]
    arguments = {"json": "j", "schema": 1, "model_config": True, "_private": 1.5}
    assert fs.validate(arguments) == {**arguments, "model_dump": "d", "copy": 1}


def test_extra_config_on_a_model_is_kept() -> None:
    class Open(BaseModel):
        model_config = ConfigDict(extra="allow")
        a: int

    assert prop(Open)["additionalProperties"] is True
