"""`agentkit batch TASKS --out RESULTS.jsonl`: many runs of one agent, resumable.

One driver (this process's event loop) keeps up to `--concurrency` tasks in flight and is the only writer
of the results file: each task's line is appended and flushed when the task ends. Nothing else is kept, so
stopping at any point (Ctrl-C, a crash, `kill -9`) loses only the runs in flight, and running the same
command again does exactly the tasks without an error-free line (`_batch_files`).

Where a task runs is the `Engine`'s business, the one seam: `run(task)` returns the task's `Outcome` (its
results line, what it cost, whether it failed). `LocalEngine` runs the agent in this process;
`_batch_ray.RayEngine` sends the task to Ray workers that rebuilt the agent from its import specs. Task
reading, the budget, progress, Ctrl-C and the results file are the driver's, the same for both.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import signal
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._support.unicode import replace_surrogates
from ..agent import Agent
from ..exceptions import AgentRunError
from ..messages import ContentPart, TextPart
from ..usage import Usage
from ._approve import add_approve_argument, approver
from ._batch_files import JSONL_SUFFIXES, ResultsFile, Task, read_tasks, result_line
from ._exit import CliError, ExitCode, one_line
from ._images import add_file_argument, load_file, load_image
from ._options import (
    TOOL_SPECS_HELP,
    AgentSpec,
    add_agent_arguments,
    build_agent,
    positive_float,
    positive_int,
)
from ._progress import BatchCounts, PlainProgress, Progress, summary_lines
from ._render import answered_by, error_text

__all__ = [
    "Batch",
    "Engine",
    "LocalEngine",
    "Outcome",
    "add_batch_parser",
    "batch_command",
    "failed_outcome",
    "run_task",
    "task_error",
    "task_prompt",
]

DESCRIPTION = f"""\
Run one agent over many tasks, several at a time (in this process, or on Ray with --engine ray), and append
one JSON line per finished task to the results file:
{{"id", "output", "model", "usage", "cost_usd", "error", "duration_s"}}.

TASKS is a JSON-lines file ({", ".join(JSONL_SUFFIXES)}), one {{"id": ..., "prompt": ..., "images": [...]}}
per line ("id" defaults to the line number; "images" are paths relative to TASKS, or URLs; other fields are
ignored), or any other file as plain text: one prompt per line, its id the line number. A bad line stops
the command before anything runs, naming the line.

Resume: run the same command again. Tasks with an error-free line in RESULTS are skipped; failed tasks,
tasks never started and a line cut short by a crash are done again. RESULTS is only ever appended to.

Progress goes to stderr (a bar in a terminal, a plain line every 10 s otherwise), then a summary.

--engine ray runs the tasks on Ray workers (pip install 'agentkit[ray]'): a local Ray started for the
run, or the cluster at --ray-address. Workers rebuild the agent from the same flags (tools by import spec:
files and modules must be importable there too) and get the AGENTKIT_* and OPENROUTER_* variables; this
process still reads the tasks, writes every results line and keeps --concurrency tasks in flight.

{TOOL_SPECS_HELP}"""

BATCH_EXIT_CODES = """\
exit codes:
  0    every task has an answer
  1    some tasks failed (their lines carry the error; a rerun retries them)
  2    misuse: bad flags or tasks file, tools that do not load, a missing API key
  4    --budget-usd was spent before every task was started
  130  interrupted (Ctrl-C or SIGTERM): running tasks were cancelled; a rerun continues"""

_TICK_S = 1.0


def add_batch_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `agentkit batch` to the command line."""
    batch = commands.add_parser(
        "batch",
        help="run an agent over a file of tasks, resumable",
        description=DESCRIPTION,
        epilog=BATCH_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument("tasks", type=Path, metavar="TASKS", help="tasks: a .jsonl file, or text")
    batch.add_argument(
        "--out", type=Path, required=True, metavar="RESULTS.jsonl", help="the results file to append to"
    )
    add_agent_arguments(batch)
    add_approve_argument(batch, interactive=False)
    batch.add_argument(
        "--concurrency", type=positive_int, default=8, metavar="N", help="tasks run at once (default 8)"
    )
    batch.add_argument(
        "--budget-usd",
        type=positive_float,
        metavar="X",
        help="start no more tasks once this run has spent X dollars (running ones finish)",
    )
    batch.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="where the runs happen: local (asyncio in this process, the default) or ray",
    )
    batch.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="with --engine ray: the cluster to run on (default: a local Ray started for this run)",
    )
    batch.add_argument(
        "--json-summary", action="store_true", help="print the summary as one JSON object on stdout"
    )
    add_file_argument(batch, "with every task")


