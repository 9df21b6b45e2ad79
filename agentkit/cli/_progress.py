"""How `agentkit batch` shows its progress on stderr: a rich progress bar in a terminal
(`TerminalProgress`), plain periodic lines otherwise (`PlainProgress`), and the summary at the end.

Both read the same `BatchCounts` and say the same things: done / failed / running, tokens, dollars so
far, the rate and the time left.
"""

from __future__ import annotations

import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Literal

from ..usage import Usage
from ._render import dollars

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

__all__ = ["BatchCounts", "PlainProgress", "Progress", "StopReason", "status_line", "summary_lines"]

StopReason = Literal["budget", "interrupted"]


@dataclass(kw_only=True)
class BatchCounts:
    """Where a batch stands."""

    tasks: int
    """Tasks in the tasks file."""
    skipped: int
    """Of those, answered by an earlier run (not run again)."""
    done: int = 0
    """Answered in this run."""
    failed: int = 0
    """Failed in this run (written with their error; the next run tries them again)."""
    running: int = 0
    usage: Usage = field(default_factory=Usage)
    """What this run's tasks cost, failed ones included."""
    started: float = field(default_factory=time.monotonic)
    stopped: StopReason | None = None
    """Why the batch stopped starting tasks before the end."""

    @property
    def todo(self) -> int:
        """Tasks this run set out to do."""
        return self.tasks - self.skipped

    @property
    def finished(self) -> int:
        return self.done + self.failed

    @property
    def not_started(self) -> int:
        """Tasks left for a later run: never started, or cancelled by Ctrl-C."""
        return self.todo - self.finished

    def elapsed(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.started


class Progress(ABC):
    """Shows a batch as it goes; `update` is called at every change and about once a second."""

    @abstractmethod
    def update(self, counts: BatchCounts) -> None:
        """Show `counts` (or not yet: each display keeps its own pace)."""

    @abstractmethod
    def close(self, counts: BatchCounts) -> None:
        """The batch has ended: take the display down (the summary follows)."""


class PlainProgress(Progress):
    """A plain line on `err` every `interval` seconds while the batch runs; no escape codes."""

    def __init__(
        self,
        *,
        err: IO[str] | None = None,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.err = err or sys.stderr
        self.interval = interval
        self.clock = clock
        self._last = clock()

    def update(self, counts: BatchCounts) -> None:
        now = self.clock()
        if now - self._last >= self.interval:
            self._last = now
            print(f"batch: {status_line(counts, now)}", file=self.err, flush=True)

    def close(self, counts: BatchCounts) -> None:
        return


class TerminalProgress(Progress):
    """A rich progress bar on stderr, redrawn by rich's own thread a few times a second."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

        self._progress: RichProgress = Progress(
            SpinnerColumn(),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            console=Console(stderr=True, highlight=False),
            refresh_per_second=4,
            transient=False,
        )
        self._task: TaskID | None = None

    def update(self, counts: BatchCounts) -> None:
        status = status_line(counts, time.monotonic(), counted=False)
        if self._task is None:
            self._progress.start()
            self._task = self._progress.add_task("batch", total=counts.todo, status=status)
        self._progress.update(self._task, completed=counts.finished, status=status)

    def close(self, counts: BatchCounts) -> None:
        if self._task is not None:
            self.update(counts)
            self._progress.stop()


def status_line(counts: BatchCounts, now: float, *, counted: bool = True) -> str:
    """`12/200 done, 1 failed, 8 running, 4,321 tokens, $0.0012, 3.1 tasks/s, 1m01s left`."""
    elapsed = counts.elapsed(now)
    rate = counts.finished / elapsed if elapsed > 0 else 0.0
    left = counts.todo - counts.finished
    eta = _duration(left / rate) if rate > 0 else "?"
    head = f"{counts.finished}/{counts.todo} done, " if counted else ""
    return (
        f"{head}{counts.failed} failed, {counts.running} running, {counts.usage.total_tokens:,} tokens, "
        f"{dollars(counts.usage.cost_usd)}, {rate:.1f} tasks/s, {eta} left"
    )


def summary_lines(counts: BatchCounts, out: str, budget_usd: float | None) -> list[str]:
    """What the batch did, what it cost, and what a rerun of the same command would do."""
    elapsed = counts.elapsed()
    rate = counts.finished / elapsed if elapsed > 0 else 0.0
    already = f" ({counts.skipped} answered before)" if counts.skipped else ""
    if not counts.todo:
        return [f"batch: all {counts.tasks} tasks were answered before; nothing to do ({out})"]
    lines = [
        f"batch: {counts.done} answered, {counts.failed} failed, {counts.not_started} not started "
        f"of {counts.todo} to do{already}; {counts.usage.requests} requests, "
        f"{counts.usage.total_tokens:,} tokens, {dollars(counts.usage.cost_usd)}, "
        f"{_duration(elapsed)} ({rate:.1f} tasks/s); results in {out}"
    ]
    if counts.stopped == "budget":
        lines.append(
            f"batch: the budget of {dollars(budget_usd or 0.0)} is spent "
            f"({dollars(counts.usage.cost_usd)}): no more tasks were started"
        )
    elif counts.stopped == "interrupted":
        lines.append("batch: interrupted: running tasks were cancelled and not written")
    if counts.failed or counts.not_started:
        lines.append("batch: run the same command again to do the failed and the not-started tasks")
    return lines


def _duration(seconds: float) -> str:
    """`4.2s`, `7m05s`, `2h03m`."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
