"""Every code block of docs/architecture.md runs, and the modules and files it names exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "architecture.md"
TEXT = PAGE.read_text(encoding="utf-8")
PYTHON = re.findall(r"```python\n(.*?)```", TEXT, re.DOTALL)


@pytest.mark.parametrize("code", PYTHON, ids=[f"block{i}" for i in range(len(PYTHON))])
def test_the_example_runs(code: str) -> None:
    exec(compile(code, str(PAGE), "exec"), {"__name__": "docs_architecture"})


def test_the_modules_it_names_exist() -> None:
    files = {
        str(path.relative_to(ROOT)) for path in [*ROOT.glob("agentkit/**/*.py"), *ROOT.glob("tests/*.py")]
    }
    named = set(re.findall(r"[\w/]*\w\.py\b", TEXT))
    assert len(named) > 40
    assert {name for name in named if not any(f == name or f.endswith(f"/{name}") for f in files)} == set()


def test_the_pages_it_links_exist() -> None:
    links = set(re.findall(r"\]\(([\w-]+\.md)\)", TEXT))
    assert "reliability.md" in links
    # hooks.md is written with the hooks themselves, in a branch of its own
    assert {link for link in links if not (ROOT / "docs" / link).exists()} <= {"hooks.md"}
