"""Prompted tool calling: rendering tools and results into the prompt, parsing calls out of reply text."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import (
    Agent,
    AssistantMessage,
    ImagePart,
    ModelSettings,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
    tool,
)
from agentkit.local.policy import LOCAL, RunPolicy
from agentkit.models import ModelRequestParameters
from agentkit.models._chat_format import build_request
from agentkit.models._prompted import (
    DEFAULT_SYSTEM,
    call_json,
    last_question,
    parse_tool_calls,
    render_messages,
    results_reminder,
    system_prompt,
)
from agentkit.models.openai import OpenAIChatModel
from agentkit.models.profiles import ModelProfile
from agentkit.testing import LoopbackServer, tool_call_response, tool_calls_response

PROMPTED = ModelProfile(family="test", tool_calling="prompted", results_reminder=True)
NAMES = ["get_weather", "add", "final_result"]


@tool
def get_weather(city: str) -> str:
    """Current weather in a city.

    Args:
        city: City name.
    """
    return f"{city}: 3°C, light snow"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def ping() -> str:
    """Answer pong."""
    return "pong"


def calls(text: str, taken: list[str] | None = None) -> list[tuple[str, dict[str, Any] | str]]:
    reply = parse_tool_calls(text, NAMES, taken or [])
    out: list[tuple[str, dict[str, Any] | str]] = []
    for call in reply.calls:
        try:
            out.append((call.name, json.loads(call.arguments)))
        except ValueError:
            out.append((call.name, call.arguments))
    return out


# -- parsing -----------------------------------------------------------------------------------------------


def test_bare_json_object() -> None:
    reply = parse_tool_calls('{"name": "get_weather", "arguments": {"city": "Oslo"}}', NAMES)
    assert [(c.id, c.name, c.arguments) for c in reply.calls] == [
        ("call_1", "get_weather", '{"city": "Oslo"}')
    ]
    assert reply.text == "" and reply.preamble == ""


def test_several_objects_one_per_line() -> None:
    text = '{"name": "get_weather", "arguments": {"city": "Oslo"}}\n{"name": "add", "arguments": {"a": 1, "b": 2}}'
    assert calls(text) == [("get_weather", {"city": "Oslo"}), ("add", {"a": 1, "b": 2})]


def test_json_list_of_calls() -> None:
    text = '[{"name": "add", "arguments": {"a": 1, "b": 2}}, {"name": "add", "arguments": {"a": 3, "b": 4}}]'
    reply = parse_tool_calls(text, NAMES)
    assert [c.arguments for c in reply.calls] == ['{"a": 1, "b": 2}', '{"a": 3, "b": 4}']
    assert reply.text == ""  # the list's brackets and commas are not text


def test_code_fence_with_prose() -> None:
    text = 'Let me check.\n```json\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n```'
    reply = parse_tool_calls(text, NAMES)
    assert calls(text) == [("get_weather", {"city": "Oslo"})]
    assert reply.preamble == "Let me check." and reply.text == "Let me check."


def test_tool_call_tags() -> None:
    text = (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>'
    )
    reply = parse_tool_calls(text, NAMES)
    assert calls(text) == [("get_weather", {"city": "Oslo"}), ("get_weather", {"city": "Rome"})]
    assert reply.text == ""


def test_openai_style_wrapper_with_string_arguments() -> None:
    text = json.dumps({"type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}})
    reply = parse_tool_calls(text, NAMES)
    assert calls(text) == [("add", {"a": 1, "b": 2})]
    assert reply.text == ""


@pytest.mark.parametrize("key", ["parameters", "args", "input"])
def test_other_argument_keys(key: str) -> None:
    assert calls(json.dumps({"name": "add", key: {"a": 1, "b": 2}})) == [("add", {"a": 1, "b": 2})]


def test_tool_key_for_the_name() -> None:
    assert calls('{"tool": "add", "arguments": {"a": 1, "b": 2}}') == [("add", {"a": 1, "b": 2})]


def test_known_tool_without_arguments() -> None:
    assert calls('{"name": "get_weather"}') == [("get_weather", {})]
    assert calls('{"name": "get_weather", "arguments": null}') == [("get_weather", {})]
    assert calls('{"name": "get_weather", "arguments": ""}') == [("get_weather", {})]


def test_objects_that_are_not_calls_stay_text() -> None:
    for text in (
        '{"name": "Omar Haddad", "department": "Research"}',  # an answer with a name field
        '{"name": "", "arguments": {}}',
        '{"name": 5, "arguments": {}}',
        '{"function": 1}',
        "Use {'a': 1} as the dict.",
        "I cannot {do that",
        '{"name": get_weather}',
        "",
    ):
        reply = parse_tool_calls(text, NAMES)
        assert reply.calls == [] and reply.text == text and reply.preamble == text


def test_python_style_quotes_and_literals() -> None:
    text = "{'name': 'add', 'arguments': {'a': 1, 'b': 2, 'exact': True, 'note': None}}"
    assert calls(text) == [("add", {"a": 1, "b": 2, "exact": True, "note": None})]


def test_trailing_commas_repaired() -> None:
    assert calls('{"name": "add", "arguments": {"a": 1, "b": 2,},}') == [("add", {"a": 1, "b": 2})]


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "get_weather", "arguments": {"city": "Oslo"}',
        '{"name": "get_weather", "arguments": {"city": "Oslo',
        '{"name": "get_weather", "arguments": {"city": "Oslo",',
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}\n</tool_call>',
        '{"name": "get_weather", "arguments": {"city": "Oslo"}\n\nThe weather is nice.',
    ],
)
def test_json_cut_short_is_closed(text: str) -> None:
    assert calls(text) == [("get_weather", {"city": "Oslo"})]


def test_escaped_quotes_and_braces_inside_strings() -> None:
    text = r'{"name": "get_weather", "arguments": {"city": "a \"quoted\" } name"}}'
    assert calls(text) == [("get_weather", {"city": 'a "quoted" } name'})]
    cut = r'{"name": "get_weather", "arguments": {"city": "a \"quoted\" {'
    assert calls(cut) == [("get_weather", {"city": 'a "quoted" {'})]


def test_unparsable_arguments_string_is_kept_for_the_loop_to_report() -> None:
    assert calls('{"name": "add", "arguments": "a=1, b=2"}') == [("add", "a=1, b=2")]


def test_text_after_a_call_is_not_the_preamble() -> None:
    text = 'I will look.\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\nIt is surely sunny.'
    reply = parse_tool_calls(text, NAMES)
    assert reply.preamble == "I will look."
    assert reply.text == "I will look.\n\nIt is surely sunny."


def test_ids_unique_and_not_taken() -> None:
    text = '{"name": "add", "arguments": {"a": 1, "b": 2}}\n{"name": "add", "arguments": {"a": 1, "b": 2}}'
    reply = parse_tool_calls(text, NAMES, ["call_3", "x"])
    ids = [c.id for c in reply.calls]
    assert len(set(ids)) == 2 and not set(ids) & {"call_3", "x"}
    assert ids == ["call_4", "call_5"]


def test_call_json_round_trip() -> None:
    assert (
        call_json(ToolCall(id="1", name="add", arguments='{"a": 1}'))
        == '{"name": "add", "arguments": {"a": 1}}'
    )
    assert call_json(ToolCall(id="1", name="ping", arguments="")) == '{"name": "ping", "arguments": {}}'
    assert call_json(ToolCall(id="1", name="add", arguments="a=1")) == '{"name": "add", "arguments": "a=1"}'


# -- rendering ---------------------------------------------------------------------------------------------

TOOLS = [get_weather.definition, add.definition]


def transcript() -> list[Any]:
    return [
        SystemMessage(content="Be brief."),
        UserMessage(content="Weather in Oslo, and 1 + 2?"),
        AssistantMessage(
            content="Checking.",
            tool_calls=[
                ToolCall(id="a", name="get_weather", arguments='{"city": "Oslo"}'),
                ToolCall(id="b", name="add", arguments='{"a": 1, "b": "x"}'),
                ToolCall(id="c", name="add", arguments='{"a": 1, "b": 2}'),
            ],
        ),
        ToolMessage(tool_call_id="a", name="get_weather", content="Oslo: 3°C, light snow"),
        ToolMessage(tool_call_id="b", name="add", content="b: not an integer", is_error=True),
        ToolMessage(tool_call_id="zzz", name="add", content="answers no call"),
    ]


def test_system_prompt_lists_every_tool_schema() -> None:
    text = system_prompt("Be brief.", TOOLS, PROMPTED)
    assert text.startswith("Be brief.\n\n# Tools")
    for definition in TOOLS:
        line = json.dumps(
            {
                "name": definition.name,
                "description": definition.description,
                "parameters": definition.parameters,
            },
            ensure_ascii=False,
        )
        assert line in text
    assert '{"name": "<tool name>", "arguments":' in text
    assert system_prompt(None, TOOLS, PROMPTED).startswith(DEFAULT_SYSTEM)


def test_system_prompt_in_the_profiles_dialect() -> None:
    strict = dataclasses.replace(PROMPTED, schema_dialect="openai-strict")
    assert '"strict"' not in system_prompt(None, [add.definition], strict)
    gemini = dataclasses.replace(PROMPTED, schema_dialect="gemini")
    text = system_prompt(None, [ping.definition], gemini)  # Gemini drops an empty parameters object
    assert (
        '{"name": "ping", "description": "Answer pong.", "parameters": {"type": "object", "properties": {}}}'
        in text
    )


def test_render_calls_as_json_and_results_with_their_calls() -> None:
    system, user, assistant, results = render_messages(transcript(), TOOLS, PROMPTED)
    assert isinstance(system, SystemMessage) and system.content.startswith("Be brief.\n\n# Tools")
    assert user == UserMessage(content="Weather in Oslo, and 1 + 2?")
    assert assistant == AssistantMessage(  # text written before the results ("Checking.") is left out
        content='{"name": "get_weather", "arguments": {"city": "Oslo"}}\n'
        '{"name": "add", "arguments": {"a": 1, "b": "x"}}\n{"name": "add", "arguments": {"a": 1, "b": 2}}'
    )
    assert isinstance(results, UserMessage)
    assert results.content == (
        "Tool results:\n\n"
        '{"name": "get_weather", "arguments": {"city": "Oslo"}}\nResult: Oslo: 3°C, light snow\n\n'
        '{"name": "add", "arguments": {"a": 1, "b": "x"}}\nError: b: not an integer\n\n'
        '{"name": "add", "arguments": {"a": 1, "b": 2}}\nNo result: this call was not executed.\n\n'
        'The question was: "Weather in Oslo, and 1 + 2?"\n'
        "Next step: the call below gave no result yet. Make it now, with the values from the results in place "
        "of any `?`, and reply with only its JSON object. (If the results already answer the whole question, "
        'answer instead.)\n{"name": "add", "arguments": {"a": 1, "b": "x"}}'
    )


def test_only_the_latest_results_get_the_reminder() -> None:
    messages = [
        *transcript(),
        AssistantMessage(content="It snows in Oslo."),
        UserMessage(content="And in Rome?"),
        AssistantMessage(tool_calls=[ToolCall(id="d", name="get_weather", arguments='{"city": "Rome"}')]),
        ToolMessage(tool_call_id="d", name="get_weather", content="Rome: 14°C"),
    ]
    out = render_messages(messages, TOOLS, PROMPTED)
    texts = [m.content for m in out if isinstance(m, UserMessage)]
    assert "The question was" not in texts[1]
    assert texts[3].endswith('The question was: "And in Rome?"\n' + results_reminder([], NAMES, None))
    assert out[4] == AssistantMessage(content="It snows in Oslo.")
    assert not any(isinstance(m, ToolMessage) for m in out)
    assert not any(isinstance(m, AssistantMessage) and m.tool_calls for m in out)


def test_reminder_follows_the_tool_choice() -> None:
    asked = [UserMessage(content="Q?")]
    assert results_reminder(asked, NAMES, "none") == (
        'The question was: "Q?"\nAnswer it now in plain text, using these results. Do not call a tool.'
    )
    assert "by calling final_result" in results_reminder(asked, NAMES, "required")
    assert "by calling a tool" in results_reminder(asked, ["add"], "required")
    assert results_reminder([UserMessage(content=" ")], NAMES, "auto").startswith(
        "If these results answer all of it"
    )


def question_then(*turn: AssistantMessage | ToolMessage) -> list[Any]:
    return [UserMessage(content="Salary of Ann in EUR?"), *turn]


ERROR = ToolMessage(tool_call_id="c1", name="convert", content="Not run: 90000 is made up", is_error=True)
CONVERT = AssistantMessage(
    tool_calls=[
        ToolCall(id="c1", name="convert", arguments='{"amount": 90000, "to": "EUR", "note": "90000 $"}')
    ]
)
LOOKUP = AssistantMessage(tool_calls=[ToolCall(id="c2", name="employee", arguments='{"name": "Ann"}')])
FOUND = ToolMessage(tool_call_id="c2", name="employee", content='{"salary_usd": 81000}')


def test_when_every_latest_call_failed_the_reminder_asks_for_a_call() -> None:
    reminder = results_reminder(question_then(CONVERT, ERROR), ["convert", "employee"], None)
    assert reminder.endswith("Reply with only the JSON object of the call to make now: the corrected call, "
                             "or the call that gets what is missing. If the question needs no tool, answer it "
                             "in plain text instead.")  # fmt: skip
    # with tool_choice "none" the model must answer, failed or not
    assert results_reminder(question_then(CONVERT, ERROR), ["convert"], "none").endswith(
        "Do not call a tool."
    )


def test_a_failed_call_is_named_as_the_next_step_once_results_came_with_made_up_values_blanked() -> None:
    reminder = results_reminder(question_then(CONVERT, ERROR, LOOKUP, FOUND), ["convert", "employee"], None)
    assert reminder.startswith('The question was: "Salary of Ann in EUR?"\nNext step: the call below')
    assert reminder.endswith('\n{"name": "convert", "arguments": {"amount": ?, "to": "EUR", "note": "? $"}}')


def test_a_failed_call_stops_being_pending_once_its_tool_succeeds_or_a_new_question_comes() -> None:
    names = ["convert", "employee"]
    done = AssistantMessage(tool_calls=[ToolCall(id="c3", name="convert", arguments='{"amount": 81000}')])
    converted = ToolMessage(tool_call_id="c3", name="convert", content="74520 EUR")
    after_success = question_then(CONVERT, ERROR, LOOKUP, FOUND, done, converted)
    assert "Next step" not in results_reminder(after_success, names, None)
    new_question = [
        *question_then(CONVERT, ERROR),
        UserMessage(content="Never mind: Ann's salary?"),
        LOOKUP,
        FOUND,
    ]
    assert "Next step" not in results_reminder(new_question, names, None)
    final = AssistantMessage(tool_calls=[ToolCall(id="f", name="final_result", arguments="{}")])
    bad_final = ToolMessage(tool_call_id="f", name="final_result", content="missing x", is_error=True)
    assert "Next step" not in results_reminder(question_then(final, bad_final, LOOKUP, FOUND), names, None)


def test_feedback_messages_are_not_the_question() -> None:
    messages = [*question_then(LOOKUP, FOUND), UserMessage(content="Your answer was empty.", feedback=True)]
    assert last_question(messages) == "Salary of Ann in EUR?"


def test_without_results_reminder_only_the_tool_choice_is_said() -> None:
    quiet = dataclasses.replace(PROMPTED, results_reminder=False)
    assert "The question was" not in str(render_messages(transcript(), TOOLS, quiet)[-1].content)
    assert str(render_messages(transcript(), TOOLS, quiet)[-1].content).endswith(
        "No result: this call was not executed."
    )
    last = render_messages(transcript(), TOOLS, quiet, "required")[-1]
    assert str(last.content).endswith("Otherwise call the tool you still need.")


def test_first_step_for_none_and_required() -> None:
    prompt = [UserMessage(content="Hi")]
    assert render_messages(prompt, TOOLS, PROMPTED)[-1] == UserMessage(content="Hi")
    assert render_messages(prompt, TOOLS, PROMPTED, "auto")[-1] == UserMessage(content="Hi")
    assert render_messages(prompt, TOOLS, PROMPTED, "required")[-1] == UserMessage(
        content="Hi\n\nReply with a tool call."
    )
    parts = [UserMessage(content=[TextPart(text="What is this?"), ImagePart(url="https://x.test/a.png")])]
    last = render_messages(parts, TOOLS, PROMPTED, "none")[-1]
    assert isinstance(last, UserMessage) and isinstance(last.content, list)
    assert last.content[-1] == TextPart(text="Answer in plain text, without calling a tool.")
    assert len(render_messages(parts, TOOLS, PROMPTED)) == 2


def test_nothing_is_added_after_an_assistant_message_or_to_later_system_messages() -> None:
    orphan = ToolMessage(tool_call_id="nobody", name="add", content="3")
    messages = [
        UserMessage(content="Hi"),
        orphan,
        SystemMessage(content="Note."),
        AssistantMessage(content="Hello"),
    ]
    out = render_messages(messages, TOOLS, PROMPTED, "required")
    assert out[1:] == [messages[0], *messages[2:]]
    assert last_question([]) == "" and last_question(messages) == "Hi"


# -- through OpenAIChatModel and the wire --------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(model="local-test") as srv:
        yield srv


def prompted_model(server: LoopbackServer, profile: ModelProfile = PROMPTED) -> OpenAIChatModel:
    return OpenAIChatModel("local-test", base_url=server.base_url, profile=profile)


def test_prompted_run_on_the_wire(server: LoopbackServer) -> None:
    server.add('{"name": "get_weather", "arguments": {"city": "Oslo"}}', "It is 3°C with light snow in Oslo.")
    agent = Agent(prompted_model(server), instructions="Be brief.", tools=[get_weather])
    result = agent.run_sync("Weather in Oslo?", model_settings=ModelSettings(tool_choice="auto"))
    assert result.output == "It is 3°C with light snow in Oslo."
    first, second = server.bodies
    for body in (first, second):
        assert "tools" not in body and "tool_choice" not in body and "parallel_tool_calls" not in body
    system = first["messages"][0]
    assert system["role"] == "system" and system["content"].startswith("Be brief.\n\n# Tools")
    assert json.dumps(get_weather.definition.parameters) in system["content"]
    assert first["messages"][1:] == [{"role": "user", "content": "Weather in Oslo?"}]
    assert second["messages"][0] == system  # the system prompt is stable (prompt caches keep it)
    assert second["messages"][2] == {
        "role": "assistant",
        "content": '{"name": "get_weather", "arguments": {"city": "Oslo"}}',
    }
    results = second["messages"][3]
    assert results["role"] == "user"
    assert results["content"].startswith(
        'Tool results:\n\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\nResult: Oslo: 3°C, light snow'
    )
    assert 'The question was: "Weather in Oslo?"' in results["content"]
    assert all(m["role"] != "tool" for m in second["messages"])
    call = result.messages[2]
    assert isinstance(call, AssistantMessage) and call.content == ""
    assert call.tool_calls == [ToolCall(id="call_1", name="get_weather", arguments='{"city": "Oslo"}')]
    assert result.messages[3] == ToolMessage(
        tool_call_id="call_1", name="get_weather", content="Oslo: 3°C, light snow"
    )


def test_prompted_parallel_calls_and_argument_repair(server: LoopbackServer) -> None:
    server.add(
        'Two calls:\n<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2,}}\n</tool_call>\n'
        "<tool_call>\n{'name': 'add', 'arguments': {'a': 3, 'b': 4}}",
        "3 and 7.",
    )
    result = Agent(prompted_model(server), tools=[add]).run_sync("1+2 and 3+4?")
    assert result.output == "3 and 7."
    tool_messages = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [(m.tool_call_id, m.content) for m in tool_messages] == [("call_1", "3"), ("call_2", "7")]
    assert result.messages[1] == AssistantMessage(
        content="Two calls:",
        tool_calls=[
            ToolCall(id="call_1", name="add", arguments='{"a": 1, "b": 2}'),
            ToolCall(id="call_2", name="add", arguments='{"a": 3, "b": 4}'),
        ],
        model_name="local-test",
        provider="Google",  # the loopback server names it, as OpenRouter does
        finish_reason="STOP",
        usage=result.messages[1].usage,  # type: ignore[union-attr]
        response_id="gen-1",
    )


def test_prompted_structured_output_through_the_final_result_tool(server: LoopbackServer) -> None:
    class City(BaseModel):
        name: str
        temperature_c: int

    server.add(
        '{"name": "get_weather", "arguments": {"city": "Oslo"}}',
        '```json\n{"name": "final_result", "arguments": {"name": "Oslo", "temperature_c": 3}}\n```',
    )
    # a profile that would otherwise send a json_schema response format: prompted mode uses the tool
    profile = dataclasses.replace(PROMPTED, structured_output="native")
    result = Agent(prompted_model(server, profile), tools=[get_weather], output_type=City).run_sync("Oslo?")
    assert result.output == City(name="Oslo", temperature_c=3)
    first, second = server.bodies
    assert "response_format" not in first and "tools" not in first
    assert '"name": "final_result"' in first["messages"][0]["content"]
    assert first["messages"][-1]["content"] == "Oslo?\n\nReply with a tool call."
    assert "give the answer now by calling final_result" in second["messages"][-1]["content"]


def test_prompted_without_tools_keeps_the_response_format(server: LoopbackServer) -> None:
    class Answer(BaseModel):
        value: int

    server.add('{"value": 4}')
    profile = dataclasses.replace(PROMPTED, structured_output="native")
    result = Agent(prompted_model(server, profile), output_type=Answer).run_sync("2+2?")
    assert result.output == Answer(value=4)
    body = server.bodies[0]
    assert body["response_format"]["type"] == "json_schema"
    assert body["messages"] == [{"role": "user", "content": "2+2?"}]


def test_prompted_tool_choice_none_drops_calls_written_anyway(server: LoopbackServer) -> None:
    server.add('The answer is 3.\n{"name": "add", "arguments": {"a": 1, "b": 2}}')
    settings = ModelSettings(tool_choice="none")
    result = Agent(prompted_model(server), tools=[add], model_settings=settings).run_sync("1+2?")
    assert result.output == "The answer is 3."
    assert (
        server.bodies[0]["messages"][-1]["content"] == "1+2?\n\nAnswer in plain text, without calling a tool."
    )


def test_prompted_repeated_call_gets_the_earlier_result_and_an_answer_now(server: LoopbackServer) -> None:
    steering = dataclasses.replace(PROMPTED, policy=RunPolicy(steer_repeated_calls=True))
    call = '{"name": "add", "arguments": {"a": 1, "b": 2}}'
    server.add(call, call, "3")
    result = Agent(prompted_model(server, steering), tools=[add]).run_sync("1+2?")
    assert result.output == "3"
    last = server.bodies[2]["messages"][-1]["content"]
    assert "You already called add with these arguments" in last
    assert last.endswith("Answer it now in plain text, using these results. Do not call a tool.")


def test_native_calls_from_the_server_are_kept_in_prompted_mode(server: LoopbackServer) -> None:
    server.add(tool_call_response("add", {"a": 1, "b": 2}, id="x1"), "3")
    result = Agent(prompted_model(server), tools=[add]).run_sync("1+2?")
    assert result.output == "3"
    assert [m.tool_call_id for m in result.messages if isinstance(m, ToolMessage)] == ["x1"]


def test_native_mode_with_results_reminder(server: LoopbackServer) -> None:
    native = dataclasses.replace(PROMPTED, tool_calling="native")
    server.add(tool_calls_response([("add", {"a": 1, "b": 2})]), "3")
    Agent(prompted_model(server, native), tools=[add]).run_sync("1+2?")
    first, second = server.bodies
    assert [t["function"]["name"] for t in first["tools"]] == ["add"]
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"] == "3\n\n" + results_reminder([UserMessage(content="1+2?")], ["add"], None)
    assert first["messages"] == [{"role": "user", "content": "1+2?"}]


def test_native_mode_without_reminder_sends_results_as_they_are(server: LoopbackServer) -> None:
    server.add(tool_calls_response([("add", {"a": 1, "b": 2})]), "3")
    Agent(prompted_model(server, ModelProfile()), tools=[add]).run_sync("1+2?")
    assert server.bodies[1]["messages"][-1]["content"] == "3"


def test_local_profile_defaults_to_prompted_tool_calling() -> None:
    assert LOCAL.tool_calling == "prompted"
    assert LOCAL.results_reminder and LOCAL.policy.steer_repeated_calls
    assert LOCAL.structured_output == "tool"


def test_build_request_prompted_body_is_plain_chat() -> None:
    params = ModelRequestParameters(tools=TOOLS, tool_choice="required")
    body = build_request("m", transcript(), params, ModelSettings(parallel_tool_calls=True), PROMPTED)
    assert set(body) == {"model", "messages"}
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]


def test_an_answer_agentkit_questioned_is_left_out_and_the_feedback_joins_the_question() -> None:
    messages = [
        UserMessage(content="2 to the power of 20?"),
        AssistantMessage(content="4194304"),
        UserMessage(content="Your answer contains 4194304 ...", feedback=True),
    ]
    out = render_messages(messages, TOOLS, PROMPTED)
    assert out[1:] == [UserMessage(content="2 to the power of 20?\n\nYour answer contains 4194304 ...")]
    kept = [*messages[:2], UserMessage(content="Are you sure?")]  # the user's own follow-up keeps the answer
    assert render_messages(kept, TOOLS, PROMPTED)[1:] == kept


def test_a_list_of_calls_leaves_no_brackets_in_the_text() -> None:
    text = 'Both:\n[{"name": "w", "arguments": {"c": 1}}, {"name": "w", "arguments": {"c": 2}}] then more'
    reply = parse_tool_calls(text, ["w"])
    assert len(reply.calls) == 2 and reply.preamble == "Both:" and reply.text == "Both:\n then more"
