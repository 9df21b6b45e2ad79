"""Every Python block of docs/failures.md runs, in order, in one namespace (each block asserts what it shows)."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "failures.md"


def test_the_failures_page_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 3
    namespace: dict[str, object] = {"__name__": "failures_md"}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), namespace)
