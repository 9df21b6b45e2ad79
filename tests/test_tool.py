"""`@tool` and `Tool`: definition, calling, validation with errors written for the model, raw schemas."""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from typing import Any, Optional, Union

import pytest
from pydantic import BaseModel, ConfigDict

from agentkit._schema.function import MAX_PROBLEMS
from agentkit.context import RunContext
from agentkit.exceptions import ToolArgumentsError, UserError
from agentkit.tool import Tool, ToolDefinition, tool


def search_docs(query: str, limit: int = 5, include_archived: bool = False) -> list[str]:
    """Search the documentation.

    Args:
        query: What to look for.
        limit: The most results to return.
        include_archived: Whether to search archived pages too.
    """
    return [f"{query}:{limit}:{include_archived}"]


SEARCH_PARAMETERS = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "description": "What to look for."},
        "limit": {"type": "integer", "description": "The most results to return.", "default": 5},
        "include_archived": {
            "type": "boolean",
            "description": "Whether to search archived pages too.",
            "default": False,
        },
    },
    "required": ["query"],
    "additionalProperties": False,
}


def test_bare_decorator() -> None:
    t = tool(search_docs)
    assert isinstance(t, Tool)
    assert (t.name, t.description) == ("search_docs", "Search the documentation.")
    assert t.parameters == SEARCH_PARAMETERS
    assert (t.retries, t.sequential, t.timeout, t.strict, t.takes_ctx) == (None, False, None, None, False)
    assert t("x", limit=2) == ["x:2:False"]
    assert repr(t) == "Tool(name='search_docs')"


def test_decorator_with_options() -> None:
    @tool(name="find", description="Find pages.", retries=2, sequential=True, timeout=1.5, strict=False)
    def search(query: str) -> str:
        """Ignored docstring."""
        return query

    assert (search.name, search.description) == ("find", "Find pages.")
    assert (search.retries, search.sequential, search.timeout, search.strict) == (2, True, 1.5, False)
    assert search("q") == "q"
    assert tool()(search_docs).name == "search_docs"


def test_tool_keeps_the_function_identity() -> None:
    t = tool(search_docs)
    assert t.__name__ == "search_docs"
    assert t.__doc__ == search_docs.__doc__
    assert t.__wrapped__ is search_docs  # type: ignore[attr-defined]
    assert str(inspect.signature(t)) == str(inspect.signature(search_docs))
    assert Tool(t).function is search_docs


def test_function_attributes_do_not_clobber_tool_attributes() -> None:
    def f(a: int) -> int:
        return a

    f.name = "shadow"  # type: ignore[attr-defined]
    f.description = "shadow"  # type: ignore[attr-defined]
    t = tool(f)
    assert (t.name, t.description) == ("f", "")


async def test_async_function_stays_async() -> None:
    @tool
    async def fetch(url: str) -> str:
        """Fetch a page."""
        await asyncio.sleep(0)
        return url

    assert inspect.iscoroutinefunction(fetch.function)
    assert await fetch("u") == "u"
    assert await fetch.call({"url": "v"}) == "v"


async def test_sync_function_runs_in_a_worker_thread() -> None:
    @tool
    def where() -> str:
        return threading.current_thread().name

    assert await where.call({}) != threading.current_thread().name


async def test_sync_function_returning_an_awaitable() -> None:
    async def later() -> int:
        return 7

    @tool
    def deferred() -> Any:
        return later()

    assert await deferred.call({}) == 7


async def test_run_context_is_passed_first() -> None:
    @tool
    def greet(ctx: RunContext[str], name: str) -> str:
        return f"{ctx.deps} {name}"

    assert greet.takes_ctx
    assert list(greet.parameters["properties"]) == ["name"]
    assert await greet.call({"name": "Ada"}, RunContext(deps="Hello")) == "Hello Ada"


class Counter:
    def __init__(self, start: int) -> None:
        self.value = start

    @tool
    def add(self, amount: int) -> int:
        """Add to the counter.

        Args:
            amount: How much to add.
        """
        self.value += amount
        return self.value

    @tool(name="peek")
    async def current(self, ctx: RunContext[None]) -> int:
        """The current value."""
        return self.value


