"""The error trees drawn in `agentkit/exceptions.py` and docs/reliability.md are the classes' real tree: every
public error in it, each under its one parent (no class is both a `UserError` and an `AgentRunError`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import agentkit
import agentkit.exceptions
import agentkit.local
import agentkit.testing

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = (agentkit, agentkit.local, agentkit.testing)
FENCE = re.compile(r"```\n(AgentkitError\n.*?)```", re.S)


def drawn_tree(text: str) -> dict[str, str | None]:
    """Each class named in the tree drawn in `text`, with its parent's name (`None` at the left edge)."""
    block = FENCE.search(text)
    assert block is not None, "no error tree found"
    parents: dict[str, str | None] = {}
    path: list[str] = []
    for line in block.group(1).splitlines():
        start = re.search(r"\w", line)
        assert start is not None, line
        depth = start.start() // 4
        name = line[start.start() :].split()[0]
        path[depth:] = [name]
        parents[name] = path[depth - 1] if depth else None
    return parents


def public_errors() -> dict[str, type[BaseException]]:
    found = {}
    for module in PUBLIC_MODULES:
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, BaseException):
                found[name] = value
    return found


def real_tree() -> dict[str, str | None]:
    errors = public_errors()
    tree: dict[str, str | None] = {}
    for name, cls in errors.items():
        bases = [base for base in cls.__bases__ if issubclass(base, BaseException)]
        assert len(bases) == 1, f"{name} has more than one parent: {bases}"
        tree[name] = bases[0].__name__ if bases[0] in errors.values() else None
    return tree


def subclasses(cls: type[BaseException]) -> set[type[BaseException]]:
    direct = set(cls.__subclasses__())
    return direct.union(*(subclasses(sub) for sub in direct))


@pytest.mark.parametrize(
    "text",
    [agentkit.exceptions.__doc__ or "", (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")],
    ids=["exceptions.py", "reliability.md"],
)
def test_the_drawn_tree_is_the_real_one(text: str) -> None:
    assert drawn_tree(text) == real_tree()


def test_every_error_agentkit_defines_is_public_or_private_to_a_module() -> None:
    public = set(public_errors().values())
    for cls in subclasses(agentkit.AgentkitError) | subclasses(agentkit.ModelRetry):
        if cls not in public:  # raised and caught inside agentkit, never reaching users as such
            assert any(part.startswith("_") for part in cls.__module__.split(".")), cls  # or its package


def test_installing_fixes_a_user_error_and_a_failed_server_is_a_failed_run() -> None:
    assert issubclass(agentkit.local.LocalModelError, agentkit.UserError)
    assert not issubclass(agentkit.local.LocalServerError, agentkit.UserError)
    assert issubclass(agentkit.local.PortInUseError, agentkit.AgentRunError)
    for name, cls in public_errors().items():
        assert not (issubclass(cls, agentkit.UserError) and issubclass(cls, agentkit.AgentRunError)), name
