"""`agentkit eval CASES`: a case file run against an agent (`agentkit.evals`), on one model or several side by
side, repeated, written as JSON, compared with a baseline, and gated on regressions and a pass rate."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..agent import Agent
from ..exceptions import UserError
from ._exit import CliError, ExitCode, one_line
from ._options import TOOL_SPECS_HELP, build_agent, positive_int
from ._progress import BatchCounts, Progress

if TYPE_CHECKING:
    from ..evals import CaseRun, Comparison, Dataset, EvalReport

__all__ = ["add_eval_parser", "eval_command"]

DESCRIPTION = f"""\
Run the cases of a case file (YAML or JSON: see docs/evals.md) against an agent and score each run with
the file's evaluators. Several --model run the same cases on each model and show them side by side: pass
rate, pass^k (a case counts only if all its --repeat runs pass), mean and p90 seconds, requests, tokens and
dollars per run.

The agent is --agent SPEC (an Agent object: file.py:name or module:name), or one built from --tools and
--instructions the way `agentkit run` builds it. Runs that finished are written (--json) even after Ctrl-C.

{TOOL_SPECS_HELP}"""

EXIT_HELP = """\
exit codes:
  0    the cases ran (some may have failed: use --fail-under or --baseline to gate on them)
  1    a case that passed in --baseline fails now, or a model's pass rate is under --fail-under
  2    misuse: a bad case file (its line named), --agent/--tools that do not load, a bad baseline or model
  130  interrupted (Ctrl-C): the runs that finished are still written to --json"""


def add_eval_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `agentkit eval` to the command line."""
    parser = commands.add_parser(
        "eval",
        help="run a case file against an agent and score it",
        description=DESCRIPTION,
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("cases", metavar="CASES", help="the case file (.yaml, .yml or .json)")
    parser.add_argument("--agent", metavar="SPEC", help="the Agent to evaluate: file.py:name or module:name")
    parser.add_argument(
        "--tools", nargs="+", action="extend", default=[], metavar="SPEC", help="without --agent: its tools"
    )
    parser.add_argument("--instructions", metavar="TEXT", help="without --agent: the system prompt")
    parser.add_argument(
        "--max-turns", type=positive_int, metavar="N", help="without --agent: requests per run (default 20)"
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="ID",
        help="run the cases on this model (repeatable: models side by side; default: the agent's model)",
    )
    parser.add_argument(
        "--judge-model",
        metavar="ID",
        help="the model of llm_judge evaluators that name none (default: AGENTKIT_MODEL)",
    )
    parser.add_argument("--repeat", type=positive_int, default=1, metavar="K", help="runs per case and model")
    parser.add_argument("--concurrency", type=positive_int, default=4, metavar="N", help="runs at once")
    parser.add_argument("--json", metavar="OUT", help="write every run and the summary to this JSON file")
    parser.add_argument(
        "--baseline", metavar="OLD.json", help="an earlier --json file: show what got better and worse"
    )
    parser.add_argument(
        "--fail-under",
        type=_rate,
        metavar="RATE",
        help="exit 1 when a model's pass rate is under RATE (0.8 or 80%%)",
    )


def _rate(text: str) -> float:
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a rate from 0 to 1 (or 0% to 100%), not {text!r}")
    return value


def eval_command(args: argparse.Namespace) -> int:
    """Run `agentkit eval`; returns the exit code."""
    from ..evals import Dataset
    from ._render import tolerant_output

    tolerant_output()
    try:
        dataset = Dataset.from_file(args.cases)
    except UserError as exc:
        raise CliError(one_line(str(exc))) from None
    if args.judge_model:
        _set_judge_model(dataset, args.judge_model)
    baseline = _baseline(args.baseline) if args.baseline else None
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise CliError(f"--json {args.json}: no such folder: {Path(args.json).resolve().parent}")
    if args.json and Path(args.json).is_dir():
        raise CliError(
            f"--json {args.json}: a folder; give a file name, such as {Path(args.json) / 'eval.json'}"
        )
    agent = _agent(args)
    finished: list[CaseRun] = []
    progress = _progress()
    counts = BatchCounts(tasks=len(dataset.cases) * args.repeat * max(1, len(args.model)), skipped=0)
    try:
        report = asyncio.run(_evaluate(dataset, agent, args, finished, progress, counts))
    except KeyboardInterrupt:
        report = _partial(dataset, agent, args, finished)
    except UserError as exc:  # misuse every run would meet: a missing key, a bad setting
        raise CliError(one_line(str(exc))) from None
    finally:
        progress.close(counts)
    return _finish(report, baseline, args)


def _set_judge_model(dataset: Dataset, model: str) -> None:
    from ..evals import LLMJudge

    for evaluator in [*dataset.evaluators, *(e for case in dataset.cases for e in case.evaluators)]:
        if isinstance(evaluator, LLMJudge) and evaluator.model is None:
            evaluator.model = model


def _baseline(path: str) -> EvalReport:
    from ..evals import EvalReport

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"--baseline {path}: cannot be read ({type(exc).__name__}: {exc})") from None
    try:
        return EvalReport.from_json(text)
    except UserError as exc:
        raise CliError(f"--baseline {path}: {one_line(str(exc))}") from None