async def test_methods_bind_to_their_instance() -> None:
    counter = Counter(10)
    bound = counter.add
    assert isinstance(bound, Tool)
    assert Counter.add.parameters == bound.parameters
    assert bound.parameters["properties"] == {
        "amount": {"type": "integer", "description": "How much to add."}
    }
    assert bound(1) == 11
    assert await bound.call(bound.validate_arguments('{"amount": 4}')) == 15
    assert bound.openai_tool() is Counter.add.openai_tool()
    assert str(inspect.signature(bound)) == "(amount: 'int') -> 'int'"
    peek = counter.current
    assert (peek.name, peek.takes_ctx, peek.parameters["properties"]) == ("peek", True, {})
    assert await peek.call({}, RunContext(deps=None)) == 15


def test_tool_of_a_callable_without_descriptor() -> None:
    class Adder:
        def __call__(self, a: int) -> int:
            return a + 1

    class Holder:
        adder = Tool(Adder())

    assert Holder().adder is Holder.adder
    assert Holder().adder(1) == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "has space"}, r"Tool name 'has space' is not allowed.*Pass `@tool\(name=...\)`"),
        ({"name": "9lives"}, "Tool name '9lives' is not allowed"),
        ({"name": "x" * 65}, "is not allowed"),
        ({"retries": -1}, "Tool 'search_docs': retries must be >= 0, not -1"),
        ({"timeout": 0}, "Tool 'search_docs': timeout must be a positive number of seconds, not 0"),
    ],
)
def test_invalid_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError, match=message):
        tool(**options)(search_docs)


def test_lambda_needs_a_name() -> None:
    with pytest.raises(UserError, match="'<lambda>' is not allowed"):
        Tool(lambda: None)
    assert Tool(lambda: None, name="noop").name == "noop"


def test_definition_and_openai_tool() -> None:
    t = tool(search_docs)
    assert t.definition == ToolDefinition(
        name="search_docs", description="Search the documentation.", parameters=SEARCH_PARAMETERS
    )
    assert t.openai_tool() == {
        "type": "function",
        "function": {
            "name": "search_docs",
            "description": "Search the documentation.",
            "parameters": SEARCH_PARAMETERS,
        },
    }
    strict = t.openai_tool("openai-strict")["function"]
    assert strict["strict"] is True
    assert strict["parameters"]["required"] == ["query", "limit", "include_archived"]
    gemini = t.openai_tool("gemini")["function"]["parameters"]
    assert gemini == {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to look for."},
            "limit": {"type": "integer", "description": "The most results to return.", "default": 5},
            "include_archived": {
                "type": "boolean",
                "description": "Whether to search archived pages too.",
                "default": False,
            },
        },
        "required": ["query"],
    }
    with pytest.raises(UserError, match="Unknown schema dialect"):
        t.openai_tool("anthropic")  # type: ignore[arg-type]


def test_schemas_are_built_once_and_shared() -> None:
    first, second = Tool(search_docs), Tool(search_docs)
    assert first.parameters is second.parameters
    for dialect in ("standard", "openai-strict", "gemini"):
        assert first.openai_tool(dialect) is second.openai_tool(dialect)  # type: ignore[arg-type]
    assert Tool(search_docs, strict=False).openai_tool("openai-strict") is not first.openai_tool(
        "openai-strict"
    )
    assert Tool(search_docs, name="other").parameters is not first.parameters


def test_definition_is_cached_and_follows_changes() -> None:
    t = Tool(search_docs)
    assert t.definition is t.definition
    assert t.definition.openai_tool("gemini") is t.openai_tool("gemini")  # what the agent loop sends
    assert Tool(search_docs).definition.openai_tool("gemini") is t.openai_tool("gemini")
    t.description = "Changed."
    assert t.definition.description == "Changed."
    assert t.openai_tool()["function"]["description"] == "Changed."
    assert Tool(search_docs).openai_tool()["function"]["description"] == "Search the documentation."
    t.parameters = {"type": "object", "properties": {}}
    assert "parameters" not in t.openai_tool("gemini")["function"]


def test_openai_tool_json_is_compact_and_deterministic() -> None:
    text = tool(search_docs).openai_tool_json("gemini")
    assert text == json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
    namespace: dict[str, Any] = {}
    source = inspect.getsource(search_docs)
    exec(source, namespace)
    fresh = Tool(namespace["search_docs"])
    for dialect in ("standard", "openai-strict", "gemini"):
        assert fresh.openai_tool_json(dialect) == tool(search_docs).openai_tool_json(dialect)  # type: ignore[arg-type]


# --- validate_arguments -------------------------------------------------------------------------------


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street: str
    city: str


class Pet(BaseModel):
    name: str


class Plant(BaseModel):
    species: str


