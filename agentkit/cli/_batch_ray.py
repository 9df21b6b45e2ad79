"""`agentkit batch --engine ray`: the batch's tasks run on Ray workers; everything else stays the driver's.

```
driver (this process)                         Ray workers (actors, one per CPU, up to --concurrency)
  reads TASKS, skips answered ids               rebuild the agent from its AgentSpec (import specs,
  keeps --concurrency tasks in flight  ---->      model id, instructions, max turns): no pickled closures
  (least-loaded worker first)                   run up to ceil(concurrency / workers) tasks at once,
  writes every results line, progress,  <----     asyncio inside (an async actor)
  budget, Ctrl-C (cancels its Ray tasks)
```

By default a local Ray is started for the run (one CPU per worker, no dashboard, quiet, no usage
statistics) and shut down at the end; `--ray-address` joins an existing cluster instead, where agentkit and
the tools' files or modules must be importable at the same paths. The workers are sent the `AGENTKIT_*` and
`OPENROUTER_*` variables as a constructor argument rather than as a `runtime_env`: Ray shows a runtime_env
to anyone who can list the cluster's actors, and these hold API keys. Nothing here logs or prints them.
Each of N workers paces its requests with 1/N of the rate limits (docs/rate-limits.md), so that together
they keep to them.

`ray` is imported only here, and only when this engine runs (`import_ray`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import sys
import time
from typing import Any, TextIO

from ..messages import ContentPart
from ._batch import Engine, Outcome, failed_outcome, run_task, task_prompt
from ._batch_files import Task
from ._exit import CliError, one_line
from ._options import AgentSpec, build_agent

__all__ = ["RAY_MISSING", "RayEngine", "import_ray"]

RAY_MISSING = "--engine ray needs Ray, which is not installed: pip install 'agentkit[ray]'"
PASSED_ENV_PREFIXES = ("AGENTKIT_", "OPENROUTER_")
"""Variables the workers get from the driver: the model id, endpoint and keys (and the test guard)."""
_OBJECT_STORE_BYTES = 128 * 2**20
"""A local Ray's object store: results lines are small, so the least Ray accepts (about 75 MiB) and a bit."""
_WORKER_RESTARTS = 3
_RESTART_WAIT_SECONDS = 60.0


def import_ray() -> Any:
    """The `ray` module; `CliError` when it is not installed."""
    try:
        import ray
    except ImportError:
        raise CliError(RAY_MISSING) from None
    return ray


