"""Schema dialects: the canonical JSON Schema rewritten for what each model family accepts.

- `standard`: the canonical schema, unchanged.
- `openai-strict`: OpenAI's strict mode (every object closed, every property required, optional ones nullable,
  keywords it rejects removed with their meaning kept in the description). A schema strict mode cannot
  express raises `NotStrictCompatible`; the tool is then sent non-strict.
- `gemini`: the OpenAPI subset Gemini accepts through OpenRouter (no `$ref`, no type lists, no `const`,
  `anyOf` alone, string enums, `nullable`, dicts as key/value lists, ...).

Each dialect is a pure function schema -> schema. What a dialect changes in the shape of the data (a dict
sent as a list of key/value pairs, an integer enum sent as strings, an optional value sent as `null`, any
JSON value sent as a string) is undone by `restore_arguments`, which walks the canonical schema, so the
function receives its declared types.

Inside `dialect_changes()` (`_schema_changes`), the same functions record what they change (`SchemaChange`:
where, what, and whether the meaning is kept), for `agentkit tools --check`; outside it, recording costs
one context variable read per change.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from .._schema.types import JsonSchema, resolve_ref
from ..exceptions import UserError
from ._schema_changes import SchemaChange, dialect_changes, left_out, record_change, under

__all__ = [
    "DIALECTS",
    "Dialect",
    "NotStrictCompatible",
    "SchemaChange",
    "dialect_changes",
    "record_change",
    "resolve_ref",
    "restore_arguments",
    "to_dialect",
]

Dialect = Literal["standard", "openai-strict", "gemini"]
DIALECTS: tuple[Dialect, ...] = ("standard", "openai-strict", "gemini")

GEMINI_RECURSION_DEPTH = 3
"""How many times a recursive definition is unrolled on one path before the optional branch is dropped."""

_NOTES = {
    "exclusiveMinimum": "greater than {}",
    "exclusiveMaximum": "less than {}",
    "multipleOf": "a multiple of {}",
    "minLength": "at least {} characters",
    "maxLength": "at most {} characters",
    "minProperties": "at least {} entries",
    "maxProperties": "at most {} entries",
    "pattern": "matching the pattern {}",
    "format": "format: {}",
}
"""How a dropped keyword's meaning is kept in the description."""
_TYPE_KEYS = (
    "type",
    "$ref",
    "anyOf",
    "oneOf",
    "allOf",
    "enum",
    "const",
    "properties",
    "items",
    "additionalProperties",
)
"""A schema with none of these accepts any value."""


class NotStrictCompatible(Exception):
    """The schema has a part OpenAI's strict mode cannot express: send the tool non-strict (a signal)."""


def to_dialect(schema: JsonSchema, dialect: Dialect) -> JsonSchema:
    """`schema` rewritten for `dialect` (a new dict, except for `standard`; the input is never changed).

    For Gemini, a schema without properties (a tool without arguments) becomes `{}`: send no `parameters`.
    """
    if dialect == "standard":
        return schema
    if dialect == "openai-strict":
        return _strict(schema, root=True)
    if dialect == "gemini":
        inlined = _settle(_inline(schema, schema, ()))
        if not isinstance(inlined, dict) or not inlined.get("properties"):
            if isinstance(schema, dict) and schema.get("properties"):
                record_change("no parameters left: sent without parameters", kept=False)
            return {}
        return _gemini(inlined)
    raise UserError(f"Unknown schema dialect {dialect!r}; use one of {', '.join(DIALECTS)}.")


def _note(key: str, value: object) -> str:
    return _NOTES[key].format(json.dumps(value) if key == "pattern" else value)


def _describe(node: JsonSchema, notes: list[str]) -> JsonSchema:
    if notes:
        text = "; ".join(notes)
        node["description"] = (
            f"{node['description']} ({text})" if node.get("description") else text[0].upper() + text[1:]
        )
    return node