def register(
    name: str,
    age: int,
    address: Address,
    tags: list[str] = [],  # noqa: B006
    nickname: Optional[str] = None,
    score: float = 1.0,
    either: Union[int, bool] = 0,
    friend: Union[Pet, Plant, None] = None,
) -> str:
    return name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", {}),
        ("   ", {}),
        ("null", {}),
        (None, {}),
        ({}, {}),
        ("{}", {}),
        ('{"query": "x"}', {"query": "x"}),
        ({"query": "x"}, {"query": "x"}),
        (" null ", {}),
    ],
)
def test_raw_arguments(raw: Any, expected: dict[str, Any]) -> None:
    def f(query: str = "") -> str:
        return query

    assert tool(f).validate_arguments(raw) == {"query": expected.get("query", "")}


def test_arguments_are_typed_as_declared() -> None:
    t = tool(register)
    arguments = t.validate_arguments(
        '{"name": "Ann", "age": "41", "address": {"street": "s", "city": "c"}, "tags": ["a"], '
        '"friend": {"name": "Rex"}}'
    )
    assert arguments == {
        "name": "Ann",
        "age": 41,
        "address": Address(street="s", city="c"),
        "tags": ["a"],
        "nickname": None,
        "score": 1.0,
        "either": 0,
        "friend": Pet(name="Rex"),
    }


def test_null_for_an_optional_argument_means_its_default() -> None:
    t = tool(register)
    arguments = t.validate_arguments(
        {"name": "A", "age": 1, "address": {"street": "s", "city": "c"}, "score": None, "nickname": None}
    )
    assert (arguments["score"], arguments["nickname"]) == (1.0, None)


def _problems(t: Tool[..., Any], raw: Any) -> list[str]:
    with pytest.raises(ToolArgumentsError) as info:
        t.validate_arguments(raw)
    assert str(info.value).startswith(f"Invalid arguments for tool {t.name!r}:\n- ")
    assert str(info.value).count("\n") == len(info.value.problems)
    return info.value.problems


def test_errors_are_written_for_the_model() -> None:
    problems = _problems(
        tool(register),
        json.dumps(
            {
                "age": "old",
                "address": {"street": 5, "zip": "1"},
                "tags": ["ok", 3],
                "either": [],
                "friend": {"kind": "rock"},
                "unknown": 1,
            }
        ),
    )
    assert problems == [
        "$.name: Field required",
        '$.age: Input should be a valid integer, unable to parse string as an integer (got "old")',
        "$.address.street: Input should be a valid string (got 5)",
        "$.address.city: Field required",
        "$.address.zip: unexpected field; remove it",
        "$.tags[1]: Input should be a valid string (got 3)",
        "$.either: Input should be a valid integer, or a valid boolean (got [])",
        "$.friend.name: Field required",
        "$.friend.species: Field required",
        "$.unknown: unexpected argument; remove it",
    ]


def test_errors_quote_long_inputs_briefly() -> None:
    def f(n: int, odd: dict[str, int]) -> None: ...

    problems = _problems(tool(f), {"n": "x" * 500, "odd": {"a b": "c"}})
    assert (
        problems[0]
        == f'$.n: Input should be a valid integer, unable to parse string as an integer (got "{"x" * 56}...)'
    )
    assert (
        problems[1]
        == '$.odd["a b"]: Input should be a valid integer, unable to parse string as an integer (got "c")'
    )
    assert len(str(problems)) < 300


def test_errors_join_alternatives_and_drop_duplicates() -> None:
    def f(values: Union[list[int], set[int]], weird: int) -> None: ...

    circular: list[Any] = []
    circular.append(circular)
    assert _problems(tool(f), {"values": ["x"], "weird": circular}) == [
        '$.values[0]: Input should be a valid integer, unable to parse string as an integer (got "x")',
        "$.weird: Input should be a valid integer (got [[...]])",
    ]


def test_errors_are_capped() -> None:
    def f(numbers: list[int]) -> None: ...

    problems = _problems(tool(f), {"numbers": ["x"] * 50})
    assert len(problems) == MAX_PROBLEMS
    assert problems[-1] == f"... and {50 - MAX_PROBLEMS + 1} more problems"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ('{"query": ', '$: the arguments are not valid JSON (Expecting value at position 9): {"query":'),
        ("[1, 2]", "$: expected a JSON object of named arguments, got an array"),
        ('"text"', "$: expected a JSON object of named arguments, got a string"),
        ("3", "$: expected a JSON object of named arguments, got a number"),
        ("true", "$: expected a JSON object of named arguments, got a boolean"),
        ("{" + " " * 100 + "oops", "..."),
    ],
)
def test_arguments_that_are_not_an_object(raw: str, problem: str) -> None:
    problems = _problems(tool(search_docs), raw)
    assert problems[0].endswith(problem) if problem == "..." else problems == [problem]


