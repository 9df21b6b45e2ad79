"""benchmarks/bfcl_checker.py, the leaderboard's AST check written again, on hand-made items; and how
benchmarks/bfcl_sample.py turns an item's functions into tool definitions and a reply into calls. No network,
no model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bfcl_checker import check_item, standardize_string

from agentkit import AssistantMessage, ToolCall

AREA: dict[str, Any] = {
    "name": "geometry.area",
    "description": "Area of a rectangle.",
    "parameters": {
        "type": "dict",
        "properties": {
            "width": {"type": "float", "description": "Width."},
            "height": {"type": "integer", "description": "Height."},
            "unit": {"type": "string", "description": "Unit."},
            "exact": {"type": "boolean", "description": "Exact."},
        },
        "required": ["width", "height"],
    },
}
AREA_ANSWER: list[dict[str, Any]] = [
    {"geometry.area": {"width": [2.5], "height": [4], "unit": ["square metres", ""], "exact": ["", True]}}
]
WEATHER: dict[str, Any] = {
    "name": "weather",
    "description": "Weather in a city.",
    "parameters": {
        "type": "dict",
        "properties": {
            "city": {"type": "string", "description": "City."},
            "days": {"type": "array", "items": {"type": "string"}, "description": "Days."},
            "filters": {"type": "dict", "description": "Filters.", "properties": {}},
            "stops": {"type": "array", "items": {"type": "dict"}, "description": "Stops."},
        },
        "required": ["city"],
    },
}


def simple(arguments: dict[str, Any], name: str = "geometry.area") -> tuple[bool, str]:
    verdict = check_item("simple", [AREA], [{name: arguments}], AREA_ANSWER)
    return verdict.valid, verdict.kind


def weather(arguments: dict[str, Any], allowed: dict[str, Any]) -> tuple[bool, str]:
    verdict = check_item("simple", [WEATHER], [{"weather": arguments}], [{"weather": allowed}])
    return verdict.valid, verdict.kind


def test_a_right_call_passes_and_optional_parameters_may_be_left_out() -> None:
    assert simple({"width": 2.5, "height": 4}) == (True, "")
    assert simple({"width": 2.5, "height": 4, "unit": "Square-Metres", "exact": True}) == (True, "")


def test_an_int_is_taken_for_a_float_but_not_a_float_or_a_bool_for_an_int() -> None:
    answer = [{"geometry.area": {"width": [3.0], "height": [4]}}]
    assert check_item("simple", [AREA], [{"geometry.area": {"width": 3, "height": 4}}], answer).valid
    assert simple({"width": 2.5, "height": 4.0}) == (False, "type_error")
    assert simple({"width": 2.5, "height": True}) == (False, "type_error")


@pytest.mark.parametrize(
    ("arguments", "kind"),
    [
        ({"width": 2.5}, "missing_required"),
        ({"width": 2.5, "height": 4, "colour": "red"}, "unexpected_param"),
        ({"width": 2.5, "height": 5}, "value_error:others"),
        ({"width": 2.5, "height": 4, "unit": "feet"}, "value_error:string"),
    ],
)
def test_a_wrong_call_fails_with_the_leaderboards_error_kind(arguments: dict[str, Any], kind: str) -> None:
    assert simple(arguments) == (False, kind)


def test_a_parameter_the_answer_lists_without_an_empty_option_must_be_given() -> None:
    answer = [{"geometry.area": {"width": [2.5], "height": [4], "unit": ["metres"]}}]
    verdict = check_item("simple", [AREA], [{"geometry.area": {"width": 2.5, "height": 4}}], answer)
    assert (verdict.valid, verdict.kind) == (False, "missing_optional")


def test_the_wrong_function_or_the_wrong_number_of_calls_fails() -> None:
    assert simple({"width": 2.5, "height": 4}, name="geometry_area") == (False, "wrong_func_name")
    two = [{"geometry.area": {"width": 2.5, "height": 4}}] * 2
    assert check_item("simple", [AREA], two, AREA_ANSWER).kind == "simple:wrong_count"
    assert check_item("simple", [AREA], [], AREA_ANSWER).kind == "simple:wrong_count"


def test_strings_are_compared_after_bfcls_normalisation() -> None:
    assert standardize_string("New York, NY") == "newyorkny"
    assert standardize_string("it's 2-3 p.m.") == 'it"s23pm'
    assert weather({"city": "new york ny"}, {"city": ["New York, NY"]}) == (True, "")
    assert weather({"city": "Newark"}, {"city": ["New York, NY"]}) == (False, "value_error:string")


def test_a_value_of_the_answers_type_is_compared_as_it_is() -> None:
    """A variable name where the schema wants a number: BFCL compares it with the answer's strings."""
    answer = [{"geometry.area": {"width": ["w"], "height": [4]}}]
    assert check_item("simple", [AREA], [{"geometry.area": {"width": "w", "height": 4}}], answer).valid
    assert not check_item("simple", [AREA], [{"geometry.area": {"width": "x", "height": 4}}], answer).valid


