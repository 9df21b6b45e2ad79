"""Model selection, profiles, the chat wire format helpers, the local adapter, and structured-output specs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import Agent, AssistantMessage, Tool, ToolArgumentsError, ToolCall, UserError, UserMessage
from agentkit._run.output import OutputSpec
from agentkit.local import LocalModel
from agentkit.messages import SystemMessage, ToolMessage
from agentkit.models import Model, infer_model
from agentkit.models._chat_format import parse_completion, parse_usage, unique_tool_calls, wire_messages
from agentkit.models.openai import OpenAIChatModel
from agentkit.models.profiles import (
    DEFAULT,
    GEMINI,
    GEMINI_2_0_FLASH,
    GEMINI_2_5_FLASH,
    LOCAL,
    OPENAI,
    profile_for,
)
from agentkit.testing import LoopbackServer, ScriptedModel, tool_call_response
from agentkit.usage import Usage


@pytest.mark.parametrize(
    ("model_id", "profile"),
    [
        ("google/gemini-2.0-flash-001", GEMINI_2_0_FLASH),
        ("gemini-2.0-flash", GEMINI_2_0_FLASH),
        ("google/gemini-2.0-flash-lite-001", GEMINI),
        ("google/gemini-2.5-flash", GEMINI_2_5_FLASH),
        ("openai/gpt-4o-mini", OPENAI),
        ("gpt-4.1", OPENAI),
        ("o3-mini", OPENAI),
        ("local", LOCAL),
        ("local:qwen2.5-coder-1.5b", LOCAL),
        ("qwen/qwen-2.5-72b-instruct", DEFAULT),
        ("anything-else", DEFAULT),
    ],
)
def test_profiles_from_model_ids(model_id: str, profile: Any) -> None:
    assert profile_for(model_id) == profile


def test_future_gemini_gets_the_dialect_but_not_2x_quirks() -> None:
    profile = profile_for("google/gemini-3-pro")
    assert profile.schema_dialect == "gemini" and profile.tools_with_response_format


def test_gemini_2_0_flash_facts() -> None:
    p = GEMINI_2_0_FLASH
    assert (p.input_price_per_mtok, p.output_price_per_mtok, p.image_price_per_k) == (0.10, 0.40, 0.026)
    assert (p.context_window, p.max_output_tokens) == (1_048_576, 8_192)
    assert not p.tools_with_response_format and p.structured_output == "tool"
    assert p.cost(1000, 1000) == pytest.approx(0.0005)
    assert DEFAULT.cost(10**6, 10**6) == 0.0


def test_infer_model() -> None:
    scripted = ScriptedModel([])
    assert infer_model(scripted) is scripted
    assert isinstance(infer_model("google/gemini-2.0-flash-001"), OpenAIChatModel)
    assert isinstance(infer_model("local"), LocalModel)
    with pytest.raises(UserError, match="model must be"):
        infer_model(42)  # type: ignore[arg-type]


LOCAL_FROM_THE_MODEL_LAYER = """
import sys
from agentkit.models import infer_model, profile_for

loaded_first = "agentkit.local" in sys.modules
model = infer_model("local:qwen2.5-coder-1.5b")
from agentkit.models.profiles import LOCAL
print(loaded_first, type(model).__module__, type(model).__name__, model.profile is LOCAL is profile_for("LOCAL"))
"""


def test_the_local_ids_resolve_through_the_model_layer_which_never_names_the_local_package() -> None:
    """What users call (`infer_model`, `profile_for`, `profiles.LOCAL`) gives the local model and its profile,
    registered by the package root; `agentkit.local` loads only when the local model is asked for."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    run = subprocess.run(
        [sys.executable, "-c", LOCAL_FROM_THE_MODEL_LAYER],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert run.stdout.split() == ["False", "agentkit.local._model", "LocalModel", "True"]
    sources = "\n".join(path.read_text(encoding="utf-8") for path in root.glob("agentkit/models/**/*.py"))
    assert "from ..local" not in sources and "import_module" not in sources  # not even lazily, nor by name