def _accepts_null(node: JsonSchema) -> bool:
    if not any(key in node for key in _TYPE_KEYS):
        return True
    t = node.get("type")
    if t == "null" or (isinstance(t, list) and "null" in t) or node.get("nullable") is True:
        return True
    if None in node.get("enum", ()) or ("const" in node and node["const"] is None):
        return True
    return any(_accepts_null(branch) for branch in node.get("anyOf") or node.get("oneOf") or ())


def _key_value_list(value: JsonSchema, description: str | None, closed: bool) -> JsonSchema:
    """A `dict[str, T]` as a list of `{key, value}` objects, for dialects without arbitrary keys."""
    item: JsonSchema = {
        "type": "object",
        "properties": {"key": {"type": "string"}, "value": value},
        "required": ["key", "value"],
    }
    if closed:
        item["additionalProperties"] = False
    note = "A list of key/value pairs."
    return {"type": "array", "description": f"{description} ({note})" if description else note, "items": item}


# --- OpenAI strict ---------------------------------------------------------------------------------------

_STRICT_KEYS = frozenset(
    {
        "type", "description", "enum", "const", "properties", "required", "additionalProperties", "items",
        "anyOf", "$ref", "$defs", "definitions", "pattern", "format", "multipleOf", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems",
    }
)  # fmt: skip
_STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
_STRICT_NOTED = frozenset({"minLength", "maxLength", "minProperties", "maxProperties"})
_STRICT_IMPOSSIBLE = (
    "prefixItems", "not", "if", "then", "else", "patternProperties", "propertyNames", "dependentSchemas",
    "dependentRequired", "unevaluatedProperties", "unevaluatedItems", "contains", "$dynamicRef",
)  # fmt: skip
_LOOKAROUND = ("(?=", "(?!", "(?<=", "(?<!")


def _strict(node: Any, *, root: bool = False) -> JsonSchema:
    if not isinstance(node, dict):
        raise NotStrictCompatible("a boolean schema")
    if root and node.get("type", "object") != "object":
        raise NotStrictCompatible("arguments that are not an object")
    if "allOf" in node:
        record_change("allOf merged")
    node = _merge_all_of(node)
    if "oneOf" in node:
        if "anyOf" in node:
            raise NotStrictCompatible("anyOf and oneOf together")
        record_change("oneOf sent as anyOf")
        node = {("anyOf" if k == "oneOf" else k): v for k, v in node.items()}
    impossible = [key for key in _STRICT_IMPOSSIBLE if key in node]
    if impossible:
        raise NotStrictCompatible(impossible[0])
    if not root and not any(key in node for key in _TYPE_KEYS):
        raise NotStrictCompatible("a value of any type")
    out: JsonSchema = {}
    notes: list[str] = []
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: under(f".{name}", _strict, sub) for name, sub in value.items()}
        elif key in ("$defs", "definitions"):
            out[key] = {name: under(f"#{name}", _strict, sub) for name, sub in value.items()}
        elif key == "items":
            out[key] = under("[]", _strict, value)
        elif key == "anyOf":
            out[key] = [_strict(sub) for sub in value]
        elif key == "uniqueItems":
            if value:
                notes.append("items must be unique")
        elif _strict_drops(key, value):
            notes.append(_note(key, value))
        elif key in _STRICT_KEYS and key != "additionalProperties":
            out[key] = value
        elif key != "additionalProperties":
            left_out([key])
    if notes:
        record_change(f"said in the description: {'; '.join(notes)}")
    _describe(out, notes)
    if out.get("type") == "array" and "items" not in out:
        raise NotStrictCompatible("an array of any items")
    if root or out.get("type") == "object" or "properties" in node or "additionalProperties" in node:
        return _strict_object(node, out, root)
    if "$ref" in out and len(out) > 1:
        # Strict mode allows no siblings next to `$ref`, but does next to `anyOf`.
        out = {"anyOf": [{"$ref": out.pop("$ref")}], **out}
    return out


