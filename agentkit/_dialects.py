"""Schema dialects: the canonical JSON Schema rewritten for what each model family accepts.

- `standard`: the canonical schema, unchanged.
- `openai-strict`: OpenAI's strict mode (every object closed, every property required, optional ones nullable).
- `gemini`: the OpenAPI subset Gemini accepts through OpenRouter (no `$ref`, no type lists, no `const`, ...).

Each dialect is a pure function schema -> schema. What a dialect changes in the shape of the data (a dict sent
as a list of key/value pairs, an integer enum sent as strings, an optional value sent as `null`) is undone by
`restore_arguments`, which walks the canonical schema, so the function receives its declared types.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from ._type_schema import JsonSchema
from .exceptions import UserError

__all__ = ["DIALECTS", "Dialect", "NotStrictCompatible", "restore_arguments", "to_dialect"]

Dialect = Literal["standard", "openai-strict", "gemini"]
DIALECTS: tuple[Dialect, ...] = ("standard", "openai-strict", "gemini")

GEMINI_RECURSION_DEPTH = 3
"""How many times a recursive definition is unrolled on one path before the optional branch is dropped."""

_GEMINI_KEYS = frozenset(
    {
        "type", "format", "description", "nullable", "enum", "items", "properties", "required", "minItems",
        "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "anyOf", "default",
        "minProperties", "maxProperties",
    }
)  # fmt: skip
_GEMINI_FORMATS = {"string": {"date-time", "enum"}, "integer": {"int32", "int64"}, "number": {"float", "double"}}
_STRICT_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"})
_STRICT_DROP = ("default", "examples", "uniqueItems", "minProperties", "maxProperties", "title", "$schema")
_CUT = object()


class NotStrictCompatible(Exception):  # noqa: N818 - internal signal: send the tool non-strict instead
    """The schema has a part OpenAI's strict mode cannot express."""


def to_dialect(schema: JsonSchema, dialect: Dialect) -> JsonSchema:
    """`schema` rewritten for `dialect` (a new dict; the input is not changed)."""
    if dialect == "standard":
        return schema
    if dialect == "openai-strict":
        defs = {name: _strict(body) for name, body in schema.get("$defs", {}).items()}
        out = _strict({k: v for k, v in schema.items() if k != "$defs"})
        if defs:
            out["$defs"] = defs
        return out
    if dialect == "gemini":
        inlined = _inline(schema, schema.get("$defs", {}), ())
        return _gemini(inlined)
    raise UserError(f"Unknown schema dialect {dialect!r}; use one of {', '.join(DIALECTS)}.")


# --- OpenAI strict ---------------------------------------------------------------------------------------


