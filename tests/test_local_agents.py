"""benchmarks/evals/local_agents.py: the local profile with issue 26's mechanisms switched by name."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "evals"))

from local_agents import MECHANISMS, profile, profile_overrides, switched_off

from agentkit.local.policy import LOCAL, RunPolicy


def test_a_threshold_mechanism_is_none_when_off_and_calibrated_when_on() -> None:
    assert LOCAL.more_calls_threshold is not None
    assert profile(("more_calls",)).more_calls_threshold is None
    off = profile(MECHANISMS)
    assert profile((), ("more_calls",)).more_calls_threshold == LOCAL.more_calls_threshold
    assert not off.decide_tool_use and not off.cut_repeated_calls and off.more_calls_threshold is None
    assert not off.decline_invented_calls
    assert isinstance(off.policy, RunPolicy) and not off.policy.trace_numbers


def test_names_are_read_and_checked() -> None:
    assert switched_off("new") == MECHANISMS and "more_calls" in MECHANISMS
    assert switched_off(" more_calls, trace_numbers ") == ("more_calls", "trace_numbers")
    with pytest.raises(SystemExit, match="unknown more_call"):
        switched_off("more_call")
    assert profile(()) == LOCAL  # nothing switched: the profile as shipped


def test_the_same_switches_for_the_leaderboard_sample() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bfcl_sample import parse_profile

    overrides = profile_overrides(("more_calls", "decide_tool_use"), ("cut_repeated_calls",))
    assert overrides == ["decide_tool_use=false", "cut_repeated_calls=true", "more_calls_threshold=none"]
    assert parse_profile(overrides) == {
        "decide_tool_use": False,
        "cut_repeated_calls": True,
        "more_calls_threshold": None,
    }
    assert parse_profile(profile_overrides((), ("more_calls",))) == {
        "more_calls_threshold": LOCAL.more_calls_threshold
    }