def test_lists_are_compared_element_wise_in_order() -> None:
    allowed = {"city": ["Oslo"], "days": [["Monday", "Tuesday"]]}
    assert weather({"city": "Oslo", "days": ["monday", "TUESDAY"]}, allowed) == (True, "")
    assert weather({"city": "Oslo", "days": ["Tuesday", "Monday"]}, allowed) == (False, "value_error:list")
    assert weather({"city": "Oslo", "days": ["Monday", 3]}, allowed) == (False, "type_error")


def test_dicts_are_compared_key_by_key() -> None:
    allowed = {
        "city": ["Oslo"],
        "filters": [{"rain": [True], "wind": ["strong", "gale"], "sun": ["", False]}],
    }
    assert weather({"city": "Oslo", "filters": {"rain": True, "wind": "Gale"}}, allowed) == (True, "")
    assert weather({"city": "Oslo", "filters": {"rain": True}}, allowed) == (False, "value_error:dict_key")
    wrong = {"city": "Oslo", "filters": {"rain": True, "wind": "calm"}}
    assert weather(wrong, allowed) == (False, "value_error:dict_value")
    extra = {"city": "Oslo", "filters": {"rain": True, "wind": "gale", "fog": 1}}
    assert weather(extra, allowed) == (False, "value_error:dict_key")


def test_lists_of_dicts_are_compared_dict_by_dict() -> None:
    allowed = {"city": ["Oslo"], "stops": [[{"name": ["Bergen"]}, {"name": ["Voss"], "nights": [2, ""]}]]}
    good = {"city": "Oslo", "stops": [{"name": "bergen"}, {"name": "Voss", "nights": 2}]}
    assert weather(good, allowed) == (True, "")
    short = {"city": "Oslo", "stops": [{"name": "Bergen"}]}
    assert weather(short, allowed) == (False, "value_error:list_dict_count")
    swapped = {"city": "Oslo", "stops": [{"name": "Voss"}, {"name": "Bergen"}]}
    assert weather(swapped, allowed) == (False, "value_error:dict_value")


def test_multiple_checks_the_one_expected_function_among_several() -> None:
    answer = [{"weather": {"city": ["Oslo"]}}]
    assert check_item("multiple", [AREA, WEATHER], [{"weather": {"city": "Oslo"}}], answer).valid
    verdict = check_item("multiple", [AREA, WEATHER], [{"geometry.area": {"width": 1, "height": 1}}], answer)
    assert (verdict.valid, verdict.kind) == (False, "wrong_func_name")


def test_parallel_calls_match_in_any_order_with_the_same_count() -> None:
    answer: list[dict[str, Any]] = [
        {"weather": {"city": ["Oslo"]}},
        {"weather": {"city": ["Lima"]}},
        {"geometry.area": AREA_ANSWER[0]["geometry.area"]},
    ]
    calls: list[dict[str, Any]] = [
        {"geometry.area": {"width": 2.5, "height": 4}},
        {"weather": {"city": "Lima"}},
        {"weather": {"city": "Oslo"}},
    ]
    assert check_item("parallel_multiple", [AREA, WEATHER], calls, answer).valid
    assert (
        check_item("parallel_multiple", [AREA, WEATHER], calls[:2], answer).kind
        == "parallel_multiple:wrong_count"
    )
    twice = [calls[0], calls[1], calls[1]]
    verdict = check_item("parallel_multiple", [AREA, WEATHER], twice, answer)
    assert (verdict.valid, verdict.kind) == (False, "parallel_multiple:cannot_find_match")
    assert "Oslo" in verdict.reason


def test_irrelevance_passes_only_without_a_call() -> None:
    assert check_item("irrelevance", [AREA], [], None).valid
    verdict = check_item("irrelevance", [AREA], [{"geometry.area": {"width": 1, "height": 1}}], None)
    assert (verdict.valid, verdict.kind) == (False, "irrelevance:called")


