"""How long agentkit takes to turn a function into a tool, and how big the tool JSON is.

    python benchmarks/bench_schema.py [--repeat N]

For a documented three-parameter tool (`search_docs`) and each tool of the 10-tool reference set
(`reference_tools.py`) it prints the median of many timed builds (`time.perf_counter`):

- first build: a new `Tool` from a new function object, including the standard `.parameters` and the
  Gemini `openai_tool`. Every sample execs the function's source again, so nothing is cached: annotations are
  resolved, the docstring parsed and the schemas built each time. (The pydantic validator is built lazily on
  the first call; that cost is printed separately.)
- cached build: `Tool(f)` again for a function already described, with the same `.parameters` and
  `openai_tool("gemini")`, which come from the cache.

Then the bytes of the 10-tool set's `tools` JSON per schema dialect, as sent on the wire (compact JSON).
Nothing here is hard-coded: every figure is measured on this machine when the script runs.
"""

from __future__ import annotations
import __future__

import argparse
import gc
import inspect
import json
import platform
import statistics
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import pydantic  # noqa: E402
import reference_tools  # noqa: E402

from agentkit.models._dialects import DIALECTS  # noqa: E402
from agentkit.tool import Tool  # noqa: E402

THREE_PARAMETER_TOOL = reference_tools.search_docs
"""A documented three-parameter tool: str, int with a default, bool with a default, Google-style docstring."""


def fresh_functions(func: Callable[..., Any]) -> Callable[[], Callable[..., Any]]:
    """A maker of new function objects with `func`'s source, in a copy of its module's namespace."""
    source = textwrap.dedent(inspect.getsource(func))
    flags = __future__.annotations.compiler_flag  # the module uses `from __future__ import annotations`
    code = compile(source, inspect.getsourcefile(func) or "<tool>", "exec", flags=flags, dont_inherit=True)
    namespace = dict(vars(inspect.getmodule(func)))

    def make() -> Callable[..., Any]:
        exec(code, namespace)
        made: Callable[..., Any] = namespace[func.__name__]
        return made

    return make


def build(func: Callable[..., Any]) -> Tool[..., Any]:
    """What "building a tool" means here: the object, its standard schema and its Gemini entry."""
    made = Tool(func)
    assert made.parameters["type"] == "object"
    made.openai_tool("gemini")
    return made


def first_build(func: Callable[..., Any], repeat: int) -> float:
    """Median seconds to build a tool from a function never seen before."""
    make = fresh_functions(func)
    samples = []
    for _ in range(repeat):
        new_function = make()
        start = time.perf_counter()
        build(new_function)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def cached_build(func: Callable[..., Any], repeat: int, batch: int = 20) -> float:
    """Median seconds to build a tool again for a function already described (timed in batches)."""
    build(func)
    samples = []
    for _ in range(max(1, repeat // batch)):
        start = time.perf_counter()
        for _ in range(batch):
            build(func)
        samples.append((time.perf_counter() - start) / batch)
    return statistics.median(samples)


def first_validation(func: Callable[..., Any], arguments: str, repeat: int) -> float:
    """Median seconds of the first `validate_arguments` of a new tool (it builds the pydantic validator)."""
    make = fresh_functions(func)
    samples = []
    for _ in range(repeat):
        made = build(make())
        start = time.perf_counter()
        made.validate_arguments(arguments)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def tools_json_bytes(functions: tuple[Callable[..., Any], ...]) -> dict[str, int]:
    """Bytes of the compact `tools` array for `functions`, per dialect."""
    tools = [Tool(f) for f in functions]
    sizes = {}
    for dialect in DIALECTS:
        entries = [t.openai_tool(dialect) for t in tools]
        sizes[dialect] = len(json.dumps(entries, separators=(",", ":"), ensure_ascii=False).encode())
    return sizes


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2000, help="timed builds per tool (default 2000)")
    options = parser.parse_args()
    repeat = max(1, options.repeat)

    for func in reference_tools.REFERENCE_FUNCTIONS:  # warm up: imports, pydantic's own caches
        for _ in range(20):
            build(fresh_functions(func)())
    gc.collect()

    print(f"agentkit tool build, median of {repeat} builds per tool")
    print(f"Python {platform.python_version()} on {platform.machine()}, pydantic {pydantic.VERSION}")
    print()
    print(f"{'tool':<36}{'first build':>14}{'cached build':>15}")
    rows = [("documented three-parameter tool", THREE_PARAMETER_TOOL)]
    rows += [(f"  {f.__name__}", f) for f in reference_tools.REFERENCE_FUNCTIONS]
    firsts = []
    for label, func in rows:
        first = first_build(func, repeat)
        cached = cached_build(func, repeat)
        if func in reference_tools.REFERENCE_FUNCTIONS:
            firsts.append(first)
        print(f"{label:<36}{_ms(first):>14}{_ms(cached):>15}")
    print(f"{'10-tool set, all first builds':<36}{_ms(sum(firsts)):>14}")
    print()
    validation = first_validation(THREE_PARAMETER_TOOL, '{"query": "x"}', max(1, repeat // 4))
    label = "first validate_arguments of the three-parameter tool (builds its validator)"
    print(f"{label}: {validation * 1000:.3f} ms")
    print()
    print("10-tool set, `tools` JSON as sent (compact):")
    for dialect, size in tools_json_bytes(reference_tools.REFERENCE_FUNCTIONS).items():
        print(f"  {dialect:<14}{size:>7,} bytes")


if __name__ == "__main__":
    main()
