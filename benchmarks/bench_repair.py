"""Local repair of malformed tool-call arguments: json-repair against the prompted-mode parser.

    python benchmarks/bench_repair.py

For each case of issue 10 (the JSON part), both candidates decode the text; a case counts as repaired when
the result equals the intended arguments. Prints cases repaired, µs per repair (mean over the cases, best
of 5 rounds of 200), and json-repair's import cost (cold, and with pydantic already loaded, in a fresh
interpreter). agentkit uses json-repair through `agentkit._schema.repair.repair_text`, the code a run takes.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("trailing comma", '{"city": "Paris", "days": 3,}', {"city": "Paris", "days": 3}),
    ("single quotes", "{'city': 'Paris', 'days': 3}", {"city": "Paris", "days": 3}),
    (
        "Python literals",
        '{"city": "Paris", "metric": True, "note": None}',
        {"city": "Paris", "metric": True, "note": None},
    ),
    (
        "mixed JSON/Python literals",
        '{"city": "Paris", "metric": true, "note": None}',
        {"city": "Paris", "metric": True, "note": None},
    ),
    ("markdown fence", '```json\n{"city": "Paris", "days": 2}\n```', {"city": "Paris", "days": 2}),
    ("line comment", '{"city": "Paris", // where\n "days": 2}', {"city": "Paris", "days": 2}),
    ("block comment", '{"city": "Paris", /* how long */ "days": 2}', {"city": "Paris", "days": 2}),
    ("cut between values", '{"city": "Paris", "days": 3', {"city": "Paris", "days": 3}),
    ("cut after a comma", '{"city": "Paris", "days": 3,', {"city": "Paris", "days": 3}),
    ("cut in a nested list", '{"city": "Paris", "days": [1, 2', {"city": "Paris", "days": [1, 2]}),
    ("arguments as a JSON string", '"{\\"city\\": \\"Paris\\"}"', {"city": "Paris"}),
    ("unquoted key", '{city: "Paris"}', {"city": "Paris"}),
]


def with_json_repair(text: str) -> Any:
    from agentkit._schema.repair import repair_text

    return repair_text(text)


def with_prompted_parser(text: str) -> Any:
    from agentkit.models._prompted import _decode_object

    start = text.find("{")
    return _decode_object(text, start)[0] if start >= 0 else None


def measure(decode: Callable[[str], Any]) -> tuple[int, float]:
    repaired = sum(1 for _, text, want in CASES if decode(text) == want)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(200):
            for _, text, _ in CASES:
                decode(text)
        best = min(best, (time.perf_counter() - started) / (200 * len(CASES)))
    return repaired, best * 1e6


def import_ms(prelude: str) -> float:
    code = (
        f"{prelude}import time; t = time.perf_counter(); import json_repair; print(time.perf_counter() - t)"
    )
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(5)
    ]
    return statistics.median(runs) * 1000


def main() -> None:
    for label, decode in (
        ("json-repair (agentkit._schema.repair)", with_json_repair),
        ("prompted-mode parser", with_prompted_parser),
    ):
        repaired, micros = measure(decode)
        print(f"{label:32} repaired {repaired:2}/{len(CASES)}   {micros:6.1f} µs per repair")
        for name, text, want in CASES:
            if decode(text) != want:
                print(f"    missed: {name}")
    cold, warm = import_ms(""), import_ms("import pydantic; ")
    print(f"json-repair import: {cold:.1f} ms cold, {warm:.1f} ms after pydantic")
    probe = "import sys, agentkit; print('json_repair' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    print(f"json_repair loaded by `import agentkit`: {loaded}")


if __name__ == "__main__":
    main()
