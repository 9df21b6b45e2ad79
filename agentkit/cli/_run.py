"""`agentkit run "task"`: one run of an agent built from flags, shown as it happens (`_render`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from ..agent import Agent
from ..exceptions import AgentRunError
from ..messages import ContentPart, TextPart
from ._approve import add_approve_argument, approver
from ._exit import EXIT_CODES_HELP, CliError, ExitCode, exit_code_for
from ._images import MAX_IMAGE_BYTES, add_file_argument, load_file, load_image
from ._options import TOOL_SPECS_HELP, add_agent_arguments, build_agent, positive_float
from ._render import add_thinking_argument, tolerant_output
from ._specs import load_object

if TYPE_CHECKING:
    from .._run.approval import Approver
    from ._render import Renderer

__all__ = ["add_run_parser", "run_command"]

DESCRIPTION = f"""\
Run an agent on one task and show the run: in a terminal, live (the answer as it streams, each tool call
and its result, then requests, tokens, cost and the model); otherwise plain lines, the answer alone on
stdout and the rest on stderr; with --json, one JSON object on stdout.

The model is the library's default (AGENTKIT_MODEL, AGENTKIT_BASE_URL, OPENROUTER_API_KEY or
AGENTKIT_API_KEY from the environment) unless --model is given.

{TOOL_SPECS_HELP}"""


def add_run_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `agentkit run` to the command line."""
    run = commands.add_parser(
        "run",
        help="run an agent on one task",
        description=DESCRIPTION,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("task", help="what to do; '-' reads it from stdin")
    add_agent_arguments(run)
    run.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="PATH_OR_URL",
        help=f"an image to send with the task: a PNG/JPEG/GIF/WebP file up to "
        f"{MAX_IMAGE_BYTES // 1024 // 1024} MiB, or an http(s) URL (repeatable)",
    )
    add_file_argument(run, "with the task")
    run.add_argument(
        "--output-type", metavar="MODULE:CLASS", help="a structured answer: a pydantic model, dataclass, ..."
    )
    run.add_argument(
        "--budget-usd",
        type=positive_float,
        metavar="X",
        help="stop the run once it has cost more than X dollars",
    )
    run.add_argument(
        "--json", action="store_true", help="print one JSON object: output, usage, messages, model"
    )
    add_approve_argument(run, interactive=True)
    add_thinking_argument(run)
    run.add_argument(
        "--raise-tool-errors",
        action="store_true",
        help="fail (exit 5) when a tool raises, instead of telling the model",
    )


def run_command(args: argparse.Namespace) -> int:
    """Run `agentkit run`; returns the exit code."""
    tolerant_output()
    agent = _agent(args)
    prompt = _prompt(args)
    renderer = _renderer(args.json, agent.output_type, show_thinking=not getattr(args, "no_thinking", False))
    approve = approver(args.approve, before_asking=renderer.pause)
    return asyncio.run(_run(agent, prompt, renderer, approve))


def _agent(args: argparse.Namespace) -> Agent[None, Any]:
    output_type: Any = str
    if args.output_type:
        output_type = load_object(args.output_type, what="--output-type")
    return build_agent(
        args,
        output_type=output_type,
        budget_usd=args.budget_usd,
        raise_tool_errors=args.raise_tool_errors,
    )


def _prompt(args: argparse.Namespace) -> str | list[ContentPart]:
    task: str = sys.stdin.read() if args.task == "-" else args.task
    if not task.strip():
        raise CliError("the task is empty")
    if not args.image and not args.file:
        return task
    images = [load_image(source) for source in args.image]
    return [TextPart(text=task), *images, *(load_file(source) for source in args.file)]


def _renderer(as_json: bool, output_type: Any, *, show_thinking: bool = True) -> Renderer:
    from ._render import JsonRenderer, PlainRenderer

    if as_json:
        return JsonRenderer(output_type)
    if sys.stdout.isatty():
        from ._terminal import TerminalRenderer

        return TerminalRenderer(output_type, show_thinking=show_thinking)
    return PlainRenderer(output_type, show_thinking=show_thinking)


async def _run(
    agent: Agent[None, Any], prompt: str | list[ContentPart], renderer: Renderer, approve: Approver
) -> int:
    from ._render import answered_by

    try:
        async with agent.run_stream(prompt, approve=approve) as stream:
            async for event in stream:
                renderer.event(event)
        result = stream.result
        renderer.finished(result, answered_by(result.messages, agent.model.model_name))
        return ExitCode.OK
    except Exception as exc:
        code = exit_code_for(exc)
        messages = exc.messages if isinstance(exc, AgentRunError) else []
        renderer.failed(exc, code, answered_by(messages, agent.model.model_name))
        return code
    finally:
        await agent.model.aclose()
