"""Tools that return images: the `ToolMessage` keeps the text (noting the images) and the images; the
chat-completions wire format sends the images after the turn's tool messages, in one user message."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from agentkit import Agent, AssistantMessage, ImagePart, TextPart, ToolCall, ToolMessage, UserMessage, tool
from agentkit.messages import messages_from_json, messages_to_json
from agentkit.models import ModelRequestParameters
from agentkit.models._chat_format import build_request, wire_messages
from agentkit.models.openai import OpenAIChatModel
from agentkit.models.profiles import ModelProfile
from agentkit.settings import ModelSettings
from agentkit.testing import LoopbackServer, tool_calls_response

PIXEL = ImagePart.from_bytes(b"\x89PNG fake", "image/png")
PHOTO = ImagePart(url="https://example.test/photo.jpg", detail="low")


@tool
def snapshot(caption: str) -> list[TextPart | ImagePart]:
    """A picture with a caption."""
    return [TextPart(text=caption), PIXEL]


@tool
def photo() -> ImagePart:
    """Just a photo."""
    return PHOTO


@tool
def word() -> str:
    """A word."""
    return "plain"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


def test_images_follow_the_turns_tool_messages_on_the_wire(server: LoopbackServer) -> None:
    server.add(
        tool_calls_response([("snapshot", {"caption": "a cat"}), ("word", {}), ("photo", {})]),
        "done",
    )
    model = OpenAIChatModel("openai/gpt-4o-mini", base_url=server.base_url, api_key="k")
    result = Agent(model, tools=[snapshot, word, photo]).run_sync("show me")
    assert result.output == "done"
    wire = server.bodies[1]["messages"]
    assert [m["role"] for m in wire] == ["user", "assistant", "tool", "tool", "tool", "user"]
    first, second, third = wire[2:5]
    assert first["content"] == "a cat\n[1 image attached]"
    assert second["content"] == "plain"
    assert third["content"] == "[1 image attached]"
    ids = [c["id"] for c in wire[1]["tool_calls"]]
    assert wire[5]["content"] == [
        {"type": "text", "text": f"Images returned by snapshot (call {ids[0]}):"},
        {"type": "image_url", "image_url": {"url": PIXEL.url}},
        {"type": "text", "text": f"Images returned by photo (call {ids[2]}):"},
        {"type": "image_url", "image_url": {"url": PHOTO.url, "detail": "low"}},
    ]
    messages = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [m.images for m in messages] == [[PIXEL], [], [PHOTO]]


def test_tool_message_images_round_trip_as_json() -> None:
    messages = [
        AssistantMessage(tool_calls=[ToolCall(id="c1", name="photo", arguments="{}")]),
        ToolMessage(tool_call_id="c1", name="photo", content="[1 image attached]", images=[PHOTO]),
    ]
    assert messages_from_json(messages_to_json(messages)) == messages
    older = b'[{"role": "tool", "tool_call_id": "c1", "name": "photo", "content": "x"}]'
    assert messages_from_json(older) == [ToolMessage(tool_call_id="c1", name="photo", content="x")]


def test_a_list_that_is_not_all_parts_is_plain_json() -> None:
    @tool
    def mixed() -> list[object]:
        """Mixed values."""
        return ["a", 1]

    from agentkit.testing import ScriptedModel, tool_call_response

    result = Agent(ScriptedModel([tool_call_response("mixed", {}), "ok"]), tools=[mixed]).run_sync("go")
    message = result.messages[2]
    assert isinstance(message, ToolMessage)
    assert (message.content, message.images) == ('["a",1]', [])


def test_results_reminder_goes_after_the_images() -> None:
    call = ToolCall(id="c1", name="photo", arguments="{}")
    messages = [
        UserMessage(content="what is in the photo?"),
        AssistantMessage(tool_calls=[call]),
        ToolMessage(tool_call_id="c1", name="photo", content="[1 image attached]", images=[PHOTO]),
    ]
    profile = dataclasses.replace(ModelProfile(), results_reminder=True)
    params = ModelRequestParameters(tools=[photo.definition])
    wire = build_request("m", messages, params, ModelSettings(), profile)["messages"]
    assert wire[-2]["content"] == "[1 image attached]"
    assert wire[-1]["content"][:2] == [
        {"type": "text", "text": "Images returned by photo (call c1):"},
        {"type": "image_url", "image_url": {"url": PHOTO.url, "detail": "low"}},
    ]
    reminder = wire[-1]["content"][2]
    assert reminder["type"] == "text" and "what is in the photo?" in reminder["text"]
    # without images the reminder still goes into the last tool message
    plain = [*messages[:2], ToolMessage(tool_call_id="c1", name="photo", content="nothing")]
    wire = build_request("m", plain, params, ModelSettings(), profile)["messages"]
    assert wire[-1]["role"] == "tool" and "what is in the photo?" in wire[-1]["content"]


def test_a_user_message_after_results_gets_no_reminder() -> None:
    messages = [
        AssistantMessage(tool_calls=[ToolCall(id="c1", name="photo", arguments="{}")]),
        ToolMessage(tool_call_id="c1", name="photo", content="x", images=[PHOTO]),
        UserMessage(content="thanks"),
    ]
    profile = dataclasses.replace(ModelProfile(), results_reminder=True)
    params = ModelRequestParameters(tools=[photo.definition])
    wire = build_request("m", messages, params, ModelSettings(), profile)["messages"]
    assert wire[-1] == {"role": "user", "content": "thanks"}
    assert wire == wire_messages(messages)


def test_prompted_tool_calling_sends_the_images_with_the_results() -> None:
    from agentkit.models._prompted import render_messages

    messages = [
        UserMessage(content="look"),
        AssistantMessage(tool_calls=[ToolCall(id="c1", name="photo", arguments="{}")]),
        ToolMessage(tool_call_id="c1", name="photo", content="[1 image attached]", images=[PHOTO]),
    ]
    profile = dataclasses.replace(ModelProfile(), tool_calling="prompted")
    rendered = render_messages(messages, [photo.definition], profile, None)
    last = rendered[-1]
    assert isinstance(last, UserMessage) and isinstance(last.content, list)
    assert last.content[1:] == [PHOTO]
    assert "[1 image attached]" in last.text
