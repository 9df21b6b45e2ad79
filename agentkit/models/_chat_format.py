"""Provider-neutral messages <-> the chat-completions wire format (plain dicts; no SDK types).

Shared by every OpenAI-compatible request path (plain and, later, streamed) so that message repair,
dialects, prompted tool calling and usage accounting are written once.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from typing import Any

from .._support.unicode import valid_unicode
from ..exceptions import UserError
from ..messages import (
    AssistantMessage,
    AudioPart,
    ContentPart,
    DocumentPart,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
    turns,
    unique_call_id,
)
from ..settings import ModelSettings
from ..usage import Usage
from . import ModelRequestParameters
from ._grammar import tool_call_grammar
from ._prompted import parse_tool_calls, render_messages, results_reminder
from ._reasoning import family_key, outgoing_call_extra, outgoing_reasoning, reasoning_details, reasoning_text
from ._tool_entries import restore_reply, tool_entry
from .profiles import ModelProfile

__all__ = [
    "build_request",
    "is_prompted",
    "parse_completion",
    "parse_usage",
    "reasoning_options",
    "request_images",
    "wire_messages",
]

MISSING_RESULT = "No result: this call was not executed."


def wire_messages(messages: Sequence[Message], family: str | None = None) -> list[dict[str, Any]]:
    """Messages as chat-completions dicts, repaired so that strict providers (Gemini) accept them.

    Assistant messages carry their reasoning back (`_reasoning`): unchanged when they came from `family`
    (the model family the request goes to; `None`: any), without the signed parts when not.

    Assistant turns with tool calls carry `content: ""`, never null, and each call's arguments as a JSON
    object (`{}` in place of anything else: `_wire_arguments`); every tool call gets exactly one tool
    message with its id and the tool's name, all the results of a turn sent together right after it;
    results that answer no call are dropped. Tool messages take text only on most servers, so the images
    tools returned follow the turn's results in one user message (`image_url` parts, each tool's introduced
    by a text part naming the tool and call).
    """
    out: list[dict[str, Any]] = []
    for message, results in turns(messages):
        if isinstance(message, AssistantMessage) and message.tool_calls:
            out.append(_assistant(message, family))
            for call in message.tool_calls:
                result = results.get(call.id)
                content = result.content if result is not None else MISSING_RESULT
                out.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": content})
            if images := _result_images(message.tool_calls, results):
                out.append({"role": "user", "content": images})
            continue
        out.append(_plain(message, family))
    return out


def _result_images(calls: Sequence[ToolCall], results: dict[str, ToolMessage]) -> list[dict[str, Any]]:
    """The content parts of the user message carrying a turn's result images (empty: none)."""
    parts: list[dict[str, Any]] = []
    for call in calls:
        result = results.get(call.id)
        if result is not None and result.images:
            parts.append({"type": "text", "text": f"Images returned by {call.name} (call {call.id}):"})
            parts.extend(_part(image) for image in result.images)
    return parts


def _plain(message: Message, family: str | None = None) -> dict[str, Any]:
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": message.content}
    if isinstance(message, UserMessage):
        if isinstance(message.content, str):
            return {"role": "user", "content": message.content}
        return {"role": "user", "content": [_part(p) for p in message.content]}
    if isinstance(message, AssistantMessage):
        return {"role": "assistant", "content": message.content, **outgoing_reasoning(message, family)}
    raise AssertionError(f"unexpected message {message!r}")  # pragma: no cover


def _part(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, DocumentPart):  # OpenRouter's file part: a data: URL or an https: URL it fetches
        return {"type": "file", "file": {"filename": part.filename, "file_data": part.url}}
    if isinstance(part, AudioPart):
        return {"type": "input_audio", "input_audio": {"data": part.data, "format": part.format}}
    image: dict[str, Any] = {"url": part.url}
    if part.detail:
        image["detail"] = part.detail
    return {"type": "image_url", "image_url": image}


def _assistant(message: AssistantMessage, family: str | None = None) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": message.content or "",
        "tool_calls": [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": _wire_arguments(message, c, family)},
                **outgoing_call_extra(message, c, family),
            }
            for c in message.tool_calls
        ],
        **outgoing_reasoning(message, family),
    }


