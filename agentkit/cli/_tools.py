"""`agentkit tools SPEC...`: the tool schemas a model is sent, in its schema dialect."""

from __future__ import annotations

import argparse
import json
import os
import textwrap
from typing import Any

from .._dialects import DIALECTS, Dialect
from ..models import DEFAULT_MODEL
from ..models.profiles import profile_for
from ..tool import Tool
from ._specs import load_tools

__all__ = ["add_tools_parser", "tools_command"]

DESCRIPTION = """\
Print the tools' schemas as the model is sent them: each tool's name, description and parameters
(with --json, one JSON document: {"model", "dialect", "tools": [the request's tools[] entries]}).

The dialect is the model's (--model, else AGENTKIT_MODEL, else the library's default model) unless
--dialect is given: gemini (no $ref, no additionalProperties, string enums), openai-strict (strict
schemas), standard (JSON Schema as is). Specs are those of `agentkit run`."""


def add_tools_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `agentkit tools` to the command line."""
    tools = commands.add_parser(
        "tools",
        help="show the schemas of tools as a model sees them",
        description=DESCRIPTION,
        epilog="exit codes:\n  0    success\n  2    misuse: bad flags, tools that do not load",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tools.add_argument(
        "specs", nargs="+", metavar="SPEC", help="tools.py, module, module:name, calculator..."
    )
    tools.add_argument("--dialect", choices=DIALECTS, help="the schema dialect (default: the model's)")
    tools.add_argument("--model", metavar="ID", help="the model whose dialect to use")
    tools.add_argument("--json", action="store_true", help="print one JSON document")


def tools_command(args: argparse.Namespace) -> int:
    """Run `agentkit tools`; returns the exit code."""
    tools = load_tools(args.specs)
    model: str = args.model or os.environ.get("AGENTKIT_MODEL") or DEFAULT_MODEL
    dialect: Dialect = args.dialect or profile_for(model).schema_dialect
    entries = [found.openai_tool(dialect) for found in tools]
    if args.json:
        print(
            json.dumps({"model": model, "dialect": dialect, "tools": entries}, indent=2, ensure_ascii=False)
        )
        return 0
    count = f"{len(tools)} tool" + ("s" if len(tools) != 1 else "")
    whose = "" if args.dialect else f" (the one {model} is sent)"
    print(f"{count}, in the {dialect} dialect{whose}")
    for found, entry in zip(tools, entries, strict=True):
        print()
        print(_describe(found, entry))
    return 0


def _describe(found: Tool[..., Any], entry: dict[str, Any]) -> str:
    function = entry["function"]
    strict = " (strict)" if function.get("strict") else ""
    lines = [f"{function['name']}{strict}"]
    if function.get("description"):
        lines.append(textwrap.indent(function["description"], "  "))
    parameters: dict[str, Any] = function.get("parameters") or {}
    required = set(parameters.get("required", ()))
    properties: dict[str, Any] = parameters.get("properties") or {}
    lines.append("  parameters:" if properties else "  no parameters")
    for name, schema in properties.items():
        facts = ["required"] if name in required else []
        if "default" in schema:
            facts.append(f"default {json.dumps(schema['default'], ensure_ascii=False)}")
        notes = f"  [{', '.join(facts)}]" if facts else ""
        lines.append(f"    {name}: {_type_text(schema, parameters)}{notes}")
        if schema.get("description"):
            lines.append(textwrap.indent(schema["description"], "        "))
    if found.takes_ctx:
        lines.append("  (the function also receives the run context, which is not in the schema)")
    return "\n".join(lines)


def _type_text(schema: dict[str, Any], root: dict[str, Any]) -> str:
    """A short reading of a parameter's schema: `string`, `integer or null`, `one of "a", "b"`, ..."""
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(_type_text(option, root) for option in schema[key])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        return f"array of {_type_text(schema['items'], root)}"
    if kind == "object" and "properties" in schema:
        return "object with " + ", ".join(schema["properties"])
    return str(kind) if kind else json.dumps(schema, ensure_ascii=False)
