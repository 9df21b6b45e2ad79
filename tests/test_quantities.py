"""The quantities a question asks for and gives (`_quantities`, part of the local profile's grounding check):
an answer with no number to a how-many question, and a call that drops the question's scale word."""

from __future__ import annotations

import pytest
from policy_support import LOCAL_POLICY

from agentkit import Agent, AssistantMessage, ToolMessage, UserMessage, tool
from agentkit.local.policy._quantities import (
    dropped_scales,
    list_lengths,
    numberless,
    numberless_question,
    picked_one,
    picked_question,
    regrouped,
    regrouped_question,
    scale_question,
)
from agentkit.messages import Message
from agentkit.models.profiles import ModelProfile
from agentkit.testing import ScriptedModel, tool_call_response

STATUS = "db-tern-02 disk_free_gb: 612, checked 2026-04-04"


def exchange(question: str, result: str, answer: str) -> list[Message]:
    return [
        UserMessage(content=question),
        AssistantMessage(content=""),
        ToolMessage(tool_call_id="1", name="server_status", content=result),
        AssistantMessage(content=answer),
    ]


@pytest.mark.parametrize(
    ("question", "answer", "found"),
    [
        ("Is db-tern-02 full? How many GB are free on it?", "No disk space is available.", ["612"]),
        ("¿Cuántos GB libres tiene db-tern-02?", "Ninguno.", ["612"]),
        ("Combien de Go restent sur db-tern-02 ?", "Aucun.", ["612"]),
        ("Wie viel Platz ist frei?", "Keiner.", ["612"]),
        ("db-tern-02 には何GB空いていますか?", "ありません。", ["612"]),
        ("How many GB are free on db-tern-02?", "612 GB are free.", []),  # a number: nothing to ask
        ("Is db-tern-02 healthy?", "Yes, it is.", []),  # no quantity asked for
    ],
)
def test_an_answer_without_a_number_to_a_question_asking_for_one(
    question: str, answer: str, found: list[str]
) -> None:
    got = numberless(exchange(question, STATUS, answer), 0)
    # the name's 02 and the date are no quantity
    assert [n for _, numbers in got for n in numbers] == found


def test_the_numberless_question_names_the_tools_numbers() -> None:
    assert numberless_question([("server_status", ["612"])]) == (
        "The question asks for a number, but your answer gives none; `server_status` returned 612. If it "
        "answers the question, answer with it. If your answer is complete, give it again."
    )
    two = numberless_question([("a", ["1", "2"]), ("b", ["3"])])
    assert "`a` and `b` returned 1, 2 or 3. If one of them answers" in two


@pytest.mark.parametrize(
    ("arguments", "question", "dropped"),
    [
        (
            {"expression": "1.5 / 3200"},
            "What's 1.5 million divided by 3,200?",
            [("1.5 million", "1,500,000", "1.5")],
        ),
        ({"amount": 2, "count": 3}, "Send 2 thousand to 3 people.", [("2 thousand", "2,000", "2")]),
        ({"expression": "1500000 / 3200"}, "What's 1.5 million divided by 3,200?", []),
        ({"population": 3, "unit": "billion"}, "3 billion people", []),  # the tool takes the scale apart
        ({"expression": "1.5 / 3200"}, "What's 1.5 divided by 3,200?", []),
    ],
)
def test_a_call_that_drops_the_questions_scale_word(
    arguments: object, question: str, dropped: list[tuple[str, str, str]]
) -> None:
    assert dropped_scales(arguments, question) == dropped


def test_the_scale_question() -> None:
    assert scale_question([("1.5 million", "1,500,000", "1.5")]) == (
        "Not run: the question says 1.5 million, which is 1500000, but your call uses 1.5. Make the call with "
        "1500000. If 1.5 is right, make the same call again."
    )


RAN: list[str] = []


@tool
def calculator(expression: str) -> float:
    """Evaluate an arithmetic expression."""
    RAN.append(expression)
    return float(eval(expression, {"__builtins__": {}}))