def batch_command(args: argparse.Namespace) -> int:
    """Run `agentkit batch`; returns the exit code."""
    if args.ray_address is not None and args.engine != "ray":
        raise CliError("--ray-address goes with --engine ray")
    tasks = read_tasks(args.tasks)
    if args.file:
        for source in args.file:
            load_file(source)  # a file that cannot be sent stops the command before anything runs
        files = tuple(_absolute(source) for source in args.file)
        tasks = [dataclasses.replace(task, files=files) for task in tasks]
    engine = _engine(args, build_agent(args))
    results = ResultsFile(args.out, tasks=args.tasks)  # locked until closed: one batch per results file
    try:
        answered = results.answered()
        todo = [task for task in tasks if task.key not in answered]
        counts = BatchCounts(tasks=len(tasks), skipped=len(tasks) - len(todo))
        batch = Batch(
            engine,
            todo,
            results,
            _progress(),
            counts=counts,
            concurrency=args.concurrency,
            budget_usd=args.budget_usd,
        )
        asyncio.run(batch.run())
    finally:
        results.close()
    code = _exit_code(counts)
    for line in summary_lines(counts, str(args.out), args.budget_usd):
        print(line, file=sys.stderr, flush=True)
    if args.json_summary:
        print(json.dumps(_summary(counts, engine, str(args.out), code)), flush=True)
    return code


def _engine(args: argparse.Namespace, agent: Agent[None, Any]) -> Engine:
    if args.engine == "local":
        return LocalEngine(agent, approve=args.approve == "yes")
    from ._batch_ray import RayEngine, import_ray

    import_ray()  # not installed: a one-line error now, before anything runs
    spec = AgentSpec.from_args(args)
    return RayEngine(
        spec, model_name=agent.model.model_name, concurrency=args.concurrency, address=args.ray_address
    )


@dataclass(kw_only=True, frozen=True)
class Outcome:
    """How one task ended, as an engine hands it to the driver (Ray ships it from a worker)."""

    line: str
    """Its results line (`result_line`), newline included."""
    usage: Usage
    """What it cost."""
    failed: bool
    """Whether the line carries an error."""


class Engine(ABC):
    """Where the tasks run. The driver calls `start` once, `run` for each task (up to `--concurrency` at
    once; a cancelled `run` must stop its task), and `aclose` once at the end, even after a failed start."""

    name: str = "local"
    start_s: float = 0.0
    """How long `start` took."""

    async def start(self) -> str | None:
        """Get ready to run tasks; returns a line for stderr saying where they run, if there is more to say."""
        return None

    @abstractmethod
    async def run(self, task: Task) -> Outcome:
        """Run `task`; a failed run is an `Outcome` with `failed` set, not an exception."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release what `start` and the runs took."""


class LocalEngine(Engine):
    """Runs the tasks here, on the driver's event loop."""

    def __init__(self, agent: Agent[None, Any], *, approve: bool = False) -> None:
        self.agent = agent
        self.approve = approve
        """Run calls of tools that require approval (`--approve yes`) instead of denying them."""

    async def run(self, task: Task) -> Outcome:
        return await run_task(self.agent, task, approve=self.approve)

    async def aclose(self) -> None:
        await self.agent.model.aclose()


