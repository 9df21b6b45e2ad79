"""Python type -> JSON Schema (2020-12) fragment.

Plain types (scalars, containers, unions, literals, enums, dates, UUIDs, paths, decimals) are translated
directly: that is fast and compact. Classes (pydantic models, dataclasses, TypedDicts, named tuples) and
constrained `Annotated` types are handed to pydantic, which also validates them, so both agree; their
definitions are collected under `$defs`.
"""

from __future__ import annotations

import collections.abc as cabc
import datetime
import decimal
import enum
import ipaddress
import pathlib
import re
import types
import typing
import uuid
from typing import Any, Literal, Union

import typing_extensions

from ..exceptions import UserError

JsonSchema = dict[str, Any]

__all__ = [
    "JsonSchema",
    "SchemaBuilder",
    "UnsupportedType",
    "annotation_description",
    "resolve_ref",
    "strip_titles",
    "valid_tool_name",
]

_SCALARS: dict[object, JsonSchema] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    None: {"type": "null"},
    bytes: {"type": "string", "format": "binary"},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
    datetime.time: {"type": "string", "format": "time"},
    datetime.timedelta: {"type": "string", "format": "duration"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    pathlib.Path: {"type": "string", "format": "path"},
    pathlib.PurePath: {"type": "string", "format": "path"},
    decimal.Decimal: {"type": "string", "format": "decimal"},
    ipaddress.IPv4Address: {"type": "string", "format": "ipv4"},
    ipaddress.IPv6Address: {"type": "string", "format": "ipv6"},
}
_ANY = (Any, object, typing_extensions.Any)
# `typing.List`, `typing.Sequence` and the other aliases have these as their origin.
_LISTS = (list, cabc.Sequence, cabc.MutableSequence, cabc.Iterable, cabc.Collection)
_SETS = (set, frozenset, cabc.Set, cabc.MutableSet)
_DICTS = (dict, cabc.Mapping, cabc.MutableMapping)
_UNIONS: tuple[object, ...] = (Union, types.UnionType)
_LITERALS = (Literal, typing_extensions.Literal)
_NOT_REQUIRED = (typing_extensions.NotRequired, typing_extensions.Required, typing_extensions.ReadOnly)
_DATA_KEYS = frozenset({"default", "examples", "enum", "const"})
"""Keys whose values are data, not schemas: a `title` inside them is kept."""


class UnsupportedType(Exception):
    """An annotation that has no JSON Schema form (a signal, turned into a `UserError` by the caller)."""


def strip_titles(schema: Any) -> Any:
    """Remove pydantic's `title` keys from a schema (not properties that happen to be named `title`)."""
    if isinstance(schema, dict):
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "title" and isinstance(value, str):
                continue
            if key in _DATA_KEYS:
                out[key] = value
            elif key in ("properties", "$defs", "patternProperties") and isinstance(value, dict):
                out[key] = {name: strip_titles(sub) for name, sub in value.items()}
            else:
                out[key] = strip_titles(value)
        return out
    if isinstance(schema, list):
        return [strip_titles(item) for item in schema]
    return schema