@tool
def server_status(hostname: str) -> str:
    """A server's free disk space."""
    return STATUS


def run(
    question: str, script: list[object], profile: ModelProfile = LOCAL_POLICY
) -> tuple[object, list[str]]:
    """The run's output, and what was asked back: feedback messages and calls not run."""
    model = ScriptedModel(script, profile=profile)  # type: ignore[arg-type]
    result = Agent(model, tools=[calculator, server_status]).run_sync(question)
    model.assert_all_used()
    asked = [
        m.content if isinstance(m, ToolMessage) else m.text
        for m in result.messages
        if (isinstance(m, UserMessage) and m.feedback)
        or (isinstance(m, ToolMessage) and m.content.startswith("Not run"))
    ]
    return result.output, asked


def test_a_run_asks_for_the_scaled_number_once() -> None:
    RAN.clear()
    bare = tool_call_response("calculator", {"expression": "1.5 / 3200"})
    scaled = tool_call_response("calculator", {"expression": "1500000 / 3200"})
    output, feedback = run("What's 1.5 million divided by 3,200?", [bare, scaled, "468.75"])
    assert output == "468.75" and RAN == ["1500000 / 3200"]
    assert feedback == [scale_question([("1.5 million", "1,500,000", "1.5")])]  # as the call's result
    # made again unchanged, the call runs (the model confirms it)
    RAN.clear()
    output, _ = run("What's 1.5 million divided by 3,200?", [bare, bare, "0.00046875"])
    assert RAN == ["1.5 / 3200"] and output == "0.00046875"


def test_a_run_asks_for_the_number_once() -> None:
    look = tool_call_response("server_status", {"hostname": "db-tern-02"})
    output, feedback = run(
        "Is db-tern-02 about to run out of disk space? How many GB are free on it?",
        [look, "No disk space is available.", "No: 612 GB are free."],
    )
    assert output == "No: 612 GB are free."
    assert len(feedback) == 1 and "`server_status` returned 612" in feedback[0]
    # without the local policy nothing is asked
    output, feedback = run("How many GB are free on db-tern-02?", [look, "None."], profile=ModelProfile())
    assert output == "None." and feedback == []


@pytest.mark.parametrize(
    ("arguments", "question", "found"),
    [
        (
            {"expression": "845 - 278 * 19"},
            "What is (845 - 278) * 19?",
            ("(845 - 278) * 19", "845 - 278 * 19"),
        ),
        ({"expression": "3 × 4 + 5"}, "Compute 3 * (4 + 5), please.", ("3 * (4 + 5)", "3 × 4 + 5")),
        ({"expression": "(845 - 278) * 19"}, "What is (845 - 278) * 19?", None),
        ({"expression": "845-278*19"}, "What is 845 - 278 * 19?", None),  # no parentheses asked for
        ({"expression": "845 - (278 * 19)"}, "What is 845 - (278 * 19)?", None),
        ({"expression": "(1,500,000) / 3,200"}, "What's (1,500,000) / 3,200?", None),
        ({"a": 845, "b": 278}, "What is (845 - 278) * 19?", None),  # no arithmetic in the call
    ],
)
def test_a_call_that_regroups_the_questions_arithmetic(
    arguments: object, question: str, found: tuple[str, str] | None
) -> None:
    assert regrouped(arguments, question) == found


def test_a_run_asks_for_the_questions_grouping_and_again_on_a_repeat() -> None:
    RAN.clear()
    flat = tool_call_response("calculator", {"expression": "845 - 278 * 19"})
    grouped = tool_call_response("calculator", {"expression": "(845 - 278) * 19"})
    output, asked = run("What is (845 - 278) * 19?", [flat, grouped, "10773"])
    assert output == "10773" and RAN == ["(845 - 278) * 19"]
    assert asked == [regrouped_question(("(845 - 278) * 19", "845 - 278 * 19"))]
    assert asked[0].startswith("Not run: the question writes `(845 - 278) * 19`, but your call computes")
    # made again unchanged: asked once more (the question's own parentheses), then the budget is spent
    RAN.clear()
    output, asked = run("What is (845 - 278) * 19?", [flat, flat, flat, "-4437"])
    assert RAN == ["845 - 278 * 19"] and len(asked) == 2
    assert asked[1] == (
        "Not run again: `845 - 278 * 19` is not `(845 - 278) * 19`: without the question's parentheses it "
        "computes another value. Send the expression as the question writes it: `(845 - 278) * 19`."
    )