def _agent(args: argparse.Namespace) -> Agent[Any, Any]:
    if args.agent is None:
        flags = argparse.Namespace(
            tools=args.tools,
            model=args.model[0] if args.model else None,
            instructions=args.instructions,
            max_turns=args.max_turns or 20,
        )
        return build_agent(flags)
    if args.tools or args.instructions or args.max_turns:
        raise CliError("give --agent, or --tools/--instructions/--max-turns to build one, not both")
    from ._specs import load_object

    agent = load_object(args.agent, what="--agent")
    if not isinstance(agent, Agent):
        raise CliError(f"--agent {args.agent}: not an Agent (type: {type(agent).__name__})")
    return agent


def _progress() -> Progress:
    if sys.stderr.isatty():
        from ._progress import TerminalProgress

        return TerminalProgress()
    return _PlainProgress()


class _PlainProgress(Progress):
    """A plain line on stderr every few seconds while the eval runs; no escape codes."""

    def __init__(self, *, interval: float = 5.0) -> None:
        self.interval = interval
        self._last = time.monotonic()

    def update(self, counts: BatchCounts) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            print(
                f"eval: {counts.finished}/{counts.todo} runs, {counts.done} passed, {counts.failed} failed",
                file=sys.stderr,
                flush=True,
            )

    def close(self, counts: BatchCounts) -> None:
        return


async def _evaluate(
    dataset: Dataset,
    agent: Agent[Any, Any],
    args: argparse.Namespace,
    finished: list[CaseRun],
    progress: Progress,
    counts: BatchCounts,
) -> EvalReport:
    def on_run(run: CaseRun) -> None:
        finished.append(run)
        counts.done += run.passed
        counts.failed += not run.passed
        counts.usage.add(run.usage)
        counts.running = min(args.concurrency, counts.todo - counts.finished)
        progress.update(counts)

    progress.update(counts)
    try:
        return await dataset.evaluate(
            agent, repeat=args.repeat, concurrency=args.concurrency, models=args.model or None, on_run=on_run
        )
    finally:
        await agent.model.aclose()


def _partial(
    dataset: Dataset, agent: Agent[Any, Any], args: argparse.Namespace, runs: list[CaseRun]
) -> EvalReport:
    """The report of the runs that finished before Ctrl-C."""
    from ..evals import EvalReport

    models = list(args.model) or [agent.model.model_name]
    return EvalReport(
        runs=runs, models=models, cases=[c.name for c in dataset.cases], repeat=args.repeat, interrupted=True
    )


def _finish(report: EvalReport, baseline: EvalReport | None, args: argparse.Namespace) -> int:
    comparison = report.compare(baseline) if baseline is not None else None
    _show(report, comparison, sys.stdout)  # first: what was measured is shown even if the file fails
    if args.json:
        data = report.to_dict()
        if comparison is not None:
            data["comparison"] = comparison.to_dict()
        try:
            Path(args.json).write_text(
                json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            print(f"agentkit eval: error: --json {args.json}: cannot be written ({exc})", file=sys.stderr)
            return ExitCode.USAGE
    if report.interrupted:
        return ExitCode.INTERRUPTED
    failing = [
        m
        for m, s in report.summaries.items()
        if args.fail_under is not None and s.pass_rate < args.fail_under
    ]
    for model in failing:
        rate = report.summaries[model].pass_rate
        print(
            f"eval: pass rate of {model} is {rate:.0%}, under --fail-under {args.fail_under:.0%}",
            file=sys.stderr,
        )
    if comparison is not None and comparison.regressions:
        print(
            f"eval: {len(comparison.regressions)} case(s) passed in the baseline and fail now",
            file=sys.stderr,
        )
    return (
        ExitCode.RUN_FAILED if failing or (comparison is not None and comparison.regressions) else ExitCode.OK
    )


def _show(report: EvalReport, comparison: Comparison | None, out: IO[str]) -> None:
    from ..evals._text import comparison_lines, failure_lines, report_lines, summary_rows

    if not out.isatty():
        for line in report_lines(report) + (comparison_lines(comparison) if comparison else []):
            print(line, file=out)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, highlight=False)
    rows = summary_rows(report)
    table = Table(*rows[0], title="eval" + (" (interrupted)" if report.interrupted else ""))
    for row in rows[1:]:
        table.add_row(*row)
    console.print(table)
    for line in failure_lines(report):
        console.print(line, style="red", markup=False)
    for line in comparison_lines(comparison) if comparison else []:
        console.print(line, style="bold red" if line.startswith("REGRESSION") else None, markup=False)
