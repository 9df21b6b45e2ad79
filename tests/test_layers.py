"""The layer rules in pyproject.toml (checked by `lint-imports` in CI) name every module of the package."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the CI Python is newer
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
LEAF_HELPERS = {"agentkit._support"}
"""The package of modules a value may import: they import nothing of agentkit but values."""
DOORS = {"agentkit", "agentkit.__main__"}
"""The package itself (its re-exports) and `python -m agentkit`."""


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {contract["id"]: contract for contract in config["tool"]["importlinter"]["contracts"]}


def _top_level_modules() -> set[str]:
    package = ROOT / "agentkit"
    names = {f"agentkit.{path.stem}" for path in package.glob("*.py") if path.stem != "__init__"}
    names |= {f"agentkit.{path.parent.name}" for path in package.glob("*/__init__.py")}
    return names | {"agentkit"}


def test_every_module_is_a_value_a_leaf_helper_or_machinery() -> None:
    values = _contracts()["values"]
    named = set(values["source_modules"]) | set(values["forbidden_modules"]) | LEAF_HELPERS | DOORS
    new = _top_level_modules() - named
    assert new == set(), (
        "pyproject.toml: add each new module to the `values` contract (as a value or as machinery)"
    )
    assert named - _top_level_modules() == set(), "a contract names a module that is gone"
    assert set(values["source_modules"]).isdisjoint(values["forbidden_modules"])


def test_every_module_but_the_model_layer_is_kept_off_openai() -> None:
    sources = set(_contracts()["openai"]["source_modules"])
    expected = _top_level_modules() - {"agentkit", "agentkit.models"}
    assert sources == expected, f"pyproject.toml: the `openai` contract's sources, add {expected - sources}"


def test_the_schema_part_sits_on_the_values_only() -> None:
    values = set(_contracts()["values"]["source_modules"])
    below = values | LEAF_HELPERS | DOORS | {"agentkit.context", "agentkit._schema"}
    forbidden = set(_contracts()["schema"]["forbidden_modules"])
    assert forbidden == _top_level_modules() - below, "pyproject.toml: the `schema` contract's forbidden list"


def test_the_parts_have_their_contracts() -> None:
    contracts = _contracts()
    assert contracts["run"]["source_modules"] == ["agentkit._run"]
    assert {"agentkit.agent", "agentkit.cli", "agentkit.local"} <= set(contracts["run"]["forbidden_modules"])
    assert "agentkit._run" in contracts["models"]["forbidden_modules"]
    assert "agentkit._run" in contracts["tools"]["forbidden_modules"]
    assert "agentkit._schema" in contracts["tools"]["source_modules"]
    for contract in ("run", "tools", "schema"):
        assert "ignore_imports" not in contracts[contract], contract
        assert not contracts[contract].get("allow_indirect_imports"), contract  # what they reach counts too


def test_leaf_helpers_import_no_machinery() -> None:
    helpers = sorted((ROOT / "agentkit" / "_support").glob("*.py"))
    assert len(helpers) > 5
    for path in helpers:
        source = path.read_text(encoding="utf-8")
        imports = {line.split()[1] for line in source.splitlines() if line.strip().startswith("from .")}
        siblings = {name for name in imports if not name.startswith("..")}  # other leaf helpers
        assert imports - siblings <= {"..exceptions", "..messages", "..usage"}, path.name  # values only


def test_only_the_documented_edges_are_ignored() -> None:
    contracts = _contracts()
    assert contracts["cli"]["ignore_imports"] == ["agentkit.__main__ -> agentkit.cli"]
    assert "ignore_imports" not in contracts["values"]
    assert "ignore_imports" not in contracts["root"] and "ignore_imports" not in contracts["openai"]
    assert "ignore_imports" not in contracts["models"]  # the local model's ids are registered by the root
    assert "agentkit.local" in contracts["models"]["forbidden_modules"]
    # the public door to the dialects for code that writes requests itself (`ToolDefinition.openai_tool`)
    assert contracts["dialects"]["ignore_imports"] == ["agentkit.tool -> agentkit.models._tool_entries"]


def test_the_tools_and_the_run_import_no_dialect() -> None:
    dialects = _contracts()["dialects"]
    for name in dialects["forbidden_modules"]:  # the dialect modules are where the contract says
        assert (ROOT / f"{name.replace('.', '/')}.py").is_file(), name
    for name in ("agentkit.tool", "agentkit._schema", "agentkit._run"):
        assert name in dialects["source_modules"]


def test_version_is_the_projects() -> None:
    import agentkit
    from agentkit._version import __version__

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert agentkit.__version__ is __version__
    assert __version__ == project["version"]