class RayEngine(Engine):
    """Runs the batch's tasks on Ray actors (`_Worker`), each running several agents concurrently."""

    name = "ray"

    def __init__(self, spec: AgentSpec, *, model_name: str, concurrency: int, address: str | None) -> None:
        self.spec = spec
        self.model_name = model_name
        self.concurrency = concurrency
        self.address = address
        self._ray: Any = None
        self._workers: list[Any] = []
        self._in_flight: list[int] = []
        self._restarting: set[int] = set()
        """Workers that failed a task: until one answers again, Ray may still be restarting it."""
        self._stdout: TextIO | None = None

    async def start(self) -> str:
        ray = import_ray()
        started = time.perf_counter()
        # Ray prints what it hears from the cluster (a worker that died, ...) on the driver's stdout, which
        # is the summary's: it goes to stderr, without colours unless that is a terminal.
        self._stdout, sys.stdout = sys.stdout, sys.stderr
        if not sys.stderr.isatty():
            os.environ.setdefault("RAY_COLOR_PREFIX", "0")
        self._connect(ray)
        cpus = int(ray.cluster_resources().get("CPU", 0))
        count = max(1, min(self.concurrency, cpus))
        per_worker = math.ceil(self.concurrency / count)
        env = {k: v for k, v in os.environ.items() if k.startswith(PASSED_ENV_PREFIXES)}
        actor = ray.remote(_Worker).options(
            num_cpus=1 if cpus else 0,
            max_concurrency=per_worker,
            max_restarts=_WORKER_RESTARTS,
            scheduling_strategy="SPREAD",
        )
        self._workers = [actor.remote(self.spec, env, 1 / count) for _ in range(count)]
        self._in_flight = [0] * count
        ready = await asyncio.gather(*(worker.ready.remote() for worker in self._workers))
        errors = [error for error, _ in ready if error is not None]
        if errors:
            raise CliError(f"a Ray worker could not build the agent: {errors[0]}")
        self.start_s = time.perf_counter() - started
        nodes = len({node for _, node in ready})
        where = f"the Ray cluster at {self.address}" if self.address else "a local Ray"
        return (
            f"ray: {count} worker{'s' if count > 1 else ''} ({per_worker} task{'s' if per_worker > 1 else ''}"
            f" at once each) on {nodes} node{'s' if nodes > 1 else ''} of {where}, "
            f"ready in {self.start_s:.1f}s"
        )

    def _connect(self, ray: Any) -> None:
        if self.address is not None:
            try:
                ray.init(address=self.address, logging_level=logging.WARNING, log_to_driver=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise CliError(
                    f"--ray-address {self.address}: cannot connect ({one_line(str(exc))})"
                ) from None
        else:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # a Ray of our own reports nothing
            ray.init(
                address="local",
                num_cpus=min(os.cpu_count() or 1, self.concurrency),
                include_dashboard=False,
                object_store_memory=_OBJECT_STORE_BYTES,
                logging_level=logging.ERROR,  # not the notice of the token it made for this Ray
                log_to_driver=False,
            )
        self._ray = ray

    async def run(self, task: Task) -> Outcome:
        start = time.perf_counter()
        try:
            prompt = task_prompt(task)  # images are read here: workers may not see the driver's files
        except CliError as exc:
            error = {"type": "CliError", "message": exc.message}
            return failed_outcome(task, error, model=self.model_name, start=start)
        index = min(range(len(self._workers)), key=self._in_flight.__getitem__)
        self._in_flight[index] += 1
        ref = None
        try:
            if index in self._restarting:
                await self._back(index)
            ref = self._workers[index].run.remote(task, prompt)
            outcome: Outcome = await ref
        except asyncio.CancelledError:
            if ref is not None:
                self._ray.cancel(ref)
            raise
        except self._ray.exceptions.RayError as exc:  # the worker died, or a bug: the task failed
            self._restarting.add(index)
            error = {"type": type(exc).__name__, "message": _first_line(str(exc))}
            return failed_outcome(task, error, model=self.model_name, start=start)
        finally:
            self._in_flight[index] -= 1
        return outcome

    async def _back(self, index: int) -> None:
        """Wait until worker `index` answers again (Ray restarts a dead actor, up to its restart budget; a
        task sent meanwhile may fail as "unavailable" without having run). Raises when it is gone for good."""
        unavailable = self._ray.exceptions.ActorUnavailableError
        deadline = time.monotonic() + _RESTART_WAIT_SECONDS
        while True:
            try:
                await self._workers[index].ready.remote()
            except unavailable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
                continue
            self._restarting.discard(index)
            return

    async def aclose(self) -> None:
        if self._ray is not None:
            for worker in self._workers:
                self._ray.kill(worker)
            self._ray.shutdown()  # a local Ray stops; a cluster is left as it was
            self._ray = None
        if self._stdout is not None:
            sys.stdout, self._stdout = self._stdout, None


class _Worker:
    """A Ray actor (made one by `ray.remote` in `RayEngine.start`): the agent rebuilt from its spec, and
    `run` called for up to `max_concurrency` tasks at once on the actor's event loop."""

    def __init__(self, spec: AgentSpec, env: dict[str, str], share: float = 1.0) -> None:
        from ..models._pacing import set_process_share

        os.environ.update(env)
        set_process_share(share)  # rate limits are the batch's, not each worker's: each takes its share
        for folder in spec.import_path:  # after everything installed: a file there shadows no module
            if folder not in sys.path:
                sys.path.append(folder)
        self.error: str | None = None
        self.approve = spec.approve
        try:
            self.agent = build_agent(spec)
        except CliError as exc:
            self.error = exc.message

    async def ready(self) -> tuple[str | None, str]:
        """Why the agent could not be built (or None), and this worker's Ray node."""
        import ray

        return self.error, ray.get_runtime_context().get_node_id()

    async def run(self, task: Task, prompt: str | list[ContentPart]) -> Outcome:
        """Run one task."""
        return await run_task(self.agent, task, prompt, approve=self.approve)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""
