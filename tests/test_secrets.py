"""The API key never shows: every fault case of fault_cases.py runs with a distinctive key and DEBUG logging
captured for every logger (agentkit, openai, httpx, httpx2, httpcore..., root), and the key is looked for in
each log record (message, arguments, formatted with its traceback), the error (message and repr, along its
chain of causes), `repr(model)`, `repr(agent)`, the transcript's JSON, and the repr of the result or stream.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fault_cases import CASES, FaultCase, Mode, run_case

from agentkit.messages import messages_to_json

KEY = "agentkit-test-credential-f4u1t5u1te-0123456789abcdef"  # distinctive, and no real key's shape
FRAGMENTS = (KEY, KEY[-24:], KEY.replace("-", ""))
"""The key, its tail (a truncated key in a message still leaks), and the key without dashes."""

PARAMS = [pytest.param(case, mode, id=f"{case.name}-{mode}") for case in CASES for mode in case.modes]


def leaks(text: str) -> bool:
    return any(f in text for f in FRAGMENTS)


@pytest.fixture
def all_debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    names = {"", "agentkit", "openai", "httpx", "httpx2", "httpcore", "httpcore2", "asyncio"}
    names |= {n for n in logging.root.manager.loggerDict if not n.startswith("_")}
    for name in sorted(names):
        caplog.set_level(logging.DEBUG, logger=name or None)
    return caplog


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


@pytest.mark.parametrize(("case", "mode"), PARAMS)
async def test_the_key_appears_nowhere(
    case: FaultCase, mode: Mode, all_debug_logs: pytest.LogCaptureFixture
) -> None:
    reason = case.requires() if case.requires is not None else None
    if reason is not None:
        pytest.skip(reason)
    outcome = await run_case(case, mode, api_key=KEY)
    assert all_debug_logs.records, "DEBUG logging was captured"
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in all_debug_logs.records:
        for text in (str(record.msg), repr(record.args), record.getMessage(), formatter.format(record)):
            assert not leaks(text), f"the key is in a log record of {record.name!r}: {text[:300]}"
    for error in _chain(outcome.error):
        assert not leaks(str(error)) and not leaks(repr(error)), f"the key is in {type(error).__name__}"
    assert not leaks(repr(outcome.model)), "the key is in repr(model)"
    assert not leaks(repr(outcome.agent)), "the key is in repr(agent)"
    assert not leaks(messages_to_json(outcome.messages).decode()), "the key is in the transcript"
    assert not leaks(repr(outcome.messages)), "the key is in repr(messages)"
    assert not leaks(repr(outcome.result)), "the key is in the result's repr"
    assert not leaks(repr(outcome.usage))


def test_the_suite_looks_where_the_key_is_sent() -> None:
    """The key does reach the server (as the Authorization header), so the searches above can find it."""
    import asyncio

    from fault_cases import MODEL

    from agentkit import Agent
    from agentkit.models.openai import OpenAIChatModel
    from agentkit.testing import LoopbackServer

    async def main() -> str:
        with LoopbackServer(["ok"], model=MODEL) as server:
            model = OpenAIChatModel(MODEL, base_url=server.base_url, api_key=KEY)
            await Agent(model).run("hi")
            await model.aclose()
            return server.requests[0].headers["authorization"]

    assert asyncio.run(main()) == f"Bearer {KEY}"


def test_cases_cover_errors_and_recoveries() -> None:
    kinds = {isinstance(c.expect, str) for c in CASES}
    assert kinds == {True, False}