class Batch:
    """The driver: starts the tasks, at most `concurrency` at once, and writes each one's line as it ends.

    It stops starting tasks once `budget_usd` is spent, and on SIGINT or SIGTERM, when it also cancels the
    running ones (their lines are not written, so a rerun does them).
    """

    def __init__(
        self,
        engine: Engine,
        todo: list[Task],
        results: ResultsFile,
        progress: Progress,
        *,
        counts: BatchCounts,
        concurrency: int,
        budget_usd: float | None = None,
    ) -> None:
        self.engine = engine
        self.todo = todo
        self.results = results
        self.progress = progress
        self.counts = counts
        self.concurrency = concurrency
        self.budget_usd = budget_usd
        self._next_index = 0
        self._workers: list[asyncio.Task[Any]] = []

    async def run(self) -> None:
        """Start the engine, run every task (or until stopped); returns when no task is running."""
        loop = asyncio.get_running_loop()
        signals = _catch_signals(loop, self.interrupt)
        ticker: asyncio.Task[None] | None = None
        try:
            if not await self._start_engine():
                return
            self.counts.started = time.monotonic()
            ticker = asyncio.create_task(self._tick())
            self._workers = [
                asyncio.create_task(self._worker()) for _ in range(min(self.concurrency, len(self.todo)))
            ]
            await asyncio.gather(*self._workers)
        finally:
            if ticker is not None:
                ticker.cancel()
            for signum in signals:
                loop.remove_signal_handler(signum)
            self.progress.close(self.counts)
            await self.engine.aclose()

    async def _start_engine(self) -> bool:
        """Start the engine (Ctrl-C meanwhile cancels it); whether tasks may run."""
        if not self.todo:
            return False
        starting = asyncio.create_task(self.engine.start())
        self._workers = [starting]
        try:
            note = await starting
        except asyncio.CancelledError:
            if self.counts.stopped != "interrupted":
                raise
            return False
        if note:
            print(f"batch: {note}", file=sys.stderr, flush=True)
        return True

    def interrupt(self) -> None:
        """Start no more tasks and cancel the running ones."""
        if self.counts.stopped != "interrupted":
            self.counts.stopped = "interrupted"
            for worker in self._workers:
                worker.cancel()

    def _next(self) -> Task | None:
        if self.counts.stopped is not None or self._next_index >= len(self.todo):
            return None
        if self.budget_usd is not None and self.counts.usage.cost_usd >= self.budget_usd:
            self.counts.stopped = "budget"
            return None
        task = self.todo[self._next_index]
        self._next_index += 1
        return task

    async def _worker(self) -> None:
        while (task := self._next()) is not None:
            self.counts.running += 1
            self.progress.update(self.counts)
            start = time.perf_counter()
            try:
                outcome = await self.engine.run(task)
            except asyncio.CancelledError:
                return  # interrupted: nothing is written for this task
            except Exception as exc:  # an engine's own failure is the task's error line too
                outcome = failed_outcome(task, task_error(exc), model=None, start=start)
            finally:
                self.counts.running -= 1
            self.results.write(outcome.line)  # no await since the run ended: lines never interleave
            self.counts.usage.add(outcome.usage)
            if outcome.failed:
                self.counts.failed += 1
            else:
                self.counts.done += 1
            self.progress.update(self.counts)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(_TICK_S)
            self.progress.update(self.counts)