def test_unknown_dialect_when_validating() -> None:
    with pytest.raises(UserError, match="Unknown schema dialect"):
        tool(search_docs).validate_arguments("{}", dialect="x")  # type: ignore[arg-type]


# --- Tool.from_schema ---------------------------------------------------------------------------------

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "The city."},
        "days": {"type": "integer", "minimum": 1, "default": 1},
        "units": {"enum": ["c", "f"]},
    },
    "required": ["city"],
    "additionalProperties": False,
}


async def test_from_schema() -> None:
    calls: list[dict[str, Any]] = []

    async def handler(**arguments: Any) -> str:
        calls.append(arguments)
        return "sunny"

    t = Tool.from_schema(
        handler,
        name="weather",
        description="Get the weather.",
        parameters=WEATHER_SCHEMA,
        retries=1,
        timeout=3,
    )
    assert (t.name, t.description, t.parameters, t.retries, t.timeout, t.takes_ctx) == (
        "weather",
        "Get the weather.",
        WEATHER_SCHEMA,
        1,
        3,
        False,
    )
    assert t.parameters is not WEATHER_SCHEMA  # a copy: later changes to the caller's dict do not leak in
    arguments = t.validate_arguments('{"city": "Oslo", "units": "c"}')
    assert await t.call(arguments) == "sunny"
    assert calls == [{"city": "Oslo", "units": "c"}]
    with pytest.raises(ToolArgumentsError) as info:
        t.validate_arguments({"days": 0, "units": "k", "extra": [1]})
    assert info.value.problems == [
        "$: 'city' is a required property",
        "$: Additional properties are not allowed ('extra' was unexpected)",
        "$.days: 0 is less than the minimum of 1",
        "$.units: 'k' is not one of ['c', 'f']",
    ]


async def test_from_schema_with_context_and_sync_function() -> None:
    def handler(ctx: RunContext[int], **arguments: Any) -> int:
        return ctx.deps + len(arguments)

    t = Tool.from_schema(handler, name="count", description="", parameters={"type": "object"}, takes_ctx=True)
    assert t.takes_ctx
    assert "description" not in t.openai_tool()["function"]
    assert await t.call(t.validate_arguments('{"a": 1, "b": 2}'), RunContext(deps=40)) == 42
    assert "parameters" not in t.openai_tool("gemini")["function"]


def test_from_schema_draft_07_and_long_messages() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"items": {"type": "array", "maxItems": 1}},
        "definitions": {"unused": {"type": "string"}},
    }
    t = Tool.from_schema(lambda **kw: kw, name="draft7", description="d", parameters=schema)
    with pytest.raises(ToolArgumentsError) as info:
        t.validate_arguments({"items": list(range(200))})
    assert len(info.value.problems[0]) < 220
    assert info.value.problems[0].endswith("...")


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"type": "object", "properties": {"a": {"type": "nonsense"}}},
            "not a valid JSON Schema at properties/a/type",
        ),
        ({"type": 3}, "not a valid JSON Schema at type: 3 is not valid"),
        (
            {"type": "object", "properties": 3},
            "not a valid JSON Schema at properties: 3 is not of type 'object'",
        ),
        ({"type": "object", "minProperties": -1}, "not a valid JSON Schema at minProperties"),
        ({"type": "array"}, "must describe an object"),
        (["not", "a", "dict"], "must be a JSON Schema object"),
        (
            {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}},
            "refers to '#/\\$defs/A', which it does not define",
        ),
        (
            {"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}},
            "only local references",
        ),
    ],
)
def test_from_schema_rejects_unusable_schemas(parameters: Any, message: str) -> None:
    with pytest.raises(UserError, match=message):
        Tool.from_schema(lambda **kw: kw, name="bad", description="", parameters=parameters)


def test_from_schema_name_rules() -> None:
    with pytest.raises(UserError, match=r"'server\.tool' is not allowed"):
        Tool.from_schema(lambda **kw: kw, name="server.tool", description="", parameters={"type": "object"})


def test_from_schema_ignores_refs_inside_data() -> None:
    schema = {"type": "object", "properties": {"a": {"const": {"$ref": "nowhere"}, "default": {"$ref": "x"}}}}
    t = Tool.from_schema(lambda **kw: kw, name="data", description="", parameters=schema)
    assert t.validate_arguments({"a": {"$ref": "nowhere"}}) == {"a": {"$ref": "nowhere"}}
