"""Run every benchmark: agentkit against a raw `openai` loop, pydantic-ai and openai-agents.

    python benchmarks/run.py [--quick] [--json OUT.json] [--setup] [--strict]

Starts the loopback server (`server.py`), runs each framework's `runner_*.py` in a subprocess with that
framework's Python, prints the figures and ratios with the machine's description, and writes the same as
JSON (default `benchmarks/results/latest.json`). See benchmarks/README.md for what each benchmark measures.

This script imports only the standard library, so any Python 3.10+ can run it; the frameworks live in
`.bench-venv` (made by `--setup`) or in the interpreters given with `--python NAME=PATH`, one per framework
if their dependencies clash.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import coldstart
import harness
import report
from server import MODEL_NAME, TEXT_CHUNKS

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCH_VENV = REPO / ".bench-venv"
DEFAULT_JSON = HERE / "results" / "latest.json"


@dataclass(frozen=True, kw_only=True)
class Framework:
    name: str
    script: str
    repo_on_path: bool = False
    """Put the repository on PYTHONPATH (agentkit works uninstalled too)."""


FRAMEWORKS = (
    Framework(name="raw", script="runner_raw.py"),
    Framework(name="agentkit", script="runner_agentkit.py", repo_on_path=True),
    Framework(name="pydantic-ai", script="runner_pydantic_ai.py"),
    Framework(name="openai-agents", script="runner_openai_agents.py"),
)

MODES: dict[str, dict[str, Any]] = {
    "full": {
        "overhead_reps": 300,
        "overhead_reps_10": 60,
        "parallel_reps": 10,
        "streaming_reps": 300,
        "default_path_reps": 150,
        "schema_reps": 50,
        "runs": 1000,
        "concurrency_reps": 2,
        "traced": False,
        "coldstart_procs": 5,
        "coldstart_warmup": True,
        "rounds": 3,
        "caching_reps": 20,
        "hooks_runs": 200,
        "hooks_rounds": 9,
        "context_turns": 200,
        "pacing_runs": 500,
        "pacing_window": 10.0,
    },
    "quick": {
        "overhead_reps": 25,
        "overhead_reps_10": 5,
        "parallel_reps": 2,
        "streaming_reps": 25,
        "default_path_reps": 15,
        "schema_reps": 5,
        "runs": 200,
        "concurrency_reps": 1,
        "traced": False,
        "coldstart_procs": 2,
        "coldstart_warmup": False,
        "rounds": 1,
        "caching_reps": 3,
        "hooks_runs": 20,
        "hooks_rounds": 2,
        "context_turns": 40,
        "pacing_runs": 200,
        "pacing_window": 2.0,
    },
}
BENCHES = (
    "overhead",
    "coldstart",
    "parallel",
    "schema",
    "concurrency",
    "streaming",
    "default_path",
    "caching",
    "hooks",
    "context",
    "pacing",
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine_info() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown",
    )
    mem_kib = next(
        (int(line.split()[1]) for line in _read("/proc/meminfo").splitlines() if "MemTotal" in line), 0
    )
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "load_average_start": os.getloadavg(),
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def setup_venv() -> None:
    """Make .bench-venv with the peers and agentkit (editable); the dev venv never gets the peers."""
    python = BENCH_VENV / "bin" / "python"
    if not python.exists():
        log(f"creating {BENCH_VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-r", str(HERE / "requirements.txt")], check=True)
    if subprocess.run([*pip, "-e", str(REPO)], check=False).returncode != 0:
        log("agentkit did not install (editable); its runner falls back to PYTHONPATH")


def interpreters(overrides: list[str]) -> dict[str, str]:
    default = BENCH_VENV / "bin" / "python"
    chosen = {fw.name: str(default) if default.exists() else sys.executable for fw in FRAMEWORKS}
    for item in overrides:
        name, _, path = item.partition("=")
        if name not in chosen or not path:
            raise SystemExit(f"--python wants NAME=PATH with NAME in {sorted(chosen)}; got {item!r}")
        chosen[name] = path
    return chosen


def env_for(fw: Framework, base_url: str | None = None) -> dict[str, str]:
    env = {"OPENAI_AGENTS_DISABLE_TRACING": "1"}
    if base_url is not None:  # agentkit's default path is configured from the environment, as a user's shell
        env |= {"AGENTKIT_BASE_URL": base_url, "AGENTKIT_MODEL": MODEL_NAME, "AGENTKIT_API_KEY": "x"}
    if fw.repo_on_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))
    return env


class Server:
    """server.py in a subprocess; it stops when its stdin closes."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_runner(fw: Framework, python: str, args: list[str], timeout: float, base_url: str) -> dict[str, Any]:
    """One runner subprocess; its JSON result, or an exception with the tail of its stderr."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        done = subprocess.run(
            [python, str(HERE / fw.script), *args, "--out", out.name],
            env={**os.environ, **env_for(fw, base_url)},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{fw.name}: exit {done.returncode}\n{done.stderr.strip()[-2000:]}")
        return json.loads(Path(out.name).read_text())


def run_coldstart(pythons: dict[str, str], available: set[str], procs: int, warmup: bool) -> dict[str, Any]:
    by_name = {fw.name: fw for fw in FRAMEWORKS}
    cases = [case for case in coldstart.CASES if case.framework in available]
    for case in cases if warmup else ():  # once each, uncounted: bytecode caches, the page cache
        coldstart.measure(case, pythons[case.framework], env_for(by_name[case.framework]))
    inner: dict[str, list[float]] = {case.label: [] for case in cases}
    wall: dict[str, list[float]] = {case.label: [] for case in cases}
    for _ in range(procs):  # round-robin, so drift in the machine's load spreads over every case
        for case in cases:
            seconds, process = coldstart.measure(
                case, pythons[case.framework], env_for(by_name[case.framework])
            )
            inner[case.label].append(seconds)
            wall[case.label].append(process)
    return {
        case.label: {
            "framework": case.framework,
            "kind": case.kind,
            "in_process_s": harness.summarize(inner[case.label]),
            "process_wall_s": harness.summarize(wall[case.label]),
        }
        for case in cases
    }


def runner_args(bench: str, mode: dict[str, Any], base_url: str) -> list[str]:
    args = ["--base-url", base_url, "--bench", bench]
    for key in (
        "overhead_reps",
        "overhead_reps_10",
        "parallel_reps",
        "streaming_reps",
        "default_path_reps",
        "schema_reps",
        "runs",
        "concurrency_reps",
    ):
        args += [f"--{key.replace('_', '-')}", str(mode[key])]
    return [*args, "--traced"] if mode["traced"] else args


def _is_import_error(exc: Exception) -> bool:
    last = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
    return last.startswith(("ModuleNotFoundError", "ImportError"))


def plan(benches: list[str], mode: dict[str, Any]) -> list[tuple[list[str], dict[str, Any]]]:
    """The runner processes each framework goes through, in order, with the settings of each.

    Overhead, parallel, streaming and default-path runs are split into rounds taken round-robin across the
    frameworks, so a burst of other load on the machine is shared out rather than landing on one framework.
    Streaming and the default path run in a process of their own in each round (the same process as the
    others would change none of their figures, but a failure there would lose them). Concurrency gets a
    fresh process, so its peak memory is the concurrent runs' own.
    """
    rounds = max(1, mode["rounds"])
    per_round = {
        **mode,
        **{
            key: -(-mode[key] // rounds)
            for key in (
                "overhead_reps",
                "overhead_reps_10",
                "parallel_reps",
                "streaming_reps",
                "default_path_reps",
            )
        },
    }
    first = ["info", *(b for b in ("schema", "overhead", "parallel") if b in benches)]
    later = [b for b in ("overhead", "parallel") if b in benches]
    streamed = [b for b in ("streaming", "default_path") if b in benches]
    steps = [(first, per_round)]
    if streamed:
        steps.append((streamed, per_round))
    for _ in range(rounds - 1):
        steps += [(group, per_round) for group in (later, streamed) if group]
    if "concurrency" in benches:
        steps.append((["concurrency"], mode))
    return steps


def run_all(
    frameworks: list[Framework],
    pythons: dict[str, str],
    benches: list[str],
    mode: dict[str, Any],
    base_url: str,
    *,
    timeout: float,
) -> tuple[dict[str, Any], dict[str, str], list[str], dict[str, dict[str, Any]]]:
    """Every selected benchmark for every framework: (info, skipped, failures, results)."""
    info: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    failures: list[str] = []
    parts: dict[str, dict[str, list[Any]]] = {bench: {} for bench in benches}
    for group, settings in plan(benches, mode):
        for fw in frameworks:
            if fw.name in skipped or any(f.startswith(f"{fw.name}:") for f in failures):
                continue
            log(f"{','.join(group)}: {fw.name}")
            try:
                out = run_runner(
                    fw, pythons[fw.name], runner_args(",".join(group), settings, base_url), timeout, base_url
                )
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                if group[0] == "info" and _is_import_error(exc):
                    skipped[fw.name] = str(exc).strip().splitlines()[-1]
                    log(f"skipping {fw.name}: {skipped[fw.name]}")
                else:
                    failures.append(f"{fw.name}: {','.join(group)}: {exc}")
                    log(f"FAILED: {exc}")
                continue
            info.setdefault(fw.name, out["info"])
            for bench in group:
                if bench != "info":
                    parts[bench].setdefault(fw.name, []).append(out[bench])
    merge = {
        "overhead": harness.merge_overhead,
        "parallel": harness.merge_parallel,
        "streaming": harness.merge_streaming,
        "default_path": harness.merge_default_path,
    }
    results: dict[str, dict[str, Any]] = {
        bench: {name: merge[bench](got) if bench in merge else got[0] for name, got in by_fw.items()}
        for bench, by_fw in parts.items()
    }
    if "coldstart" in benches:
        log("coldstart")
        available = {fw.name for fw in frameworks if fw.name not in skipped}
        try:
            results["coldstart"] = run_coldstart(
                pythons, available, mode["coldstart_procs"], mode["coldstart_warmup"]
            )
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            failures.append(f"coldstart: {exc}")
            log(f"FAILED: {exc}")
    own: dict[str, Callable[[], dict[str, Any]]] = {  # agentkit's own benchmarks, no peer to compare
        "caching": lambda: run_caching(pythons["agentkit"], mode["caching_reps"], timeout),
        "hooks": lambda: run_hooks(pythons["agentkit"], base_url, mode, timeout),
        "context": lambda: run_context(pythons["agentkit"], mode["context_turns"], timeout),
        "pacing": lambda: run_pacing(pythons["agentkit"], mode, timeout),
    }
    with_agentkit = any(fw.name == "agentkit" for fw in frameworks) and "agentkit" not in skipped
    for bench, run in own.items():
        if bench not in benches or not with_agentkit:
            continue
        log(f"{bench}: agentkit")
        try:
            results[bench] = run()
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            failures.append(f"{bench}: {exc}")
            log(f"FAILED: {exc}")
    return info, skipped, failures, results


def run_context(python: str, turns: int, timeout: float) -> dict[str, Any]:
    """bench_context.py (agentkit only, against its own loopback server): a long run with 20 KB tool results
    against a model with a 32k-token window."""
    return run_agentkit_script(python, "bench_context.py", ["--turns", str(turns)], timeout)


def run_hooks(python: str, base_url: str, mode: dict[str, Any], timeout: float) -> dict[str, Any]:
    """bench_hooks.py (agentkit alone: a run with no hooks, 3 no-op hooks, 3 hooks with every method)."""
    args = ["--base-url", base_url, "--runs", str(mode["hooks_runs"]), "--rounds", str(mode["hooks_rounds"])]
    return run_agentkit_script(python, "bench_hooks.py", args, timeout)


def run_caching(python: str, reps: int, timeout: float) -> dict[str, Any]:
    """bench_caching.py (agentkit only, against its own loopback server): a 20-turn run's cost with and
    without prompt-cache breakpoints."""
    return run_agentkit_script(python, "bench_caching.py", ["--reps", str(reps)], timeout)


def run_pacing(python: str, mode: dict[str, Any], timeout: float) -> dict[str, Any]:
    """bench_pacing.py (agentkit only, against a rate-limited loopback server): concurrent runs, and the same
    batch through `agentkit batch`, with no 429 collected and the allowed rate used."""
    args = ["--runs", str(mode["pacing_runs"]), "--window", str(mode["pacing_window"])]
    return run_agentkit_script(python, "bench_pacing.py", args, timeout)


def run_agentkit_script(python: str, script: str, args: list[str], timeout: float) -> dict[str, Any]:
    """One of agentkit's own benchmark scripts in agentkit's venv: the JSON it writes (`--json FILE`)."""
    agentkit = next(fw for fw in FRAMEWORKS if fw.name == "agentkit")
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        done = subprocess.run(
            [python, str(HERE / script), *args, "--json", out.name],
            env={**os.environ, **env_for(agentkit)},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{script}: exit {done.returncode}\n{done.stderr.strip()[-2000:]}")
        result: dict[str, Any] = json.loads(Path(out.name).read_text())
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the agentkit benchmarks against a raw loop and peers.")
    parser.add_argument("--quick", action="store_true", help="few repetitions (CI): under a minute")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"output (default {DEFAULT_JSON})")
    parser.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated subset of {BENCHES}")
    parser.add_argument(
        "--frameworks", default=",".join(fw.name for fw in FRAMEWORKS), help="comma-separated"
    )
    parser.add_argument(
        "--python", action="append", default=[], metavar="NAME=PATH", help="a framework's Python"
    )
    parser.add_argument("--setup", action="store_true", help="create/update .bench-venv first")
    parser.add_argument("--traced", action="store_true", help="concurrency: one more round under tracemalloc")
    parser.add_argument("--strict", action="store_true", help="fail when a framework cannot be imported")
    args = parser.parse_args()

    mode_name = "quick" if args.quick else "full"
    mode = {**MODES[mode_name], "traced": MODES[mode_name]["traced"] or args.traced}
    benches = [b for b in args.only.split(",") if b]
    if unknown := set(benches) - set(BENCHES):
        raise SystemExit(f"unknown benchmarks: {sorted(unknown)}")
    wanted = args.frameworks.split(",")
    frameworks = [fw for fw in FRAMEWORKS if fw.name in wanted]
    if args.setup:
        setup_venv()
    pythons = interpreters(args.python)
    started = time.perf_counter()
    machine = machine_info()
    log(f"mode {mode_name}; machine: {machine['cores']} cores, Python {machine['python']}")

    server = Server()
    try:
        outcome = run_all(
            frameworks, pythons, benches, mode, server.base_url, timeout=300 if args.quick else 900
        )
    finally:
        server.close()
    info, skipped, failures, results = outcome

    machine["load_average_end"] = os.getloadavg()
    names = [fw.name for fw in frameworks if fw.name in info]
    document = {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "mode": mode_name,
        "settings": mode,
        "machine": machine,
        "frameworks": info,
        "skipped": skipped,
        "failures": failures,
        "results": results,
        "ratios": report.compute_ratios(results, names),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    print(render(document, names))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    log(f"wrote {args.json}")
    if failures or (args.strict and skipped):
        log(f"{len(failures)} failed, {len(skipped)} skipped")
        return 1
    return 0


def _render_hooks(results: dict[str, Any]) -> str:
    return "\n".join(
        f"  {name:<22} {figures['run_us']:>9.0f} µs/run  x{figures['ratio']:.3f} of no hooks "
        f"(per round: x{figures['paired_ratio']:.3f})"
        for name, figures in results.items()
    )


def render(document: dict[str, Any], names: list[str]) -> str:
    m = document["machine"]
    lines = [
        f"agentkit benchmarks ({document['mode']} mode, {document['generated']}, {document['elapsed_s']} s)",
        f"machine: {m['cores']} cores ({m['usable_cores']} usable), {m['cpu']}, {m['memory_gib']} GiB, "
        f"{m['platform']}",
        f"python: {m['python']} (run.py); load average at start {_load(m['load_average_start'])}, "
        f"at end {_load(m['load_average_end'])}",
    ]
    if max(m["load_average_start"][0], m["load_average_end"][0]) > 0.5 * (m["usable_cores"] or 1):
        lines.append(
            "WARNING: the machine was busy with other work (load average above); expect wide spreads."
        )
    for name, info in document["frameworks"].items():
        lines.append(
            f"  {name:<14} {info['version'] or '?':<10} python {info['python']}  ({info['executable']})"
        )
    for name, reason in document["skipped"].items():
        lines.append(f"  {name:<14} SKIPPED: {reason}")
    lines.append(
        "ratios: agentkit/x is agentkit's cost over x's (below 1: agentkit is cheaper); x raw is x over raw."
    )
    results = document["results"]
    sections = (
        (
            "overhead",
            "1. Per-run overhead: sequential runs against the instant server, wall time per run",
            lambda d: report.render_overhead(d, names),
        ),
        (
            "coldstart",
            "2. Cold start: fresh interpreters; time of the snippet inside the process",
            report.render_coldstart,
        ),
        (
            "parallel",
            "3. Parallel tools: 8 calls of a 200 ms tool in one turn; tool phase as the server sees it",
            lambda d: report.render_parallel(d, names),
        ),
        (
            "schema",
            "4. Schema: the 10-tool reference set in each framework's form for a Gemini model",
            lambda d: report.render_schema(d, names),
        ),
        (
            "concurrency",
            "5. Concurrency: concurrent 2-turn runs in one process",
            lambda d: report.render_concurrency(d, names),
        ),
        (
            "streaming",
            f"6. Streaming: streamed 2-turn runs (1 tool call, then the answer in {TEXT_CHUNKS} text chunks)",
            lambda d: report.render_streaming(d, names),
        ),
        (
            "default_path",
            "7. Default path: the README's agent, no client passed, sequential 2-turn runs",
            lambda d: report.render_default_path(d, names),
        ),
        (
            "caching",
            "8. Prompt caching: a 20-turn agentkit run's cost without and with cache_control breakpoints",
            _render_caching,
        ),
        (
            "hooks",
            "9. Hooks (agentkit): sequential 2-turn runs with no hooks, 3 no-op hooks, 3 hooks with every method",
            _render_hooks,
        ),
        (
            "context",
            "10. Context window: a long agentkit run with 20 KB tool results against a 32k-token model",
            _render_context,
        ),
        (
            "pacing",
            "11. Rate limits: concurrent runs against a loopback server that answers 429 past its limit",
            _render_pacing,
        ),
    )
    for key, title, render_section in sections:
        if results.get(key):
            lines += ["", title, render_section(results[key])]
    for failure in document["failures"]:
        lines += ["", f"FAILED: {failure}"]
    return "\n".join(lines)


def _render_caching(f: dict[str, Any]) -> str:
    lines = [f"  prices: {f['prices_from']}: {f['prices_per_mtok']}"]
    for label in ("without", "with"):
        r = f[label]
        lines.append(
            f"  {label:<7} ${r['cost_usd']:.6f}  {r['input_tokens']} input tokens ({r['cached_input_tokens']} "
            f"cached)  {r['ms_per_run_median']:.1f} ms per run"
        )
    lines.append(f"  with/without: {f['cost_ratio_with_over_without']:.3f} of the cost")
    return "\n".join(lines)


def _render_context(f: dict[str, Any]) -> str:
    lines = [
        f"  {f['turns']} turns, {f['result_bytes'] // 1024} KB results, {f['window_tokens']:,}-token window"
    ]
    for r in f["runs"]:
        t = r["input_tokens_per_request"]
        how = "window in the profile" if r["profile_knows_window"] else "window learned from a refusal"
        lines.append(
            f"  {how}: {r['requests']} requests ({r['refused']} refused); input tokens per request first "
            f"{t['first']:,} / median {t['median']:,.0f} / last {t['last']:,} / max {t['max']:,} (whole transcript "
            f"~{r['whole_transcript_tokens_at_last_request']:,}); estimator "
            f"{r['estimate_us_per_request']['median']:.1f} us, fit {r['fit_us_per_request']['median']:.1f} us per "
            f"request; {r['ms_per_request']:.1f} ms per request"
        )
    return "\n".join(lines)


def _render_pacing(f: dict[str, Any]) -> str:
    from bench_pacing import render as render_pacing

    return render_pacing(f["sides"], f["limit"], f["window_s"])


def _load(values: list[float] | tuple[float, ...]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
