"""`RunPolicy` (the small-model checks as a profile's `policy`) and `LOCAL`, the local model's profile."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...models.profiles import ModelProfile
from ._checker import RunChecker
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

    def __call__(self) -> list[object]:
        """This run's hooks: the steering (a repeated call is answered before it is questioned), then the
        checker."""
        hooks: list[object] = []
        if self.steer_repeated_calls:
            hooks.append(SteerRepeatedCalls())
        if self.checker is not None:
            hooks.append(self.checker())
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
    # the call-or-text decision (`decide_tool_use`) is off: on a 12-request probe it turned 2 of 3 irrelevant
    # requests into text answers but sent both single calls and a parallel one to text (9/12 off, 8/12 on)
    results_reminder=True,
    policy=RunPolicy(checker=GroundingCheck, steer_repeated_calls=True),
)
"""The local model's profile (`profile_for("local")`, `LocalModel`'s default): calls through the prompt kept
valid by a grammar, the results reminder, and the small-model checks."""
