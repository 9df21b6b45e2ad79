"""Print the fault matrix: every case of tests/fault_cases.py, run with `agent.run()` and `agent.run_stream()`
through the real `AsyncOpenAI` client against a loopback server.

    python benchmarks/fault_matrix.py [--markdown]

Columns: case | mode | outcome (`recovered` or the error class) | ok (as the table expects) | requests made
(seen by the server) | usage.requests (what the run counted) | usage.repairs | refused (requests whose history
Gemini would refuse, by `agentkit.testing.check_gemini_history`; the servers refuse them as Gemini does). Each
case's transcript is then continued with a new prompt (one more request, as a session would), checked the same
way. Exits 1 when a row is not as expected or any request is refused.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fault_cases import CASES, FaultCase, Outcome, continue_transcript, run_case

from agentkit.testing import allow_model_requests


def verdict(outcome: Outcome) -> str:
    """`ok`, or what differs from the table."""
    case: FaultCase = outcome.case
    problems = []
    if isinstance(case.expect, str):
        if outcome.error is not None or outcome.output != case.expect:
            problems.append(f"expected recovered, got {outcome.label}")
    elif type(outcome.error) is not case.expect:
        problems.append(f"expected {case.expect.__name__}")
    if outcome.requests != case.requests:
        problems.append(f"expected {case.requests} requests")
    if outcome.error is not None and (outcome.usage is None or not outcome.messages):
        problems.append("error without transcript/usage")
    problems.extend(f"refused: {'; '.join(p)}" for p in outcome.refused)
    return "; ".join(problems) or "ok"


async def main(markdown: bool) -> int:
    rows: list[tuple[str, ...]] = []
    failures = refused = requests = 0
    for case in CASES:
        reason = case.requires() if case.requires is not None else None
        for mode in case.modes:
            if reason is not None:
                rows.append((case.name, mode, "skipped", reason, "-", "-", "-", "-"))
                continue
            outcome = await run_case(case, mode)
            try:
                outcome.refused += await continue_transcript(outcome.messages, mode)
            except Exception as exc:  # the continued run failed: a row not as expected, not a crash
                outcome.refused.append([f"continuing the transcript failed: {exc!r}"])
            requests += 1
            ok = verdict(outcome)
            failures += ok != "ok"
            usage = str(outcome.usage.requests) if outcome.usage is not None else "-"
            repairs = str(getattr(outcome.usage, "repairs", "-"))
            refused += len(outcome.refused)
            requests += outcome.requests
            row = (case.name, mode, outcome.label, ok, str(outcome.requests), usage, repairs)
            rows.append((*row, str(len(outcome.refused))))
    header = ("case", "mode", "outcome", "ok", "requests made", "usage.requests", "usage.repairs", "refused")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    sep = " | "
    if markdown:
        print("| " + sep.join(header) + " |")
        print("|" + "|".join("---" for _ in header) + "|")
        for row in rows:
            print("| " + sep.join(row) + " |")
    else:
        print(sep.join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        print("-+-".join("-" * w for w in widths))
        for row in rows:
            print(sep.join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print(f"\n{len(rows)} rows, {failures} not as expected")
    print(f"{refused} of {requests} requests refused by Gemini's history check (check_gemini_history)")
    return 1 if failures or refused else 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.CRITICAL)
    with allow_model_requests():
        sys.exit(asyncio.run(main("--markdown" in sys.argv)))