def _strict_drops(key: str, value: object) -> bool:
    """Whether strict mode rejects this keyword (its meaning then goes into the description)."""
    if key == "format":
        return value not in _STRICT_FORMATS
    if key == "pattern":  # OpenAI's regex engine has no look-around
        return any(token in str(value) for token in _LOOKAROUND)
    return key in _STRICT_NOTED


def _merge_all_of(node: JsonSchema) -> JsonSchema:
    parts = node.get("allOf")
    if parts is None:
        return node
    if len(parts) != 1:
        raise NotStrictCompatible("allOf")
    rest = {k: v for k, v in node.items() if k != "allOf"}
    return {**parts[0], **rest}


def _strict_object(node: JsonSchema, out: JsonSchema, root: bool) -> JsonSchema:
    additional = node.get("additionalProperties")
    if "properties" not in node and not root:
        if not isinstance(additional, dict):
            raise NotStrictCompatible("an object with any keys and values")
        record_change("a dict sent as a list of key/value pairs")
        return _key_value_list(under("[]", _strict, additional), out.get("description"), closed=True)
    if additional not in (None, False):
        raise NotStrictCompatible("an object with both declared and arbitrary keys")
    properties: dict[str, JsonSchema] = out.get("properties", {})
    required = set(node.get("required", ()))
    out["type"] = "object"
    out["properties"] = {
        name: sub if name in required else under(f".{name}", _strict_nullable, sub)
        for name, sub in properties.items()
    }
    out["required"] = list(properties)
    out["additionalProperties"] = False
    return out


def _strict_nullable(node: JsonSchema) -> JsonSchema:
    """An optional property, which strict mode makes required: `null` stands for "not given"."""
    record_change("optional: sent as required, null meaning not given")
    if _accepts_null(node):
        return node
    t = node.get("type")
    if t in ("string", "integer", "number", "boolean") and "enum" not in node and "const" not in node:
        return {**node, "type": [t, "null"]}
    if list(node) == ["anyOf"] or (list(node) == ["anyOf", "description"]):
        return {**node, "anyOf": [*node["anyOf"], {"type": "null"}]}
    description = node.get("description")
    inner = {k: v for k, v in node.items() if k != "description"}
    out: JsonSchema = {"anyOf": [inner, {"type": "null"}]}
    if description:
        out["description"] = description
    return out


# --- Gemini: inline references ----------------------------------------------------------------------------

_CUT: Any = object()
"""A branch dropped because it nests a recursive definition deeper than `GEMINI_RECURSION_DEPTH`."""


class _Limit:
    """A recursive branch cut down to the one value it can still take (an empty list, `null`).

    An optional property that reaches its limit is dropped; a required one keeps `schema`.
    """

    def __init__(self, schema: JsonSchema) -> None:
        self.schema = schema


def _settle(node: Any) -> Any:
    return node.schema if isinstance(node, _Limit) else node


def _is_null(node: Any) -> bool:
    return isinstance(node, dict) and node.get("type") == "null"


