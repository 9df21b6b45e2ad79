"""Every code block of docs/rate-limits.md runs."""

from __future__ import annotations

import re
import time
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "rate-limits.md"
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_explicit_limit_example_runs_and_paces() -> None:
    (example,) = (code for language, code in BLOCKS if language == "python")
    start = time.monotonic()
    exec(compile(example, str(PAGE), "exec"), {"__name__": "docs_rate_limits"})
    assert time.monotonic() - start >= 0.8  # 20 runs: 10 at once, then 10 a second
