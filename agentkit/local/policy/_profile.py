"""`RunPolicy` (the small-model checks as a profile's `policy`) and `LOCAL`, the local model's profile."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...exceptions import UserError
from ...models.profiles import ModelProfile
from ._checker import RunChecker
from ._failures import ExplainRepeatedFailures
from ._grounding import GroundingCheck
from ._steering import SteerRepeatedCalls

__all__ = ["LOCAL", "RunPolicy"]


@dataclass(kw_only=True, frozen=True)
class RunPolicy:
    """What a run does for a small model beyond the wire format, as hooks: give it as a profile's `policy`
    (`ModelProfile(policy=RunPolicy(...))`). Each run calls it once and installs the hooks it makes, in front
    of the agent's, so their state (results seen, questions left) is that run's."""

    checker: Callable[[], RunChecker] | None = None
    """Makes each run's checker, which may question a tool call or an answer before the run takes it
    (`GroundingCheck` for small models: numbers nothing gave). `None`: every call and answer is taken. A
    checker of your own subclasses `RunChecker`: it gets each `ValidatedCall` and may answer with a
    `CallQuestion`, and gets each answer and may answer with a question."""
    steer_repeated_calls: bool = False
    """When the model repeats a call it already made (same tool, same arguments), answer with the earlier
    result and a reminder to use it, without running the tool again, and ask for a text answer next
    (small models otherwise repeat a call until the turn limit): `SteerRepeatedCalls`."""

    trace_numbers: bool = False
    """Each number of a final text answer must come from a source: the prompt, a tool result (a calculator's
    result included), restated (rounded as written, `1.5 million`, `15%` of a given 0.15); a number with none
    gets one targeted question naming the nearest source and how it differs (a power-of-ten scale slip,
    arithmetic done in the head); a number taken from a value a tool gives in cents or thousands (a JSON key
    `..._cents`, "amounts in thousands of euros"), written without that scale, gets one question giving it
    in whole units; arithmetic written out undone (`38125/6`) gets one question asking for the tool that
    computes. It is `GroundingCheck`'s: with `checker=None` it does nothing, and another
    checker is a `UserError` at the run's start."""
    explain_repeated_failures: bool = False
    """When a call fails a second time the same way (same tool, same arguments, same error), quote the
    tool's description of the arguments involved and say it will not run again unchanged; a third identical
    call is not run: `ExplainRepeatedFailures`."""

    def __call__(self) -> list[object]:
        """This run's hooks: the steering (a repeated call is answered before it is questioned), the repeated
        failures (a third identical failing call is not run), then the checker."""
        hooks: list[object] = []
        if self.steer_repeated_calls:
            hooks.append(SteerRepeatedCalls())
        if self.explain_repeated_failures:
            hooks.append(ExplainRepeatedFailures())
        if self.checker is not None:
            checker = self.checker()
            if self.trace_numbers:
                if not isinstance(checker, GroundingCheck):
                    raise UserError(
                        "RunPolicy(trace_numbers=True) traces numbers in GroundingCheck: give "
                        f"checker=GroundingCheck (or a subclass), not a maker of {type(checker).__name__}."
                    )
                checker.trace_numbers = True
            hooks.append(checker)
        return hooks


LOCAL = ModelProfile(
    family="local",
    input_price_per_mtok=0.0,
    output_price_per_mtok=0.0,
    context_window=4_096,
    # the final-result tool goes through the prompted calls, which the grammar (`constrain_calls`) keeps valid
    structured_output="tool",
    tool_calling="prompted",
    constrain_calls=True,
    calls_after_text=True,
    several_calls_prompt=True,
    # the call-or-text decision, read from the log-probabilities of the reply's own first token, then the
    # check of the first reply's calls; threshold from `benchmarks/calibrate_tool_decision.py` on 168 BFCL
    # items outside the evaluation sample (cost 3), with the check: 42 of 48 irrelevance items declined, 3 of
    # 120 answerable ones (the threshold alone, as before the check, at -2.631: 37 and 4); the name
    # question's threshold would sit below every value seen, so it is not asked (`None`: one request less)
    decide_tool_use=True,
    tool_use_thresholds=(-2.221, None),
    decline_invented_calls=True,
    results_reminder=True,
    # a reply under the grammar sometimes never ends (seen: 6 of 176 eval requests ran into the client's 240 s
    # timeout); the suites' longest whole reply is far shorter
    reply_token_cap=1_024,
    # measured: a reply that writes its calls, then the same calls again until the cap (33 calls, 2 distinct)
    cut_repeated_calls=True,
    # a one-call first reply continued when P(another line) is above this (`calibrate_more_calls.py`) on
    # 100 BFCL items outside the evaluation sample (cost 1): of 64 one-call replies, 4 needed more; it
    # continues 2 of those and none of the others (the next reading below, 0.0547, a one-call item's)
    more_calls_threshold=0.056,
    policy=RunPolicy(
        checker=GroundingCheck, steer_repeated_calls=True, trace_numbers=True, explain_repeated_failures=True
    ),
)
"""The local model's profile (`profile_for("local")`, `LocalModel`'s default): calls through the prompt kept
valid by a grammar, the results reminder, and the small-model checks."""
