"""Local repair of a tool call's arguments, when the model's intent is unambiguous (no round trip).

Called by `_run.tool_calls.validate_call` only after the arguments failed to decode or validate, so a well-formed
call never pays for it. Three repairs, each checked by validating the result for the tool again (a repair
whose result still fails validation is dropped and the model gets the original error):

- `repair_text`: the JSON text itself. Trailing commas, single quotes, Python literals (`True`, `None`),
  markdown fences, comments and JSON cut at the output-token limit are repaired by the `json-repair`
  library; the whole arguments sent as one JSON-encoded string are unwrapped; a whole object followed by
  text that begins no other value (`{...} // sum`, `{...} done`, `{...}</tool_call>`) is that object. Like
  every repair, the last is kept only when the object validates for the tool: trailing text after an
  object that does not validate is not accepted.
- `coerce_to_schema`: schema-guided: a string where the tool's schema wants an object or an array and that
  parses to one (a nested object sent as JSON text), a numeric string where it wants a number (pydantic's
  lax mode already accepts `"3"` for an `int` or `float` parameter; `Tool.from_schema` tools validated by
  `jsonschema` do not).
- `split_objects`: two (or more) objects back to back, `{...}{...}`, for two calls of the tool.

What counts as ambiguous (no repair): JSON cut inside a string, a key or a literal (`{"city": "Par`: the
value is wrong, not short), cut text that is not otherwise JSON (cut *and* single-quoted), text with no
object in it, concatenated objects that do not all validate (json-repair would keep only the last one),
an object followed by text holding `{` or `[` (a second value begun: two calls, or one cut short).
A cut between two values (`{"city": "Paris", "days": 3`) is closed: a number cut short cannot be told from
a whole one.

Why json-repair: `benchmarks/bench_repair.py` runs both candidates on 12 cases of the kinds above. Measured
(on a loaded 2-core machine, so the timings are rough): json-repair 0.64.4 through `repair_text` repaired 12
of 12, at 71.1 µs per repair; the prompted-mode parser (`models/_prompted.py`: `_decode_object`, `_loads`,
`_close`) repaired 7 of 12 (it misses comments, mixed JSON/Python literals, arguments sent as a JSON string
and unquoted keys), at 77.3 µs. Importing json-repair costs 42.1 ms cold, 21.0 ms with pydantic already
loaded, so it is imported lazily, on the first repair: `import agentkit` does not load it. The prompted-mode
parser stays where it is (it finds calls inside prose, which json-repair does not do); this module is the
only place json-repair is used.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..exceptions import UserError
from .types import JsonSchema, resolve_ref

__all__ = ["coerce_to_schema", "repair_text", "split_objects"]

_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*(.*?)\s*(?:```\s*)?$", re.DOTALL)
_WHITESPACE = re.compile(r"\s+")
_SEPARATORS = re.compile(r"[\s,]*")


def split_objects(text: str) -> list[dict[str, Any]] | None:
    """Two or more JSON objects written back to back (`{...}{...}`, or a JSON list of objects), else `None`."""
    decoder = json.JSONDecoder()
    body = _unfenced(text)
    objects: list[dict[str, Any]] = []
    position = 0
    while position < len(body):
        try:
            value, position = decoder.raw_decode(body, position)
        except ValueError:
            return None
        if isinstance(value, list) and not objects and position == len(body):
            objects.extend(value)
        else:
            objects.append(value)
        separator = _SEPARATORS.match(body, position)
        position = separator.end() if separator else position
    if len(objects) < 2 or not all(isinstance(o, dict) for o in objects):
        return None
    return objects


def repair_text(text: str) -> dict[str, Any] | None:
    """The object `text` means, when it is not valid JSON (or is one JSON-encoded string) and the repair is
    unambiguous; `None` otherwise (including for valid JSON that needs no repair)."""
    body = _unfenced(text)
    try:
        value = json.loads(body)
    except ValueError:
        pass
    else:
        if isinstance(value, str):  # the whole arguments sent as a JSON string
            inner = repair_text(value)
            if inner is not None:
                return inner
            try:
                value = json.loads(value)
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
        return value if isinstance(value, dict) and body != text.strip() else None
    if "{" not in body or split_objects(body) is not None:
        return None
    try:
        head, end = json.JSONDecoder().raw_decode(body)
    except ValueError:
        pass
    else:  # a whole object, then text
        return head if isinstance(head, dict) and _begins_no_value(body[end:]) else None
    from json_repair import repair_json  # imported on the first repair only

    value = repair_json(body, return_objects=True)
    if not isinstance(value, dict) or not _complete(body, value):
        return None
    return value


def _begins_no_value(rest: str) -> bool:
    """Whether text after a whole object is only noise (a comment, a stray word, `</tool_call>`, a closing
    brace too many), not a second value begun (`{`, `[`: two calls, or one cut short)."""
    return "{" not in rest and "[" not in rest


def _unfenced(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("```"):
        match = _FENCE.match(stripped)
        if match:
            return match.group(1)
    return stripped


def _complete(body: str, value: dict[str, Any]) -> bool:
    """Whether `value` keeps everything `body` says: when `body` is JSON cut short, it must have been cut
    between two values (what json-repair added is only closing brackets)."""
    written = _WHITESPACE.sub("", body).rstrip(",")
    repaired = _WHITESPACE.sub("", json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    if repaired != written and repaired.startswith(written):
        return not repaired[len(written) :].strip("}]")
    return body.rstrip().endswith("}")


def coerce_to_schema(value: Any, schema: JsonSchema, root: JsonSchema | None = None) -> Any:
    """`value` with JSON-encoded strings decoded where `schema` wants an object or array, and numeric
    strings made numbers where it wants a number (returns `value` itself when nothing changed)."""
    root = schema if root is None else root
    schema = _resolved(schema, root)
    wanted = _types(schema, root)
    if isinstance(value, str) and "string" not in wanted:
        return _decoded_string(value, wanted, schema, root)
    if isinstance(value, dict):
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        extra = schema.get("additionalProperties")
        changed = dict(value)
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else None)
            if isinstance(sub, dict):
                changed[key] = coerce_to_schema(item, sub, root)
        return value if all(changed[k] is value[k] for k in value) else changed
    if isinstance(value, list) and isinstance(items := schema.get("items"), dict):
        coerced = [coerce_to_schema(item, items, root) for item in value]
        return value if all(a is b for a, b in zip(coerced, value, strict=True)) else coerced
    return value


def _decoded_string(value: str, wanted: set[str], schema: JsonSchema, root: JsonSchema) -> Any:
    if wanted & {"object", "array"}:
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        kind = "object" if isinstance(decoded, dict) else "array" if isinstance(decoded, list) else None
        if kind in wanted:
            return coerce_to_schema(decoded, _member(schema, kind, root), root)
        return value
    if wanted & {"integer", "number"}:
        try:
            number = float(value.strip())
        except ValueError:
            return value
        if not math.isfinite(number):
            return value
        if number.is_integer() and "." not in value and "e" not in value.lower():
            return int(number)
        return number if "number" in wanted else value
    return value


def _resolved(schema: JsonSchema, root: JsonSchema) -> JsonSchema:
    for _ in range(32):  # a chain of references, never a cycle
        ref = schema.get("$ref")
        if not isinstance(ref, str):
            break
        try:
            schema = resolve_ref(root, ref)
        except UserError:
            break
    return schema


def _types(schema: JsonSchema, root: JsonSchema) -> set[str]:
    """The JSON types `schema` accepts (empty when it does not say)."""
    declared = schema.get("type")
    types = (
        {declared} if isinstance(declared, str) else set(declared) if isinstance(declared, list) else set()
    )
    if "properties" in schema and not types:
        types.add("object")
    for key in ("anyOf", "oneOf"):
        for member in schema.get(key) or ():
            if isinstance(member, dict):
                types |= _types(_resolved(member, root), root)
    if not types and not schema.get("anyOf") and not schema.get("oneOf"):
        types.add("string")  # an unconstrained value: a string is fine as it is
    return types


def _member(schema: JsonSchema, kind: str, root: JsonSchema) -> JsonSchema:
    """The part of `schema` (itself, or one of its `anyOf` / `oneOf` members) that describes `kind`."""
    for key in ("anyOf", "oneOf"):
        for member in schema.get(key) or ():
            if isinstance(member, dict) and kind in _types(resolved := _resolved(member, root), root):
                return resolved
    return schema