class SchemaBuilder:
    """Builds schema fragments for one function, gathering class definitions into `defs`."""

    def __init__(self) -> None:
        self.defs: dict[str, JsonSchema] = {}

    def build(self, annotation: object) -> JsonSchema:
        """The JSON Schema fragment for `annotation`; raises `UnsupportedType`."""
        direct = _SCALARS.get(annotation) if _hashable(annotation) else None
        if direct is not None:
            return dict(direct)
        if annotation in _ANY:
            return {}
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is typing.Annotated:
            return self._annotated(annotation, args)
        if origin in _NOT_REQUIRED:
            return self.build(args[0])
        if origin in _UNIONS:
            return self._union(args)
        if origin in _LITERALS:
            return _literal(args)
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            return _enum(annotation)
        container = origin if origin is not None else annotation
        if container is tuple:
            return self._tuple(annotation, args)
        if container in _LISTS or container in _SETS:
            return self._sequence(container, args)
        if container in _DICTS:
            return self._dict(args)
        if isinstance(annotation, typing.TypeVar):
            raise UnsupportedType(f"type variable {annotation!r}")
        if isinstance(annotation, (str, typing.ForwardRef)):
            raise UnsupportedType(f"unresolved forward reference {annotation!r}")
        return self._pydantic(annotation)

    def _annotated(self, annotation: object, args: tuple[Any, ...]) -> JsonSchema:
        base, *metadata = args
        others = [m for m in metadata if not isinstance(m, str)]
        schema = self._pydantic(annotation) if others else self.build(base)
        description = annotation_description(annotation)
        if description:
            schema = {**schema, "description": description}
        return schema

    def _union(self, args: tuple[Any, ...]) -> JsonSchema:
        branches: list[JsonSchema] = []
        for arg in args:
            sub = self.build(arg)
            if sub == {}:
                return {}
            for branch in sub["anyOf"] if list(sub) == ["anyOf"] else [sub]:
                if branch not in branches:
                    branches.append(branch)
        return branches[0] if len(branches) == 1 else {"anyOf": branches}

    def _sequence(self, container: object, args: tuple[Any, ...]) -> JsonSchema:
        schema: JsonSchema = {"type": "array"}
        if args:
            item = self.build(args[0])
            if item:
                schema["items"] = item
        if container in _SETS:
            schema["uniqueItems"] = True
        return schema

    def _tuple(self, annotation: object, args: tuple[Any, ...]) -> JsonSchema:
        if annotation is tuple or annotation is typing.Tuple:  # noqa: UP006 - the bare alias is what is tested
            return {"type": "array"}
        if len(args) == 2 and args[1] is Ellipsis:
            return self._sequence(list, args[:1])
        if not args or args == ((),):
            return {"type": "array", "maxItems": 0}
        items = [self.build(a) for a in args]
        return {"type": "array", "prefixItems": items, "minItems": len(items), "maxItems": len(items)}

    def _dict(self, args: tuple[Any, ...]) -> JsonSchema:
        schema: JsonSchema = {"type": "object"}
        if args:
            key, value = args
            if key is not str and typing.get_origin(key) not in _LITERALS and key not in _ANY:
                raise UnsupportedType(f"dict keys must be str, not {key!r}")
            schema["additionalProperties"] = self.build(value)
        else:
            schema["additionalProperties"] = {}
        return schema

    def _pydantic(self, annotation: object) -> JsonSchema:
        from pydantic import PydanticSchemaGenerationError, TypeAdapter

        try:
            adapter: TypeAdapter[Any] = TypeAdapter(typing.cast("Any", annotation))
            generated = adapter.json_schema(ref_template="#/$defs/{model}")
        except (PydanticSchemaGenerationError, TypeError) as exc:  # not a type pydantic knows
            raise UnsupportedType(f"{annotation!r}") from exc
        except Exception as exc:  # pydantic raises several error types for unusable classes
            raise UnsupportedType(f"{annotation!r} ({str(exc).splitlines()[0]})") from exc
        generated = strip_titles(generated)
        defs: dict[str, JsonSchema] = generated.pop("$defs", {})
        renames = {name: self._add_def(name, body) for name, body in defs.items()}
        if any(old != new for old, new in renames.items()):
            generated = _rename_refs(generated, renames)
            for new in renames.values():
                self.defs[new] = _rename_refs(self.defs[new], renames)
        return typing.cast("JsonSchema", generated)

    def _add_def(self, name: str, body: JsonSchema) -> str:
        candidate, n = name, 2
        while candidate in self.defs and self.defs[candidate] != body:
            candidate, n = f"{name}{n}", n + 1
        self.defs[candidate] = body
        return candidate


def annotation_description(annotation: object) -> str | None:
    """The description an `Annotated[T, "text"]` or `Annotated[T, Field(description=...)]` gives, if any."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    texts: list[str] = []
    for meta in typing.get_args(annotation)[1:]:
        if isinstance(meta, str):
            text: object = meta
        else:
            from pydantic.fields import FieldInfo

            text = meta.description if isinstance(meta, FieldInfo) else None
        if isinstance(text, str) and text.strip():
            texts.append(text.strip())
    return " ".join(texts) or None


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _json_type(values: list[Any]) -> str | None:
    kinds = {type(v) for v in values}
    for py, name in ((str, "string"), (bool, "boolean"), (int, "integer"), (float, "number")):
        if kinds == {py}:
            return name
    return "number" if kinds <= {int, float} else None


def _literal(args: tuple[Any, ...]) -> JsonSchema:
    values = [a.value if isinstance(a, enum.Enum) else a for a in args]
    schema: JsonSchema = {}
    json_type = _json_type(values)
    if json_type:
        schema["type"] = json_type
    schema["enum"] = values
    return schema


def _enum(cls: type[enum.Enum]) -> JsonSchema:
    return _literal(tuple(member.value for member in cls))


def _rename_refs(schema: Any, renames: dict[str, str]) -> Any:
    if isinstance(schema, dict):
        out = {k: _rename_refs(v, renames) for k, v in schema.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            out["$ref"] = "#/$defs/" + renames.get(ref[8:], ref[8:])
        return out
    if isinstance(schema, list):
        return [_rename_refs(v, renames) for v in schema]
    return schema


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


def valid_tool_name(name: str) -> bool:
    """Names every provider accepts: letters, digits, `_` and `-`, at most 64, not starting with a digit."""
    return bool(_IDENTIFIER.match(name))


def resolve_ref(root: JsonSchema, ref: str) -> JsonSchema:
    """The schema a local `$ref` (`#`, `#/$defs/X`, `#/definitions/X`, any JSON pointer) points to."""
    if not ref.startswith("#"):
        raise UserError(f"Schema refers to {ref!r}; only local references (starting with '#') are supported.")
    node: Any = root
    for part in ref[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise UserError(f"Schema refers to {ref!r}, which it does not define.")
    if not isinstance(node, dict):
        raise UserError(f"Schema refers to {ref!r}, which is not a schema object.")
    return node
