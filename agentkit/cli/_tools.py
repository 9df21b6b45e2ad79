"""`agentkit tools SPEC...`: the tool schemas a model is sent, in its schema dialect."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from typing import Any

from ..exceptions import UserError
from ..models import DEFAULT_MODEL
from ..models._dialects import DIALECTS, Dialect
from ..models.profiles import profile_for
from ..tool import Tool
from ._exit import CliError, ExitCode
from ._specs import load_tools

__all__ = ["add_tools_parser", "tools_command"]

DESCRIPTION = """\
Print the tools' schemas as the model is sent them: each tool's name, description and parameters
(with --json, one JSON document: {"model", "dialect", "tools": [the request's tools[] entries]}).

The dialect is the model's (--model, else AGENTKIT_MODEL, else the library's default model) unless
--dialect is given: gemini (no $ref, no additionalProperties, string enums), openai-strict (strict
schemas), standard (JSON Schema as is). Specs are those of `agentkit run`.

With --check (a preflight): per tool, what the dialect changes in its schema, marked `kept` (the meaning
is kept: agentkit undoes it on the way back, or the description says it) or `lost` (a constraint the
model is not told; agentkit still enforces it), and the tools that cannot be sent at all."""


def add_tools_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `agentkit tools` to the command line."""
    tools = commands.add_parser(
        "tools",
        help="show the schemas of tools as a model sees them",
        description=DESCRIPTION,
        epilog="exit codes:\n  0    success\n  1    --check: a tool cannot be sent to the model\n"
        "  2    misuse: bad flags, tools that do not load",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tools.add_argument(
        "specs", nargs="+", metavar="SPEC", help="tools.py, module, module:name, calculator..."
    )
    tools.add_argument("--dialect", choices=DIALECTS, help="the schema dialect (default: the model's)")
    tools.add_argument("--model", metavar="ID", help="the model whose dialect to use")
    tools.add_argument("--json", action="store_true", help="print one JSON document")
    tools.add_argument(
        "--check",
        action="store_true",
        help="preflight: what the dialect changes in each tool's schema; exit 1 if a tool cannot be sent",
    )


def tools_command(args: argparse.Namespace) -> int:
    """Run `agentkit tools`; returns the exit code."""
    tools = load_tools(args.specs)
    model: str = args.model or os.environ.get("AGENTKIT_MODEL") or DEFAULT_MODEL
    dialect: Dialect = args.dialect or profile_for(model).schema_dialect
    if args.check:
        return _check(tools, model, dialect, as_json=args.json)
    try:
        entries = [found.openai_tool(dialect) for found in tools]
    except UserError as exc:
        raise CliError(f"{exc} (see `agentkit tools ... --check`)") from None
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


def _check(tools: list[Tool[..., Any]], model: str, dialect: Dialect, *, as_json: bool) -> int:
    """The preflight: each tool's schema changes in `dialect`, and the tools that cannot be sent (exit 1)."""
    report: list[dict[str, Any]] = []
    for found in tools:
        try:
            changes = found.definition.schema_changes(dialect)
        except Exception as exc:  # a preflight reports every failure by tool, never as a traceback
            report.append({"name": found.name, "sendable": False, "error": _reason(exc), "changes": []})
            continue
        listed = [{"path": c.path, "change": c.change, "kept": c.kept} for c in changes]
        report.append({"name": found.name, "sendable": True, "error": None, "changes": listed})
    unsendable = [item for item in report if not item["sendable"]]
    if as_json:
        document = {"model": model, "dialect": dialect, "tools": report}
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(_check_text(report, model, dialect))
    for item in unsendable:
        print(
            f"agentkit tools: tool {item['name']!r} cannot be sent to {model}: {item['error']}",
            file=sys.stderr,
        )
    return ExitCode.RUN_FAILED if unsendable else ExitCode.OK


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, UserError) else f"{type(exc).__name__}: {text}"


def _check_text(report: list[dict[str, Any]], model: str, dialect: Dialect) -> str:
    count = f"{len(report)} tool" + ("s" if len(report) != 1 else "")
    lines = [f"{count}, checked for {model} ({dialect} dialect)"]
    for item in report:
        lines.append("")
        if not item["sendable"]:
            lines.append(f"{item['name']}: CANNOT BE SENT: {item['error']}")
            continue
        changes = item["changes"]
        lost = sum(not c["kept"] for c in changes)
        summary = "sent as is" if not changes else f"sent, {len(changes)} change" + "s" * (len(changes) != 1)
        lines.append(f"{item['name']}: {summary}" + (f" ({lost} lost)" if lost else ""))
        for change in changes:
            mark = "kept" if change["kept"] else "lost"
            lines.append(f"  {mark}  {change['path']}: {change['change']}")
    return "\n".join(lines)


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