def test_how_many_numbers_a_result_lists_is_a_given_number() -> None:
    grades = ToolMessage(tool_call_id="1", name="exam_grades", content="CHEM-201: exam scores 88, 93, 95")
    table = ToolMessage(tool_call_id="2", name="t", content='{"a": [1, 2], "b": [5], "c": "x"}')
    assert list_lengths([UserMessage(content="Average?"), grades, table], 0) == frozenset({3.0, 2.0})


@tool
def exam_grades(student: str) -> str:
    """A student's exam scores."""
    return "CHEM-201: exam scores 88, 93, 95"


def test_an_average_may_divide_by_how_many_values_were_listed() -> None:
    RAN.clear()
    model = ScriptedModel(
        [
            tool_call_response("exam_grades", {"student": "Jonas"}),
            tool_call_response("calculator", {"expression": "(88 + 93 + 95) / 3"}),
            "92",
        ],
        profile=LOCAL_POLICY,
    )
    result = Agent(model, tools=[exam_grades, calculator]).run_sync("What is Jonas's average exam score?")
    assert result.output == "92" and RAN == ["(88 + 93 + 95) / 3"]


@pytest.mark.parametrize(
    ("question", "result", "answer", "found"),
    [
        (
            "¿Cuál es la nota media de Jonas Petrak en CHEM-201?",
            "Jonas Petrak, CHEM-201: exam scores 88, 93, 95",
            "88.0",
            ("an average", "88.0", "exam_grades", ["88", "93", "95"]),
        ),
        (
            "What is the total?",
            "Prices: 3,870 and 12,500",
            "12,500",
            ("a total", "12,500", "exam_grades", ["3,870", "12,500"]),
        ),
        (
            "What is the mean score?",
            '{"scores": [88, 93.5, 95]}',
            "93.5",
            ("an average", "93.5", "exam_grades", ["88", "93.5", "95"]),
        ),
        ("What is the average?", '{"scores": [88, 93, 95]}', "92", None),  # not one of them
        ("What is the average?", '{"scores": [88, 93, 95]}', "From 88 to 95", None),  # more than one number
        ("What is the best score?", '{"scores": [88, 93, 95]}', "95", None),  # no average asked for
        ("What is the average?", '{"score": 88, "year": 2025}', "88", None),  # no list
    ],
)
def test_one_value_of_a_list_where_an_average_or_a_total_is_asked(
    question: str, result: str, answer: str, found: object
) -> None:
    messages: list[Message] = [
        UserMessage(content=question),
        AssistantMessage(content=""),
        ToolMessage(tool_call_id="1", name="exam_grades", content=result),
        AssistantMessage(content=answer),
    ]
    assert picked_one(messages, 0) == found


def test_the_picked_question_asks_for_all_of_them() -> None:
    found = ("an average", "88.0", "exam_grades", ["88", "93", "95"])
    assert picked_question(found, ["calculator"]) == (
        "The question asks for an average, but your 88.0 is one of the values `exam_grades` returned (88, 93, "
        "95). Call `calculator` with all of them, `(88 + 93 + 95) / 3`, and answer with the result. If your "
        "answer is right, give it again."
    )
    assert "Use all of them and answer" in picked_question(found, [])
    total = ("a total", "12,500", "budget", ["3,870", "12,500"])
    assert "with all of them, `3870 + 12500`, and answer" in picked_question(total, ["calculator"])