def _wire_arguments(message: AssistantMessage, call: ToolCall, family: str | None) -> str:
    """A call's arguments as sent back: to the same model family, as the model wrote them in its dialect when
    the model layer restored them (`wire_arguments`, unless a repair or a hook changed them since); else
    as in the transcript when they are a JSON object (strict JSON: no `NaN`), else `{}`. A run already puts `{}` in the transcript for arguments it could not repair (keeping them
    in `original_arguments`); this guards histories that never went through a run's validation (handed
    in by the user, or cut off before the calls ran), since Gemini refuses the whole request otherwise."""
    if (
        call.wire_arguments is not None
        and call.original_arguments is None
        and message.model_family is not None
        and message.model_family == family
    ):
        return call.wire_arguments
    try:
        value = _STRICT_JSON.decode(call.arguments)
    except (ValueError, RecursionError):
        return "{}"
    return call.arguments if isinstance(value, dict) else "{}"


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


_STRICT_JSON = json.JSONDecoder(parse_constant=_not_json)


def build_request(
    model_name: str,
    messages: Sequence[Message],
    parameters: ModelRequestParameters,
    settings: ModelSettings,
    profile: ModelProfile,
) -> dict[str, Any]:
    """The JSON body of a chat-completions request (without `stream`).

    With a `prompted` profile the tools go into the prompt instead of the `tools` field (`_prompted`); with
    `results_reminder`, the latest tool result is followed by the question and what to do next; with
    `constrain_calls` too, a grammar allows only plain text or valid calls of the offered tools (`_grammar`).
    """
    prompted = is_prompted(profile, parameters)
    choice = tool_choice(parameters, settings)
    family = family_key(profile, model_name)
    if prompted:
        wire = wire_messages(render_messages(messages, parameters.tools, profile, choice), family)
    else:
        wire = wire_messages(messages, family)
        if profile.results_reminder and wire and _ends_with_results(messages, wire):
            names = [t.name for t in parameters.tools]
            reminder = results_reminder(messages, names, choice)
            wire[-1] = _with_text(wire[-1], reminder)
    body: dict[str, Any] = {"model": model_name, "messages": wire}
    if (
        prompted
        and profile.constrain_calls
        and (grammar := tool_call_grammar(parameters.tools, profile, choice))
    ):
        body["grammar"] = grammar
    if parameters.tools and not prompted:
        body["tools"] = [_tool_entry(t, profile) for t in parameters.tools]
        if choice:
            body["tool_choice"] = choice
        if settings.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = settings.parallel_tool_calls
    fmt = parameters.response_format
    if fmt is not None:
        if fmt.mode == "native" and profile.takes_response_format(with_tools=bool(parameters.tools)):
            spec = _response_format(fmt.name, fmt.schema, fmt.strict, profile)
            body["response_format"] = {"type": "json_schema", "json_schema": spec}
        else:  # prompted, or a response format this model cannot take with the tools: said in the prompt
            from ._output_prompt import output_instructions, with_output_instructions

            body["messages"] = with_output_instructions(wire, output_instructions(fmt, profile))
    for key in ("temperature", "top_p", "max_tokens", "seed", "presence_penalty", "frequency_penalty"):
        value = getattr(settings, key)
        if value is not None:
            body[key] = value
    if settings.max_tokens is None and profile.reply_token_cap is not None:
        body["max_tokens"] = profile.reply_token_cap
    if settings.stop:
        body["stop"] = list(settings.stop)
    # a lone surrogate in a message (a prompt from a non-UTF-8 command line, a streamed "\\udcff") would make
    # the request impossible to encode: it is sent as U+FFFD (the tools come from code: not checked)
    body["messages"] = valid_unicode(body["messages"])
    return body


REASONING_EFFORTS = ("none", "low", "medium", "high")