async def run_task(
    agent: Agent[None, Any],
    task: Task,
    prompt: str | list[ContentPart] | None = None,
    *,
    approve: bool = False,
) -> Outcome:
    """Run `agent` on `task` (its `prompt`, when the caller built it already); a failed run is an
    `Outcome` with `failed` set. Calls of tools that require approval run if `approve`, else are denied."""
    start = time.perf_counter()
    model_name = agent.model.model_name
    try:
        result = await agent.run(
            task_prompt(task) if prompt is None else prompt, approve=approver("yes" if approve else "no")
        )
    except Exception as exc:  # any exception of a task is its error line: the batch goes on
        usage = (exc.usage if isinstance(exc, AgentRunError) else None) or Usage()
        messages = exc.messages if isinstance(exc, AgentRunError) else []
        return failed_outcome(
            task, task_error(exc), usage=usage, model=answered_by(messages, model_name), start=start
        )
    model = answered_by(result.messages, model_name)
    duration = time.perf_counter() - start
    try:
        line = result_line(
            task, output=result.output, usage=result.usage, model=model, error=None, duration_s=duration
        )
    except Exception as exc:  # an answer that cannot be written as JSON
        return failed_outcome(task, task_error(exc), usage=result.usage, model=model, start=start)
    return Outcome(line=replace_surrogates(line)[0], usage=result.usage, failed=False)


def task_error(exc: BaseException) -> dict[str, str]:
    """The `error` of a task's results line: `{"type", "message"}`, the message on one line."""
    return {"type": type(exc).__name__, "message": one_line(error_text(exc))}


def failed_outcome(
    task: Task, error: dict[str, str], *, usage: Usage | None = None, model: str | None, start: float
) -> Outcome:
    """The outcome of a task that failed with `error` (`{"type", "message"}`) after starting at `start`
    (a `time.perf_counter()` reading)."""
    usage = usage or Usage()
    duration = time.perf_counter() - start
    line = result_line(task, output=None, usage=usage, model=model, error=error, duration_s=duration)
    return Outcome(line=replace_surrogates(line)[0], usage=usage, failed=True)


def task_prompt(task: Task) -> str | list[ContentPart]:
    """What the model is sent for `task`: its prompt, with its images and `--file` files loaded (raises
    `CliError` for one that cannot be sent)."""
    if not task.images and not task.files:
        return task.prompt
    images = [load_image(source) for source in task.images]
    return [TextPart(text=task.prompt), *images, *(load_file(source) for source in task.files)]


def _absolute(source: str) -> str:
    """A `--file` path made absolute (Ray workers may run elsewhere); a URL as it is."""
    if "://" in source or source.startswith("data:"):
        return source
    return str(Path(source).expanduser().absolute())


def _catch_signals(loop: asyncio.AbstractEventLoop, handler: Callable[[], None]) -> list[signal.Signals]:
    """Route SIGINT and SIGTERM to `handler` (where the loop can: not on Windows, where Ctrl-C stays a
    KeyboardInterrupt and ends the command with 130 all the same)."""
    caught: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, handler)
            caught.append(signum)
    return caught


def _progress() -> Progress:
    if sys.stderr.isatty():
        from ._progress import TerminalProgress

        return TerminalProgress()
    return PlainProgress()


def _exit_code(counts: BatchCounts) -> ExitCode:
    if counts.stopped == "interrupted":
        return ExitCode.INTERRUPTED
    if counts.failed:
        return ExitCode.RUN_FAILED
    if counts.stopped == "budget":
        return ExitCode.USAGE_LIMIT
    return ExitCode.OK


def _summary(counts: BatchCounts, engine: Engine, out: str, code: int) -> dict[str, Any]:
    return {
        "engine": engine.name,
        "engine_start_s": round(engine.start_s, 3),
        "tasks": counts.tasks,
        "answered_before": counts.skipped,
        "answered": counts.done,
        "failed": counts.failed,
        "not_started": counts.not_started,
        "requests": counts.usage.requests,
        "total_tokens": counts.usage.total_tokens,
        "cost_usd": round(counts.usage.cost_usd, 10),
        "elapsed_s": round(counts.elapsed(), 3),
        "stopped": counts.stopped,
        "out": out,
        "exit_code": code,
    }