def test_default_model_without_key_is_local_only_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    assert isinstance(infer_model(None), LocalModel)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert isinstance(infer_model(None), OpenAIChatModel)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    monkeypatch.setenv("OPENROUTER_API_KEY", "k")
    assert isinstance(infer_model(None), OpenAIChatModel)


def test_unknown_local_model() -> None:
    with pytest.raises(UserError, match="Unknown local model"):
        LocalModel("local:llama-70b")


@dataclass
class _FakeServer:
    base_url: str
    is_running: bool = False
    starts: int = 0
    engine_in_use: str = "xllamacpp"
    api_key: str = "fake-server-key"

    def start(self) -> _FakeServer:
        self.starts += 1
        self.is_running = True
        return self


def test_local_model_starts_its_server_once_and_speaks_openai() -> None:
    with LoopbackServer(["hello", "again"]) as srv:
        fake = _FakeServer(base_url=srv.base_url)
        model = LocalModel("local", server=fake)  # type: ignore[arg-type]
        assert "managed llama.cpp server" in model.describe()
        agent = Agent(model)
        assert agent.run_sync("hi").output == "hello"
        assert agent.run_sync("hi").output == "again"
        assert fake.starts == 1
        assert model.describe() == f"local:qwen2.5-coder-1.5b ({srv.base_url})"
        assert model.profile == LOCAL
        assert srv.bodies[0]["model"] == "qwen2.5-coder-1.5b"
        assert "usage" not in srv.bodies[0]
        assert {r.headers["authorization"] for r in srv.requests} == {"Bearer fake-server-key"}


def test_local_model_drops_the_call_grammar_on_a_llama_server_binary() -> None:
    """A compiled llama-server has no LLGuidance: the default profile sends no grammar there; a profile the
    user chose is theirs."""

    def get_weather(city: str) -> str:
        return city

    tool_ = Tool(get_weather)
    for engine, profile, grammar in [
        ("xllamacpp", None, True),
        ("llama-server", None, False),
        ("llama-server", LOCAL, True),
    ]:
        with LoopbackServer(['{"', "Oslo: snow"]) as srv:  # the decision's answer (the reply's token) first
            fake = _FakeServer(base_url=srv.base_url, engine_in_use=engine)
            model = LocalModel("local", server=fake, profile=profile)  # type: ignore[arg-type]
            assert Agent(model, tools=[tool_]).run_sync("Weather in Oslo?").output == "Oslo: snow"
            assert ("grammar" in srv.bodies[1]) is grammar, engine
            assert model.profile.constrain_calls is grammar


def test_local_model_uses_the_shared_server(monkeypatch: pytest.MonkeyPatch) -> None:
    import agentkit.local

    with LoopbackServer(["shared"]) as srv:
        fake = _FakeServer(base_url=srv.base_url, is_running=True)
        monkeypatch.setattr(agentkit.local, "get_local_server", lambda: fake)
        assert Agent("local").run_sync("hi").output == "shared"
        assert fake.starts == 0


def test_wire_messages_pass_system_and_plain_assistant() -> None:
    wire = wire_messages(
        [SystemMessage(content="s"), UserMessage(content="u"), AssistantMessage(content="a")]
    )
    assert wire == [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "a"},
    ]


def test_wire_messages_drop_orphan_tool_results() -> None:
    orphan = ToolMessage(tool_call_id="x", name="t", content="c")
    assert wire_messages([UserMessage(content="u"), orphan]) == [{"role": "user", "content": "u"}]


def test_parse_completion_variants() -> None:
    data = {
        "model": "m",
        "choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "tool_calls": [
            {"id": "1", "function": {"name": "t", "arguments": {"x": 1}}},
            {"function": {"name": "t"}},
        ]}, "finish_reason": "tool_calls"}],
    }  # fmt: skip
    message = parse_completion(data, DEFAULT, taken_ids=["1"])
    assert message.content == "ab"
    assert [(c.id, c.arguments) for c in message.tool_calls] == [("call_2", '{"x": 1}'), ("call_3", "")]
    assert message.finish_reason == "tool_calls"
    empty = parse_completion({}, DEFAULT, taken_ids=[])
    assert empty.content == "" and empty.tool_calls == [] and empty.usage is not None