def _inline(node: Any, root: JsonSchema, stack: tuple[str, ...]) -> Any:
    """Replace every `$ref` by its definition; a recursive one is unrolled to a bounded depth, then cut."""
    if not isinstance(node, dict):
        return {} if node is True else _CUT if node is False else node
    if "$ref" in node:
        ref = node["$ref"]
        if stack.count(ref) >= GEMINI_RECURSION_DEPTH:
            return _CUT
        record_change(f"{ref} written out in place")
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return _inline({**resolve_ref(root, ref), **siblings}, root, (*stack, ref))
    out: dict[str, Any] = {}
    items_cut = limited = False
    for key, value in node.items():
        if key in ("$defs", "definitions"):
            continue
        if key == "properties":
            out[key] = _inline_properties(value, set(node.get("required", ())), root, stack)
        elif key == "additionalProperties" and not isinstance(value, dict):
            out[key] = value
        elif key in ("items", "additionalProperties", "not"):
            sub = under("[]", _inline, value, root, stack) if key == "items" else _inline(value, root, stack)
            if sub is _CUT and key == "items":
                items_cut = True
            elif sub is _CUT and key == "additionalProperties":
                return _CUT
            elif sub is not _CUT:
                out[key] = _settle(sub)
        elif key in ("allOf", "prefixItems"):
            subs = [_inline(sub, root, stack) for sub in value]
            if any(sub is _CUT for sub in subs):
                return _CUT
            out[key] = [_settle(sub) for sub in subs]
        elif key in ("anyOf", "oneOf"):
            subs = [_inline(sub, root, stack) for sub in value]
            live = [sub for sub in subs if sub is not _CUT and not isinstance(sub, _Limit)]
            if not any(not _is_null(sub) for sub in live):  # only null, or limits, are left
                live = [_settle(sub) for sub in subs if isinstance(sub, _Limit)] + live
                if not live:
                    return _CUT
                limited = limited or len(live) < len(subs) or any(isinstance(sub, _Limit) for sub in subs)
            out[key] = live
        else:
            out[key] = value
    if items_cut:
        if node.get("minItems", 0) > 0:
            return _CUT
        note = "must be empty here: nesting limit reached"
        return _Limit(_describe({**out, "items": {"type": "string"}, "maxItems": 0}, [note]))
    return _Limit(out) if limited else out