def reasoning_options(settings: ModelSettings, *, openrouter: bool) -> dict[str, Any]:
    """The body fields of the reasoning settings: OpenRouter's `reasoning` object (`effort`, `max_tokens`,
    `exclude`), or `reasoning_effort` for other servers (which have no standard field for the other two)."""
    effort, budget, exclude = (
        settings.reasoning_effort,
        settings.reasoning_max_tokens,
        settings.reasoning_exclude,
    )
    if effort is not None and effort not in REASONING_EFFORTS:
        raise UserError(
            f"ModelSettings(reasoning_effort={effort!r}): use one of {', '.join(REASONING_EFFORTS)}."
        )
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 0):
        raise UserError(f"ModelSettings(reasoning_max_tokens={budget!r}): use a whole number of tokens >= 0.")
    if effort is not None and budget is not None:
        raise UserError(
            "ModelSettings: give reasoning_effort or reasoning_max_tokens, not both (OpenRouter takes one)."
        )
    if not openrouter:
        return {"reasoning_effort": effort} if effort is not None else {}
    reasoning: dict[str, Any] = {}
    if effort is not None:
        reasoning["effort"] = effort
    if budget is not None:
        reasoning["max_tokens"] = budget
    if exclude is not None:
        reasoning["exclude"] = exclude
    return {"reasoning": reasoning} if reasoning else {}


def _ends_with_results(messages: Sequence[Message], wire: list[dict[str, Any]]) -> bool:
    """Whether the request ends with tool results (their images' user message included)."""
    if wire[-1]["role"] == "tool":
        return True
    return (
        len(wire) > 1
        and wire[-2]["role"] == "tool"
        and bool(messages)
        and isinstance(messages[-1], ToolMessage)
    )


def _with_text(message: dict[str, Any], text: str) -> dict[str, Any]:
    """`message` with `text` after its content (a text part when the content is a list of parts)."""
    content = message["content"]
    if isinstance(content, list):
        return {**message, "content": [*content, {"type": "text", "text": text}]}
    return {**message, "content": f"{content}\n\n{text}"}


def is_prompted(profile: ModelProfile, parameters: ModelRequestParameters | None) -> bool:
    """Whether tool calls go through the prompt and the text (`_prompted`) for this request."""
    return profile.tool_calling == "prompted" and parameters is not None and bool(parameters.tools)


def tool_choice(parameters: ModelRequestParameters, settings: ModelSettings | None) -> str | None:
    """The tool choice of a request: the settings' when set, else the run's."""
    return (settings.tool_choice if settings is not None else None) or parameters.tool_choice


def _response_format(
    name: str, schema: dict[str, Any], strict: bool | None, profile: ModelProfile
) -> dict[str, Any]:
    from ._dialects import NotStrictCompatible, to_dialect

    if strict or (strict is None and profile.schema_dialect == "openai-strict"):
        try:
            return {"name": name, "schema": to_dialect(schema, "openai-strict"), "strict": True}
        except NotStrictCompatible:
            pass  # a schema strict mode cannot express goes as a plain json_schema
    if profile.schema_dialect == "gemini":
        schema = to_dialect(schema, "gemini")
    return {"name": name, "schema": schema}


def _tool_entry(definition: Any, profile: ModelProfile) -> dict[str, Any]:
    return tool_entry(definition, profile.schema_dialect)


def parse_usage(data: Any, profile: ModelProfile, *, images: int = 0) -> Usage:
    """Usage from a response's `usage` object; the cost is OpenRouter's `usage.cost`, or else from the
    profile's prices: input tokens (cached ones at the cache-read price), output tokens, and the `images`
    the request carried (`request_images`)."""
    usage = data if isinstance(data, dict) else {}
    input_tokens = int(usage.get("prompt_tokens") or 0)
    output_tokens = int(usage.get("completion_tokens") or 0)
    details = usage.get("prompt_tokens_details")
    raw_cached = details.get("cached_tokens") if isinstance(details, dict) else None
    cached = int(raw_cached) if isinstance(raw_cached, int) else 0
    cost = usage.get("cost")
    if isinstance(cost, (int, float)):
        cost_usd = float(cost)
    else:
        cost_usd = profile.cost(input_tokens, output_tokens, cached_input_tokens=cached, images=images)
    output_details = usage.get("completion_tokens_details")
    reasoning = output_details.get("reasoning_tokens") if isinstance(output_details, dict) else None
    return Usage(
        requests=1,
        input_tokens=input_tokens,
        cached_input_tokens=cached,
        output_tokens=output_tokens,
        reasoning_tokens=reasoning if isinstance(reasoning, int) else 0,
        cost_usd=cost_usd,
    )


def request_images(body: dict[str, Any]) -> int:
    """How many images a request body carries (`image_url` parts: the user's, and tools' results)."""
    count = 0
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            count += sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")
    return count