def test_parse_usage() -> None:
    assert parse_usage(None, DEFAULT).requests == 1
    usage = parse_usage({"prompt_tokens": 10, "completion_tokens": 5, "cost": 0.25}, GEMINI_2_0_FLASH)
    assert (usage.input_tokens, usage.output_tokens, usage.cost_usd) == (10, 5, 0.25)
    assert usage.cached_input_tokens == 0
    cached = {"prompt_tokens": 900, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 850}}
    assert parse_usage(cached, DEFAULT).cached_input_tokens == 850
    odd = {"prompt_tokens": 9, "prompt_tokens_details": {"cached_tokens": None}}  # some servers send null
    assert parse_usage(odd, DEFAULT).cached_input_tokens == 0


def test_cached_input_tokens_add_up_over_a_run() -> None:
    def ping() -> str:
        return "pong"

    with LoopbackServer(
        [tool_call_response("ping", {}), "done"], usage={"prompt_tokens_details": {"cached_tokens": 7}}
    ) as srv:
        result = Agent(OpenAIChatModel("m", base_url=srv.base_url, api_key="k"), tools=[Tool(ping)]).run_sync(
            "go"
        )
    assert result.usage.cached_input_tokens == 14
    assert (Usage(cached_input_tokens=1) + Usage(cached_input_tokens=2)).cached_input_tokens == 3


def test_unique_tool_calls_keep_good_ids() -> None:
    calls = unique_tool_calls([{"id": "a", "function": {"name": "t", "arguments": "{}"}}], taken_ids=[])
    assert calls == [ToolCall(id="a", name="t", arguments="{}")]


class Tree(BaseModel):
    name: str
    children: list[Tree] = []


def test_output_spec_for_a_recursive_model() -> None:
    spec = OutputSpec.build(Tree)
    assert spec.schema is not None and spec.schema["type"] == "object" and "$defs" in spec.schema
    assert not spec.wrapped
    value = spec.validate('{"name": "a", "children": [{"name": "b"}]}')
    assert value == Tree(name="a", children=[Tree(name="b")])


def test_output_spec_errors() -> None:
    spec = OutputSpec.build(list[int])
    assert spec.wrapped
    with pytest.raises(ToolArgumentsError, match=r"\$\.result: required"):
        spec.validate("{}")
    with pytest.raises(ToolArgumentsError, match=r"\$\.result\[1\]"):
        spec.validate('{"result": [1, "x"]}')
    with pytest.raises(UserError, match="no JSON Schema form"):
        OutputSpec.build(object.__new__)  # type: ignore[arg-type]


def test_model_base_class_defaults() -> None:
    class Minimal(Model):
        @property
        def model_name(self) -> str:
            return "google/gemini-2.0-flash-001"

        async def request(self, messages: Any, parameters: Any, settings: Any) -> AssistantMessage:
            return AssistantMessage(content="ok")

    model = Minimal()
    assert model.profile == GEMINI_2_0_FLASH
    assert model.describe() == "google/gemini-2.0-flash-001"
    assert Agent(model).run_sync("go").output == "ok"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


def test_local_model_restarts_a_dead_shared_server(monkeypatch: pytest.MonkeyPatch) -> None:
    import agentkit.local

    with LoopbackServer() as first:
        port, url = first.port, first.base_url
    revived = LoopbackServer(["back again"], port=port)
    calls: list[str] = []

    def shared() -> _FakeServer:
        calls.append("get_local_server")
        if len(calls) == 2:  # the restart, on the same port, as the real shared server does
            revived.start()
        return _FakeServer(base_url=url, is_running=True)

    monkeypatch.setattr(agentkit.local, "get_local_server", shared)
    try:
        assert Agent(LocalModel()).run_sync("hi").output == "back again"
    finally:
        revived.stop()
    assert calls == ["get_local_server", "get_local_server"]