def _strict(node: JsonSchema) -> JsonSchema:
    out: JsonSchema = {}
    for key, value in node.items():
        if key in _STRICT_DROP or (key == "format" and value not in _STRICT_FORMATS):
            continue
        if key == "properties":
            out[key] = {name: _strict(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _strict(value)
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            out["anyOf" if key == "oneOf" else key] = [_strict(sub) for sub in value]
        else:
            out[key] = value
    if node == {}:
        raise NotStrictCompatible("a value of any type")
    if out.get("type") == "object" or "properties" in out:
        additional = out.get("additionalProperties")
        if isinstance(additional, dict) or (additional is True) or ("properties" not in out and additional is None):
            return _key_value_list(additional if isinstance(additional, dict) else {}, out.get("description"), _strict)
        properties: dict[str, JsonSchema] = out.setdefault("properties", {})
        required = set(out.get("required", ()))
        for name, sub in list(properties.items()):
            if name not in required and not _accepts_null(sub):
                properties[name] = _nullable_anyof(sub)
        out["required"] = list(properties)
        out["additionalProperties"] = False
    return out


def _accepts_null(node: JsonSchema) -> bool:
    t = node.get("type")
    if t == "null" or (isinstance(t, list) and "null" in t) or node.get("nullable") is True:
        return True
    return any(_accepts_null(branch) for branch in node.get("anyOf", ()))


def _nullable_anyof(node: JsonSchema) -> JsonSchema:
    description = node.get("description")
    inner = {k: v for k, v in node.items() if k != "description"}
    out: JsonSchema = {"anyOf": [inner, {"type": "null"}]}
    if description:
        out["description"] = description
    return out


def _key_value_list(value_schema: JsonSchema, description: str | None, transform: Any) -> JsonSchema:
    value = transform(value_schema) if value_schema else {"type": "string"}
    note = "A list of key/value pairs."
    item: JsonSchema = {
        "type": "object",
        "properties": {"key": {"type": "string"}, "value": value},
        "required": ["key", "value"],
    }
    if transform is _strict:
        item["additionalProperties"] = False
    return {"type": "array", "description": f"{description} ({note})" if description else note, "items": item}


# --- Gemini -----------------------------------------------------------------------------------------------


def _inline(node: Any, defs: dict[str, JsonSchema], stack: tuple[str, ...]) -> Any:
    """Replace every `$ref` by its definition; a recursive one is unrolled to a bounded depth, then cut."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in defs:
            raise UserError(f"Schema refers to {node['$ref']!r}, which is not defined under $defs.")
        if stack.count(name) >= GEMINI_RECURSION_DEPTH:
            return _CUT
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return _inline({**defs[name], **siblings}, defs, (*stack, name))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$defs":
            continue
        if key == "properties":
            props = {name: _inline(sub, defs, stack) for name, sub in value.items()}
            cut = [name for name, sub in props.items() if sub is _CUT]
            required = [r for r in node.get("required", ()) if r in cut]
            if required:
                raise UserError(
                    f"Recursive schema: the required property {required[0]!r} nests deeper than "
                    f"{GEMINI_RECURSION_DEPTH} levels, which Gemini cannot express; make it optional."
                )
            out[key] = {name: sub for name, sub in props.items() if sub is not _CUT}
        elif key in ("items", "additionalProperties", "not"):
            sub = _inline(value, defs, stack)
            if sub is _CUT:
                return _CUT
            out[key] = sub
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            subs = [_inline(sub, defs, stack) for sub in value]
            kept = [sub for sub in subs if sub is not _CUT]
            if not kept or (key in ("allOf", "prefixItems") and len(kept) != len(subs)):
                return _CUT
            out[key] = kept
        else:
            out[key] = value
    return out


def _gemini(node: JsonSchema) -> JsonSchema:
    node = _gemini_normalise(node)
    if "anyOf" in node:
        return _gemini_any_of(node)
    notes: list[str] = []
    t = node.get("type")
    if t == "object" or "properties" in node:
        properties = node.get("properties") or {}
        additional = node.get("additionalProperties")
        if not properties:
            value = additional if isinstance(additional, dict) else {}
            pairs = _key_value_list(value, node.get("description"), _gemini)
            return {**pairs, "nullable": True} if node.get("nullable") else pairs
        node["type"] = "object"
        node["properties"] = {name: _gemini(sub) for name, sub in properties.items()}
        if "required" in node:
            node["required"] = [r for r in node["required"] if r in properties]
    elif t == "array":
        if "prefixItems" in node:
            branches = [_gemini(sub) for sub in node["prefixItems"]]
            unique = [b for i, b in enumerate(branches) if b not in branches[:i]]
            node["items"] = unique[0] if len(unique) == 1 else {"anyOf": unique}
        else:
            node["items"] = _gemini(node["items"]) if node.get("items") else {"type": "string"}
        if node.get("uniqueItems"):
            notes.append("items must be unique")
    elif t is None and "enum" not in node:
        node["type"] = "string"
        notes.append("any JSON value, written as a string")
    fmt = node.get("format")
    if fmt is not None and fmt not in _GEMINI_FORMATS.get(str(node.get("type")), ()):
        notes.append(f"format: {fmt}")
        del node["format"]
    for key, phrase in (("exclusiveMinimum", "greater than"), ("exclusiveMaximum", "less than"), ("multipleOf", "a multiple of")):
        if key in node:
            notes.append(f"{phrase} {node[key]}")
    return _gemini_finish(node, notes)


def _gemini_normalise(node: JsonSchema) -> JsonSchema:
    """Rewrite combinators, `const`, type lists and non-string enums into forms Gemini has."""
    node = dict(node)
    if "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")
    for part in node.pop("allOf", ()):
        node = {**part, **node}
    if "const" in node:
        node["enum"] = [node.pop("const")]
    t = node.get("type")
    if isinstance(t, list):
        kinds = [k for k in t if k != "null"]
        if "null" in t:
            node["nullable"] = True
        if len(kinds) == 1:
            node["type"] = kinds[0]
        else:
            del node["type"]
            node["anyOf"] = [{"type": k} for k in kinds]
    if "anyOf" in node:
        branches = [b for b in node["anyOf"] if b.get("type") != "null"]
        if len(branches) != len(node["anyOf"]):
            node["nullable"] = True
        if len(branches) == 1:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            node = {**_gemini_normalise(branches[0]), **rest}
        else:
            node["anyOf"] = branches
    if "enum" in node:
        values = node["enum"]
        if None in values:
            node["nullable"] = True
            values = [v for v in values if v is not None]
        if not all(isinstance(v, str) for v in values):
            node["type"] = "string"
            if "default" in node:
                node["default"] = _enum_text(node["default"])
        else:
            node.setdefault("type", "string")
        node["enum"] = [_enum_text(v) for v in values]
    return node


def _gemini_any_of(node: JsonSchema) -> JsonSchema:
    """Gemini wants `anyOf` alone: shared keys move into every branch."""
    shared = {k: v for k, v in node.items() if k in ("description", "nullable")}
    branches = []
    for branch in node["anyOf"]:
        branches.append(_gemini({**shared, **branch}))
    return {"anyOf": branches}


def _gemini_finish(node: JsonSchema, notes: list[str]) -> JsonSchema:
    out = {k: v for k, v in node.items() if k in _GEMINI_KEYS}
    if notes:
        text = "; ".join(notes)
        out["description"] = f"{out['description']} ({text})" if out.get("description") else text.capitalize()
    return out


def _enum_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# --- Back to declared types -------------------------------------------------------------------------------


def restore_arguments(value: Any, schema: JsonSchema) -> Any:
    """Undo what a dialect did to the shape of the arguments, guided by the canonical `schema`."""
    return _restore(value, schema, schema.get("$defs", {}))


def _restore(value: Any, node: JsonSchema, defs: dict[str, JsonSchema]) -> Any:
    if "$ref" in node:
        target = defs.get(node["$ref"].rsplit("/", 1)[-1])
        return value if target is None else _restore(value, target, defs)
    branches = node.get("anyOf") or node.get("oneOf")
    if branches:
        for branch in branches:
            if _shape_fits(value, branch, defs):
                return _restore(value, branch, defs)
        return value
    if "enum" in node or "const" in node:
        return _restore_enum(value, node.get("enum", [node.get("const")]))
    t = node.get("type")
    if t == "object" or "properties" in node or "additionalProperties" in node:
        return _restore_object(value, node, defs)
    if t == "array" and isinstance(value, list):
        prefix = node.get("prefixItems")
        if prefix:
            return [_restore(v, prefix[i], defs) if i < len(prefix) else v for i, v in enumerate(value)]
        items = node.get("items")
        return [_restore(v, items, defs) for v in value] if isinstance(items, dict) else value
    if node == {} and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _restore_enum(value: Any, options: list[Any]) -> Any:
    if isinstance(value, str) and value not in options:
        for option in options:
            if _enum_text(option) == value:
                return option
    return value


def _restore_object(value: Any, node: JsonSchema, defs: dict[str, JsonSchema]) -> Any:
    additional = node.get("additionalProperties")
    if isinstance(value, list) and all(isinstance(p, dict) and "key" in p for p in value):
        value = {str(p["key"]): p.get("value") for p in value}
    if not isinstance(value, dict):
        return value
    properties: dict[str, JsonSchema] = node.get("properties", {})
    required = set(node.get("required", ()))
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = properties.get(key)
        if sub is None:
            out[key] = _restore(item, additional, defs) if isinstance(additional, dict) else item
        elif item is None and key not in required and not _accepts_null(_resolve(sub, defs)):
            continue  # an optional argument sent as null (strict mode, Gemini): let its default apply
        else:
            out[key] = _restore(item, sub, defs)
    return out


def _resolve(node: JsonSchema, defs: dict[str, JsonSchema]) -> JsonSchema:
    if "$ref" in node:
        return defs.get(node["$ref"].rsplit("/", 1)[-1], node)
    return node


_JSON_KINDS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict, list),
    "null": (type(None),),
}


def _shape_fits(value: Any, node: JsonSchema, defs: dict[str, JsonSchema]) -> bool:
    node = _resolve(node, defs)
    if "enum" in node:
        options = node["enum"]
        return value in options or (isinstance(value, str) and any(_enum_text(o) == value for o in options))
    t = node.get("type")
    if t is None:
        return "properties" not in node or isinstance(value, (dict, list))
    kinds = t if isinstance(t, list) else [t]
    if isinstance(value, bool):
        return "boolean" in kinds
    return any(isinstance(value, _JSON_KINDS.get(k, ())) for k in kinds)
