"""The local model's agents for `agentkit eval --agent`, with issue 26's mechanisms on or off by name.

One agent per suite, holding that suite's tools, on `LocalModel` with the local profile as shipped, less
the mechanisms named in `AGENTKIT_LOCAL_OFF` and plus those named in `AGENTKIT_LOCAL_ON` (comma-separated;
`new` in OFF turns off all eight, which gives the local model as it was before them):

- the reply format (profile fields): `several_calls_prompt`, `calls_after_text`, `decide_tool_use` (the
  call-or-text decision, with the local profile's calibrated thresholds), `decline_invented_calls` (the
  check of the first reply's calls; it needs `decide_tool_use`), `cut_repeated_calls`,
  `more_calls` (`more_calls_threshold`: off is `None`, on the local profile's calibrated value);
- the run policy (`RunPolicy` options): `trace_numbers`, `explain_repeated_failures`.

    agentkit eval benchmarks/evals/local_fourth.yaml --agent benchmarks/evals/local_agents.py:fourth \
        --concurrency 1 --json after_fourth.json
    AGENTKIT_LOCAL_OFF=new agentkit eval ... --json before_fourth.json

`benchmarks/local_suites.py` runs every suite both ways and prints them side by side.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from agentkit import Agent
from agentkit.cli._specs import load_tools
from agentkit.local import LocalModel
from agentkit.local.policy import LOCAL, RunPolicy
from agentkit.models.profiles import ModelProfile

HERE = Path(__file__).resolve().parent
BENCHMARKS = HERE.parent
PROFILE_FIELDS = (
    "several_calls_prompt",
    "calls_after_text",
    "decide_tool_use",
    "decline_invented_calls",
    "cut_repeated_calls",
    "more_calls",
)
THRESHOLDS = {"more_calls": ("more_calls_threshold", LOCAL.more_calls_threshold)}
"""Mechanisms that are a profile's threshold: the field, and its value when on (off is `None`)."""
POLICY_FIELDS = ("trace_numbers", "explain_repeated_failures")
MECHANISMS = PROFILE_FIELDS + POLICY_FIELDS
SUITE_TOOLS = {
    "main": BENCHMARKS / "local_eval.py",
    "holdout": BENCHMARKS / "local_eval_holdout.py",
    "third": BENCHMARKS / "local_eval_third.py",
    "fourth": HERE / "fourth_tools.py",
}


def switched_off(names: str) -> tuple[str, ...]:
    """The mechanisms a comma-separated list names (`new`: all of them); an unknown name is an error."""
    off = [n.strip() for n in names.split(",") if n.strip()]
    if "new" in off:
        return MECHANISMS
    unknown = sorted(set(off) - set(MECHANISMS))
    if unknown:
        raise SystemExit(
            f"AGENTKIT_LOCAL_OFF: unknown {', '.join(unknown)}; known: new, {', '.join(MECHANISMS)}"
        )
    return tuple(off)


def profile(off: tuple[str, ...], on: tuple[str, ...] = ()) -> ModelProfile:
    """The local profile with the mechanisms in `off` turned off and those in `on` turned on."""
    switches = {**{n: True for n in on}, **{n: False for n in off}}
    policy = LOCAL.policy
    assert isinstance(policy, RunPolicy)
    policy = dataclasses.replace(policy, **{n: v for n, v in switches.items() if n in POLICY_FIELDS})
    return dataclasses.replace(LOCAL, policy=policy, **_profile_fields(off, on))


def profile_overrides(off: tuple[str, ...], on: tuple[str, ...] = ()) -> list[str]:
    """The profile fields `profile(off, on)` changes, as `bfcl_sample.py --profile FIELD=VALUE` takes them."""
    return [f"{field}={_shown(value)}" for field, value in _profile_fields(off, on).items()]


def _shown(value: Any) -> str:
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _profile_fields(off: tuple[str, ...], on: tuple[str, ...]) -> dict[str, Any]:
    """The profile fields the switches set, in `PROFILE_FIELDS`' order (`off` wins): a threshold mechanism's
    field is `None` when off and its calibrated value when on."""
    fields: dict[str, Any] = {}
    for name in PROFILE_FIELDS:
        if name not in off and name not in on:
            continue
        value = name not in off
        if name in THRESHOLDS:
            field, calibrated = THRESHOLDS[name]
            fields[field] = calibrated if value else None
        else:
            fields[name] = value
    return fields


def agent(suite: str) -> Agent[Any, str]:
    off = switched_off(os.environ.get("AGENTKIT_LOCAL_OFF", ""))
    on = tuple(n for n in switched_off(os.environ.get("AGENTKIT_LOCAL_ON", "")) if n not in off)
    tools = load_tools([str(SUITE_TOOLS[suite])])
    # max_turns as `agentkit eval --tools` builds its agent (the baselines were run that way)
    return Agent(LocalModel(profile=profile(off, on)), tools=tools, max_turns=20)


def __getattr__(name: str) -> Agent[Any, str]:
    """`--agent local_agents.py:SUITE` builds that suite's agent only (its tools, one `LocalModel`)."""
    if name in SUITE_TOOLS:
        return agent(name)
    raise AttributeError(name)