def parse_completion(
    data: dict[str, Any],
    profile: ModelProfile,
    taken_ids: Iterable[str],
    parameters: ModelRequestParameters | None = None,
    settings: ModelSettings | None = None,
    *,
    images: int = 0,
) -> AssistantMessage:
    """A chat-completion body -> `AssistantMessage`; tool-call ids are made present and unique.

    Tool calls are decided by their presence, never by `finish_reason`; with a `prompted` profile, those
    written in the text count too (`parameters` and `settings` say which tools were offered and the tool
    choice). A native tool-calling model that wrote its reply as nothing but a call (or a list of calls) of
    offered tools, as JSON text, with no tool calls (Gemini does), gets them as tool calls: a repair, each
    call keeping the text in `original_arguments` (when streamed, that text was already sent as text deltas).
    A thinking model's `reasoning` and `reasoning_details`, and each call's `extra_content`, are kept as sent
    (`_reasoning`). The caller has already checked the body for an `error` object. `images` is how many the
    request carried (priced when the body has no `usage.cost`); OpenRouter's top-level `provider` is kept.
    """
    choices = data.get("choices") or []
    choice = choices[0] if choices else {}
    message = choice.get("message") or {}
    finish = choice.get("native_finish_reason") or choice.get("finish_reason")
    content = message.get("content")
    if isinstance(content, list):  # some servers send content parts even for assistants
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    taken = list(taken_ids)
    calls = unique_tool_calls(message.get("tool_calls") or (), taken)
    content = content or ""
    if parameters is not None and is_prompted(profile, parameters):
        reply = parse_tool_calls(
            content, [t.name for t in parameters.tools], [*taken, *(c.id for c in calls)]
        )
        if tool_choice(parameters, settings) == "none":
            content = reply.text  # no calls were asked for: calls written anyway are dropped
        elif reply.calls:
            content = reply.preamble
            calls.extend(reply.calls)
    elif (
        not calls
        and parameters is not None
        and (written := _calls_in_text(content, parameters, settings, taken))
    ):
        content, calls = "", written
    provider = data.get("provider")
    parsed = AssistantMessage(
        content=content,
        response_id=data["id"] if isinstance(data.get("id"), str) else None,
        tool_calls=calls,
        model_name=data.get("model"),
        provider=provider if isinstance(provider, str) and provider else None,
        finish_reason=finish,
        usage=parse_usage(data.get("usage"), profile, images=images),
        reasoning=reasoning_text(message),
        reasoning_details=reasoning_details(message),
    )
    return restore_reply(parsed, parameters, profile.schema_dialect)


def _calls_in_text(
    content: str, parameters: ModelRequestParameters, settings: ModelSettings | None, taken: list[str]
) -> list[ToolCall]:
    """The calls a native tool-calling model wrote as its whole reply text, if that is all it wrote and it
    names only offered tools (never when no call was asked for, or the answer is JSON by request)."""
    names = [t.name for t in parameters.tools]
    text = content.strip()
    if not names or parameters.response_format is not None or tool_choice(parameters, settings) == "none":
        return []
    if not text.startswith(("{", "[", "```")):
        return []
    reply = parse_tool_calls(text, names, taken)
    if not reply.calls or reply.text or any(c.name not in names for c in reply.calls):
        return []
    return [dataclasses.replace(c, original_arguments=content) for c in reply.calls]


def unique_tool_calls(raw_calls: Iterable[Any], taken_ids: Iterable[str]) -> list[ToolCall]:
    """Tool calls from wire dicts; a missing or repeated id (Gemini sends both) gets a fresh one."""
    taken = set(taken_ids)
    calls: list[ToolCall] = []
    for raw in raw_calls:
        function = raw.get("function") or {}
        call_id = unique_call_id(str(raw.get("id") or ""), taken)
        arguments = function.get("arguments")
        if isinstance(arguments, (dict, list)):
            arguments = json.dumps(arguments)
        extra = raw.get("extra_content")
        calls.append(
            ToolCall(
                id=call_id,
                name=str(function.get("name") or ""),
                arguments=arguments or "",
                extra_content=extra if isinstance(extra, dict) and extra else None,
            )
        )
    return calls
