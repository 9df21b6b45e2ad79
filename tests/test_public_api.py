"""The public surface is deliberate: adding or removing a name is a decision, made here."""

from __future__ import annotations

import subprocess
import sys

import agentkit
import agentkit.testing

PUBLIC = [
    "Agent", "AgentRunError", "AgentkitError", "AssistantMessage", "AudioPart", "DocumentPart", "ImagePart", "Message", "Model", "ModelAPIError",
    "ModelProfile", "ModelRequestParameters", "ModelRetry", "ModelSettings", "ModelUnavailableError", "ProviderRouting", "RateLimit", "RetryPolicy", "RunContext",
    "RunPolicy", "RunResult", "RunStream", "SessionError", "UsageView", "events", "SystemMessage", "TextPart", "Tool", "ToolArgumentsError", "ToolCall", "ToolDefinition",
    "HistoryProcessor", "KeepRecentToolResults", "SummarizeOlder", "TokenWindow",
    "ToolExecutionError", "ToolMessage", "UnexpectedModelBehavior", "Usage", "UsageLimitExceeded", "UsageLimits",
    "UserError", "UserMessage", "__version__", "messages_from_json", "messages_to_json", "tool",
    "Deny", "GuardrailTripped", "HookError", "Hooks", "InputGuardrail", "ModelRequest", "OutputGuardrail", "Reply", "ValidatedCall",
]  # fmt: skip

TESTING = [
    "BodyError", "Cassette", "CassetteMismatchError", "Interaction", "cassette", "FunctionModel", "HTTPError", "LoopbackServer", "RawStream", "RecordedHTTPRequest", "RecordedRequest",
    "RequestInfo", "ScriptedModel", "StreamError", "allow_model_requests", "block_model_requests", "last_user_text",
    "text_response", "tool_call_response", "tool_calls_response", "check_gemini_history",
]  # fmt: skip


def test_public_names_are_locked() -> None:
    assert sorted(agentkit.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert hasattr(agentkit, name), name


def test_testing_names_are_locked() -> None:
    assert sorted(agentkit.testing.__all__) == sorted(TESTING)


def test_public_objects_live_in_their_modules() -> None:
    for name in set(PUBLIC) - {
        "Message",
        "HistoryProcessor",
        "__version__",
        "events",
    }:  # Union aliases, a string, a module
        obj = getattr(agentkit, name)
        module = getattr(obj, "__module__", "agentkit")
        assert module.startswith("agentkit"), (name, module)


def test_import_is_cheap_and_does_not_import_openai() -> None:
    names = (
        "openai",
        "pydantic",
        "httpx2",
        "rich",
        "agentkit.cli",
        "argparse",
        "ray",
        "sqlite3",
        "mcp",
        "opentelemetry",
        "dbos",
    )
    code = f"import sys, agentkit; print(*[name in sys.modules for name in {names!r}])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False"] * len(names)  # the command line (rich, ray) and the extras load only when used


def test_every_error_pickles_whole() -> None:
    import pickle

    from agentkit import (
        ModelAPIError,
        ModelUnavailableError,
        SessionError,
        ToolArgumentsError,
        ToolExecutionError,
        UnexpectedModelBehavior,
        UsageLimitExceeded,
        UserError,
        UserMessage,
    )

    history = [UserMessage(content="hi")]
    errors = [
        UserError("misuse"),
        SessionError("chats.db is locked"),
        ToolArgumentsError("add", ["a: required"]),
        ToolExecutionError("boom", tool_name="add", tool_call_id="c1", messages=history),
        ModelAPIError("HTTP 400", status_code=400, code="bad", body={"x": 1}, messages=history),
        ModelUnavailableError("gone", status_code=404, successors=["m2"]),
        UnexpectedModelBehavior("empty", messages=history),
        UsageLimitExceeded("limit", messages=history),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)
        assert vars(copy) == vars(error)