def _inline_properties(
    properties: dict[str, Any], required: set[str], root: JsonSchema, stack: tuple[str, ...]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sub in properties.items():
        inlined = under(f".{name}", _inline, sub, root, stack)
        if inlined is _CUT or isinstance(inlined, _Limit):
            if name not in required:
                note = f"left out past {GEMINI_RECURSION_DEPTH} levels of recursive nesting"
                record_change(
                    "left out: it takes no value" if sub is False else note, kept=False, at=f".{name}"
                )
                continue  # an optional branch of a recursive definition: cut here
            note = f"cut past {GEMINI_RECURSION_DEPTH} levels of recursive nesting (empty or null there)"
            record_change(note, kept=False, at=f".{name}")
            if inlined is _CUT:
                raise UserError(
                    f"Recursive schema: the required property {name!r} nests deeper than "
                    f"{GEMINI_RECURSION_DEPTH} levels, which Gemini cannot express; make it optional."
                )
        out[name] = _settle(inlined)
    return out


# --- Gemini: rewrite --------------------------------------------------------------------------------------

_GEMINI_KEYS = frozenset(
    {
        "type", "format", "description", "nullable", "enum", "items", "properties", "required", "minItems",
        "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "anyOf", "default",
        "minProperties", "maxProperties",
    }
)  # fmt: skip
_GEMINI_FORMATS = {
    "string": {"date-time", "enum"},
    "integer": {"int32", "int64"},
    "number": {"float", "double"},
}
_SCALAR_DEFAULT = (str, int, float, bool)
_GEMINI_TOLD = frozenset({"exclusiveMinimum", "exclusiveMaximum", "multipleOf", "uniqueItems", "prefixItems"})
"""Keywords Gemini does not take whose meaning goes into the description (or into `items`)."""


def _gemini(node: JsonSchema) -> JsonSchema:
    node = _gemini_normalise(node)
    if "anyOf" in node:
        return _gemini_any_of(node)
    notes: list[str] = []
    t = node.get("type")
    if t == "object" or "properties" in node or "additionalProperties" in node:
        properties = node.get("properties") or {}
        if not properties:
            additional = node.get("additionalProperties")
            record_change("a dict sent as a list of key/value pairs")
            value = under("[]", _gemini, additional if isinstance(additional, dict) else {})
            pairs = _key_value_list(value, node.get("description"), closed=False)
            return {**pairs, "nullable": True} if node.get("nullable") else pairs
        node["type"] = "object"
        node["properties"] = {name: under(f".{name}", _gemini, sub) for name, sub in properties.items()}
        required = [r for r in node.get("required", ()) if r in properties]
        if required:
            node["required"] = required
        else:
            node.pop("required", None)
    elif t == "array":
        if "prefixItems" in node:
            record_change("a tuple sent as a list: which item goes where is not told", kept=False)
            branches = [under("[]", _gemini, sub) for sub in node["prefixItems"]]
            unique = [b for i, b in enumerate(branches) if b not in branches[:i]]
            node["items"] = unique[0] if len(unique) == 1 else {"anyOf": unique}
        else:
            items = node.get("items")
            node["items"] = under("[]", _gemini, items if isinstance(items, dict) else {})
        if node.get("uniqueItems"):
            notes.append("items must be unique")
    elif t == "null":
        node["type"] = "string"
        node["nullable"] = True
        notes.append("always null")
    elif t is None:
        node["type"] = "string"
        node["nullable"] = True
        notes.append("any JSON value, written as a string")
        record_change("any JSON value sent as a string")
    fmt = node.get("format")
    if fmt is not None and fmt not in _GEMINI_FORMATS.get(str(node["type"]), ()):
        notes.append(_note("format", fmt))
        del node["format"]
    notes.extend(
        _note(key, node[key]) for key in ("exclusiveMinimum", "exclusiveMaximum", "multipleOf") if key in node
    )
    if "default" in node and not isinstance(node["default"], _SCALAR_DEFAULT):
        record_change("default left out (not a scalar)")
        del node["default"]
    left_out(k for k in node if k not in _GEMINI_KEYS and k not in _GEMINI_TOLD)
    if notes:
        record_change(f"said in the description: {'; '.join(notes)}")
    out = {k: v for k, v in node.items() if k in _GEMINI_KEYS}
    return _describe(out, notes)


def _gemini_normalise(node: JsonSchema) -> JsonSchema:
    """Rewrite combinators, `const`, type lists and non-string enums into forms Gemini has."""
    if "allOf" in node:
        record_change("allOf merged")
    node = _gemini_merge_all_of(node)
    if "oneOf" in node:
        record_change("oneOf sent as anyOf")
        node["anyOf"] = [*node.get("anyOf", ()), *node.pop("oneOf")]
    if "const" in node:
        record_change("const sent as a one-value enum")
        node["enum"] = [node.pop("const")]
    t = node.get("type")
    if isinstance(t, list):
        record_change("a list of types sent as anyOf / nullable")
        kinds = [k for k in t if k != "null"]
        if "null" in t:
            node["nullable"] = True
        if len(kinds) <= 1:
            node["type"] = kinds[0] if kinds else "null"
        else:
            del node["type"]
            node["anyOf"] = [{"type": k} for k in kinds]
    if "anyOf" in node:
        branches = [b for b in node["anyOf"] if b.get("type") != "null"]
        if len(branches) != len(node["anyOf"]):
            node["nullable"] = True
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        if not branches:
            node = {**rest, "type": "null"}
        elif len(branches) == 1:
            node = {**_gemini_normalise(branches[0]), **rest}
        else:
            node["anyOf"] = branches
    if "enum" in node:
        values = node["enum"]
        if None in values:
            node["nullable"] = True
            values = [v for v in values if v is not None]
        if not values:  # `Literal[None]`
            del node["enum"]
            node["type"] = "null"
            return node
        if node.get("default") is not None:
            node["default"] = _enum_text(node["default"])
        if not all(isinstance(v, str) for v in values):
            record_change("enum values sent as strings")
        node["type"] = "string"
        node["enum"] = [_enum_text(v) for v in values]
    return node


def _gemini_merge_all_of(node: JsonSchema) -> JsonSchema:
    node = dict(node)
    for part in node.pop("allOf", ()):
        for key, value in _gemini_merge_all_of(part).items():
            if key == "properties" and key in node:
                node[key] = {**value, **node[key]}
            elif key == "required" and key in node:
                node[key] = list(dict.fromkeys([*node[key], *value]))
            else:
                node.setdefault(key, value)
    return node


def _gemini_any_of(node: JsonSchema) -> JsonSchema:
    """Gemini wants `anyOf` alone: the description and `nullable` move into every branch."""
    shared = {k: v for k, v in node.items() if k in ("description", "nullable")}
    branches: list[JsonSchema] = []
    for branch in node["anyOf"]:
        converted = _gemini({**branch, **shared})
        branches.extend(converted["anyOf"] if list(converted) == ["anyOf"] else [converted])
    return {"anyOf": branches}


def _enum_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# --- Back to declared types -------------------------------------------------------------------------------


def restore_arguments(value: Any, schema: JsonSchema, dialect: Dialect = "standard") -> Any:
    """Undo what `dialect` did to the shape of the arguments, guided by the canonical `schema`.

    Key/value lists become dicts, enum values sent as text their real values, and `null` for an optional
    property that does not accept it is dropped so its default applies. For Gemini, a value of any type
    (sent as JSON text) is decoded.
    """
    return _restore(value, schema, schema, dialect == "gemini")


def _restore(value: Any, node: Any, root: JsonSchema, decode: bool) -> Any:
    if not isinstance(node, dict):
        return value
    if "$ref" in node:
        return _restore(value, resolve_ref(root, node["$ref"]), root, decode)
    for part in node.get("allOf", ()):
        value = _restore(value, part, root, decode)
    branches = node.get("anyOf") or node.get("oneOf")
    if branches:
        for branch in branches:
            if _shape_fits(value, branch, root):
                return _restore(value, branch, root, decode)
        return value
    if "enum" in node or "const" in node:
        return _restore_enum(value, node.get("enum", [node.get("const")]))
    t = node.get("type")
    if t == "object" or "properties" in node or "additionalProperties" in node:
        return _restore_object(value, node, root, decode)
    if t == "array" and isinstance(value, list):
        prefix = node.get("prefixItems")
        if prefix:
            return [
                _restore(v, prefix[i], root, decode) if i < len(prefix) else v for i, v in enumerate(value)
            ]
        items = node.get("items", {})
        return [_restore(v, items, root, decode) for v in value]
    if decode and isinstance(value, str) and not any(key in node for key in _TYPE_KEYS):
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


def _restore_object(value: Any, node: JsonSchema, root: JsonSchema, decode: bool) -> Any:
    if isinstance(value, list) and all(isinstance(p, dict) and "key" in p for p in value):
        value = {str(p["key"]): p.get("value") for p in value}
    if not isinstance(value, dict):
        return value
    properties: dict[str, Any] = node.get("properties", {})
    additional = node.get("additionalProperties", {} if not properties else None)
    required = set(node.get("required", ()))
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = properties.get(key)
        if sub is None:
            out[key] = _restore(item, additional, root, decode)
        elif item is None and key not in required and not _accepts_null(_resolve(sub, root)):
            continue  # an optional argument sent as null (strict mode, Gemini): let its default apply
        else:
            out[key] = _restore(item, sub, root, decode)
    return out


def _resolve(node: Any, root: JsonSchema) -> JsonSchema:
    if not isinstance(node, dict):
        return {}
    return _resolve(resolve_ref(root, node["$ref"]), root) if "$ref" in node else node


_JSON_KINDS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict, list),
    "null": (type(None),),
}


def _shape_fits(value: Any, node: Any, root: JsonSchema) -> bool:
    """Whether `value` (as a dialect may have sent it) could be meant for the branch `node`."""
    node = _resolve(node, root)
    if "enum" in node or "const" in node:
        options = node.get("enum", [node.get("const")])
        return value in options or (isinstance(value, str) and any(_enum_text(o) == value for o in options))
    branches = node.get("anyOf") or node.get("oneOf")
    if branches:
        return any(_shape_fits(value, branch, root) for branch in branches)
    t = node.get("type")
    if t is None:
        return "properties" not in node or isinstance(value, (dict, list))
    kinds = t if isinstance(t, list) else [t]
    if isinstance(value, bool):
        return "boolean" in kinds
    return any(isinstance(value, _JSON_KINDS.get(k, ())) for k in kinds)
