"""agentkit's pytest plugin (entry point `agentkit`; `-p no:agentkit` turns it off): cassettes per test.

```python
def test_my_agent(agentkit_cassette):
    assert "Oslo" in agent.run_sync("Where is it colder?").output
```

The first run records `cassettes/<test module>/<test name>.json` next to the test module; later runs replay
it. `--agentkit-record` (or `AGENTKIT_RECORD=1`) records again. `@pytest.mark.agentkit_cassette(path,
mode=...)` chooses another file (relative to the test module) or mode. A failed test's recording is not kept.

Every pytest session of every user who installed agentkit loads this module, so it is a top-level module
(as hypothesis does with `_hypothesis_pytestplugin`): inside the package, loading it would import `agentkit`
first. It imports nothing of agentkit's until a test asks for the fixture.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from agentkit.testing._cassette import Cassette, Mode

__all__ = ["agentkit_cassette", "cassette_path"]

_failed = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("agentkit").addoption(
        "--agentkit-record",
        action="store_true",
        default=False,
        help="record the agentkit_cassette cassettes again, from the real endpoints",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "agentkit_cassette(path=None, *, mode='auto'): the agentkit_cassette fixture's file (relative to the "
        "test module) and mode",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Note a failed setup or call: the fixture then keeps no recording."""
    report = yield
    if report.failed:
        item.stash[_failed] = True
    return report


def cassette_path(request: pytest.FixtureRequest) -> Path:
    """`cassettes/<test module>/<test name>.json` next to the test module: the test's id after the module
    (its class too: `TestA::test_run` and `TestB::test_run` differ), made file-safe."""
    test = request.node.nodeid.split("::", 1)[-1]
    name = re.sub(r"[^\w.-]+", "_", test).strip("_")
    return request.path.parent / "cassettes" / request.path.stem / f"{name}.json"


@pytest.fixture
def agentkit_cassette(request: pytest.FixtureRequest) -> Iterator[Cassette]:
    """A cassette around the test: it records on the first run and replays on later ones."""
    from agentkit.testing._cassette import Cassette

    path = cassette_path(request)
    mode: Mode = "auto"
    marker = request.node.get_closest_marker("agentkit_cassette")
    if marker is not None:
        if marker.args:
            path = request.path.parent / marker.args[0]
        mode = marker.kwargs.get("mode", mode)
    if mode == "auto" and request.config.getoption("agentkit_record", False):
        mode = "record"
    cassette = Cassette(path, mode=mode).start()
    try:
        yield cassette
    finally:
        cassette.stop(failed=request.node.stash.get(_failed, False))