def test_an_items_functions_become_tool_definitions_as_bfcl_sends_them() -> None:
    from bfcl_sample import PYTHON_HINT, tool_definitions

    function = {
        "name": "travel.plan",
        "description": "Plan a trip.",
        "parameters": {
            "type": "dict",
            "properties": {
                "budget": {"type": "float", "description": "Money.", "default": 100.0},
                "route": {"type": "tuple", "items": {"type": "string"}, "description": "Stops."},
                "extra": {"type": "any", "description": "Anything."},
                "prefs": {
                    "type": "dict",
                    "description": "Preferences.",
                    "properties": {"seat": {"type": "string", "enum": ["aisle", "window"]}},
                    "required": ["seat"],
                },
                "odd": {"type": "HashSet", "description": "Unknown type."},
            },
            "required": ["route"],
        },
    }
    [definition], names = tool_definitions([function])
    assert definition.name == "travel_plan" and names == {"travel_plan": "travel.plan"}
    assert definition.description == "Plan a trip." + PYTHON_HINT
    assert definition.parameters == {
        "type": "object",
        "properties": {
            "budget": {
                "description": "Money. This is a float type value.",
                "default": 100.0,
                "type": "number",
            },
            "route": {"description": "Stops.", "type": "array", "items": {"type": "string"}},
            "extra": {"description": "Anything."},
            "prefs": {
                "description": "Preferences.",
                "type": "object",
                "properties": {"seat": {"enum": ["aisle", "window"], "type": "string"}},
                "required": ["seat"],
            },
            "odd": {"description": "Unknown type.", "type": "string"},
        },
        "required": ["route"],
    }
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(definition.parameters)


def test_a_replys_calls_are_read_back_under_bfcls_names() -> None:
    from bfcl_sample import calls_of

    reply = AssistantMessage(
        tool_calls=[
            ToolCall(id="1", name="travel_plan", arguments='{"route": ["a", "b"]}'),
            ToolCall(id="2", name="weather", arguments="not json"),
        ]
    )
    calls, notes = calls_of(reply, {"travel_plan": "travel.plan", "weather": "weather"})
    assert calls == [{"travel.plan": {"route": ["a", "b"]}}, {"weather": {}}]
    assert notes == ["weather: arguments not a JSON object: 'not json'"]


ITEM: dict[str, Any] = {
    "id": "parallel_0",
    "question": [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Area of 2.5 by 4, twice."}]
    ],
    "function": [AREA],
    "possible_answer": [AREA_ANSWER[0], AREA_ANSWER[0]],
}


async def test_an_item_is_one_request_whose_calls_are_scored() -> None:
    """`run_item` sends the item's turn and tools through the model's `request` and scores the reply."""
    from bfcl_sample import PYTHON_HINT, run_item

    from agentkit import Message
    from agentkit.testing import FunctionModel, RequestInfo, tool_calls_response

    seen: list[tuple[list[Message], RequestInfo]] = []

    def reply(messages: list[Message], info: RequestInfo) -> AssistantMessage:
        seen.append((messages, info))
        return tool_calls_response([("geometry_area", {"width": 2.5, "height": 4})] * 2)

    result = await run_item(FunctionModel(reply), "parallel", ITEM)  # type: ignore[arg-type]
    assert (result.passed, result.calls) == (True, [{"geometry.area": {"width": 2.5, "height": 4}}] * 2)
    [(messages, info)] = seen
    assert [(m.role, m.content) for m in messages] == [
        ("system", "Be brief."),
        ("user", "Area of 2.5 by 4, twice."),
    ]
    assert [(t.name, t.description) for t in info.parameters.tools] == [
        ("geometry_area", "Area of a rectangle." + PYTHON_HINT)
    ]
    assert info.parameters.tool_choice is None and info.settings.max_tokens is None


async def test_a_request_that_fails_fails_its_item() -> None:
    from bfcl_sample import run_item

    from agentkit import ModelAPIError
    from agentkit.testing import FunctionModel

    def timeout(messages: Any, info: Any) -> AssistantMessage:
        raise ModelAPIError("Request to local timed out.", status_code=None)

    result = await run_item(FunctionModel(timeout), "irrelevance", {**ITEM, "possible_answer": None})  # type: ignore[arg-type]
    assert (result.passed, result.kind, result.calls) == (False, "error", [])
    assert result.reason.startswith("ModelAPIError: Request to local timed out.")


def test_a_completions_text_is_its_first_choices_content() -> None:
    from bfcl_sample import reply_text

    assert reply_text({"choices": [{"message": {"role": "assistant", "content": "4"}}]}) == "4"
    assert reply_text({"choices": [{"message": {"role": "assistant", "content": None}}]}) == ""
    assert reply_text({"error": {"message": "busy"}}) == ""
