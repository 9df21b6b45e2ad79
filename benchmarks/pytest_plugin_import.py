"""What agentkit's pytest plugin adds to every pytest session: importing it, after pytest, in fresh processes.

The entry point `agentkit = "_agentkit_pytest"` makes pytest import the plugin in every session
of every user who installed agentkit. It is a top-level module that imports nothing of agentkit's until a
test asks for its fixture (inside the package, Python would import `agentkit` first). Each case runs with `python -c` in a new process,
timed inside the process around the import (interpreter start-up left out); the median of the runs is shown,
with the ratio to importing pytest alone.

Run: `python benchmarks/pytest_plugin_import.py [runs]` (only the standard library is imported here).
"""

from __future__ import annotations

import statistics
import subprocess
import sys

CASES = {
    "pytest": "import pytest",
    "pytest + agentkit": "import pytest; import agentkit",
    "pytest + the plugin": "import pytest; import _agentkit_pytest",
}
TIMED = "import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"


def measure(code: str, runs: int) -> float:
    """The median seconds `code` takes in a fresh interpreter."""
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", TIMED.format(code=code)], capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout))
    return statistics.median(times)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    results = {label: measure(code, runs) for label, code in CASES.items()}
    base = results["pytest"]
    print(f"median of {runs} fresh processes, Python {sys.version.split()[0]}")
    for label, seconds in results.items():
        print(f"{label:<22} {seconds * 1000:8.1f} ms   x{seconds / base:.2f}")
    added = results["pytest + the plugin"] - base
    print(f"the plugin adds {added * 1000:.1f} ms to a pytest session")


if __name__ == "__main__":
    main()
