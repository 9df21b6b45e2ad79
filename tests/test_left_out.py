"""Values of a result's list that an answer leaves out (`_left_out`, part of the local profile's grounding
check): "low tide 00:48 and 13:02" answered "13:02"."""

from __future__ import annotations

import pytest
from policy_support import LOCAL_POLICY, exchange

from agentkit import Agent, UserMessage, tool
from agentkit.local.policy._left_out import LeftOut, left_out, left_out_question
from agentkit.messages import Message
from agentkit.models.profiles import ModelProfile
from agentkit.testing import ScriptedModel, tool_call_response

TIDES = "Port Selby, 2026-04-04: high tide 06:55 (4.05 m) and 19:21 (3.91 m); low tide 00:48 and 13:02."


def tides(result: str, answer: str) -> list[Message]:
    return exchange("When is low tide at Port Selby on 2026-04-04?", result, answer, tool="tide_times")


@pytest.mark.parametrize(
    ("result", "answer", "found"),
    [
        (
            TIDES,
            "Low tide is at 13:02.",
            (("13:02",), ("00:48",), ("00:48", "13:02"), "low tide 00:48 and 13:02"),
        ),
        (
            TIDES,
            "High tide at 6:55 am.",
            (("06:55",), ("19:21",), ("06:55", "19:21"), "high tide 06:55 (4.05 m) and 19:21 (3.91 m)"),
        ),
        (TIDES, "High tide: 7:21 pm and 6:55.", None),  # 7:21 pm is 19:21: both given
        (TIDES, "At 12:48 am and 1:02 pm.", None),  # 00:48 and 13:02, written with am and pm
        (TIDES, "At 00 h 48 and 13 h 02.", None),
        (TIDES, "No tide table for that day.", None),  # gives none of them: another check's
        (
            "Ana Ruiz, CHEM-201: exam scores 78, 91, 86",
            "78 and 91",
            (("78", "91"), ("86",), ("78", "91", "86"), "exam scores 78, 91, 86"),
        ),
        (
            '{"scores": [88, 93.5, 95]}',
            "93.50",
            (("93.5",), ("88", "95"), ("88", "93.5", "95"), "[88, 93.5, 95"),
        ),
        (
            "Open on 2026-04-03 and 2026-04-05.",
            "On 2026-04-03.",
            (
                ("2026-04-03",),
                ("2026-04-05",),
                ("2026-04-03", "2026-04-05"),
                "Open on 2026-04-03 and 2026-04-05",
            ),
        ),
        ("Sizes 0, 1 and 42", "Size 1.", None),  # 0 and 1 tell nothing of what an answer picked
        ("total 48,250; roads 5,250; culture 3,870", "5,250", None),  # values of other things, not a list
        ("SKU-5820, SKU-7302 and SKU-4471", "SKU-5820", None),  # codes, not numbers
        ("departs 15:20, arrives 16:05, platform 3", "16:05", None),
        (
            "Fjellsko Trail GTX: boots, brown, 139.00 EUR\nKivi Low: boots, grey, 95.00 EUR",
            "The Fjellsko Trail GTX, at 139 EUR.",
            (
                ("Fjellsko Trail GTX",),
                ("Kivi Low",),
                ("Fjellsko Trail GTX", "Kivi Low"),
                "Fjellsko Trail GTX: boots, brown, 139.00 EUR / Kivi Low: boots, grey, 95.00 EUR",
            ),
        ),
        (
            "Fjellsko Trail GTX: boots, 139.00 EUR\nKivi Low: boots, 95.00 EUR",
            "Kivi Low and Fjellsko Trail GTX",
            None,
        ),
        (
            "total: 48,250\nroads: 5,250",
            "5,250",
            None,
        ),  # a record's fields, one value each: no list of things
    ],
)
def test_an_answer_that_gives_some_values_of_a_list(result: str, answer: str, found: object) -> None:
    expected = None if found is None else LeftOut(*found[:3], "tide_times", found[3])  # type: ignore[index]
    assert left_out(tides(result, answer), 0) == expected


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("Do you have boots in size 42? Which ones?", True),
        ("Which boots do you have in size 42?", True),
        ("Which train should I take?", False),  # one thing asked for: naming one line is the answer
        ("Welcher Zug fährt als nächster?", False),
        ("Quel train dois-je prendre ?", False),
        ("What's the cheapest pair?", False),
    ],
)
def test_a_list_of_things_where_the_question_asks_for_one(question: str, asked: bool) -> None:
    result = "Fjellsko Trail GTX: boots, brown, 139.00 EUR\nKivi Low: boots, grey, 95.00 EUR"
    messages = [UserMessage(content=question), *tides(result, "Kivi Low.")[1:]]
    assert (left_out(messages, 0) is not None) == asked
    # a list of values is read whatever the question
    messages = [UserMessage(content="Quelle heure ? Which one?"), *tides(TIDES, "13:02")[1:]]
    assert left_out(messages, 0) is not None


def test_the_left_out_question_quotes_the_list() -> None:
    found = LeftOut(("13:02",), ("00:48",), ("00:48", "13:02"), "tide_times", "low tide 00:48 and 13:02")
    assert left_out_question(found) == (
        'Your answer gives 13:02 but leaves out 00:48: `tide_times` returned "low tide 00:48 and 13:02". If '
        "the question asks for all of them, answer with each one (00:48 and 13:02). If your answer is "
        "complete, give it again."
    )


@tool
def tide_times(harbour: str, date: str) -> str:
    """High and low tides at a harbour on one day."""
    return TIDES


CHOICES: list[str | None] = []


def run(script: list[object], profile: ModelProfile = LOCAL_POLICY) -> tuple[object, list[str]]:
    model = ScriptedModel(script, profile=profile)  # type: ignore[arg-type]
    result = Agent(model, tools=[tide_times]).run_sync("When is low tide at Port Selby on 2026-04-04?")
    model.assert_all_used()
    CHOICES[:] = [r.parameters.tool_choice for r in model.requests]
    return result.output, [m.text for m in result.messages if isinstance(m, UserMessage) and m.feedback]


def test_a_run_asks_once_for_the_values_left_out() -> None:
    look = tool_call_response("tide_times", {"harbour": "Port Selby", "date": "2026-04-04"})
    output, asked = run([look, "Low tide is at 13:02.", "Low tide is at 00:48 and 13:02."])
    assert output == "Low tide is at 00:48 and 13:02."
    assert CHOICES == [None, None, "none"]  # the values are in the result: the next request asks for text
    assert asked == [
        left_out_question(
            LeftOut(("13:02",), ("00:48",), ("00:48", "13:02"), "tide_times", "low tide 00:48 and 13:02")
        )
    ]
    # the same answer again goes through: the model says it picked one on purpose
    output, asked = run([look, "The first is at 00:48.", "The first is at 00:48."])
    assert output == "The first is at 00:48." and len(asked) == 1 and CHOICES == [None, None, "none"]
    # without the local policy nothing is asked
    output, asked = run([look, "Low tide is at 13:02."], profile=ModelProfile())
    assert output == "Low tide is at 13:02." and asked == []
