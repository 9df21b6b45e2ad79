from __future__ import annotations

import datetime

import pytest
from agentkit_tools import calculator, current_time
from agentkit_tools.calculator import MAX_LENGTH, evaluate

from agentkit import ModelRetry


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("17 * 23 + 4", "395"),
        ("(1 + 2) ** 3", "27"),
        ("2 ^ 10", "1024"),
        ("7 // 2 + 7 % 2", "4"),
        ("-3 + +1", "-2"),
        ("sqrt(16) + abs(-2)", "6"),
        ("max(1, 5, 3) - min(4, 2)", "3"),
        ("round(pi, 2)", "3.14"),
        ("10 / 4", "2.5"),
        ("6 × 7 ÷ 2", "21"),
        ("2 ** 0.5", "1.4142135623730951"),
        ("1e20 * 10", "1e+21"),
    ],
)
def test_calculator(expression: str, expected: str) -> None:
    assert calculator(expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os')", "is not allowed"),
        ("open('x')", "is not allowed"),
        ("2 ** 10000", "exponent larger than 1000"),
        ("1 / 0", "division by zero"),
        ("1 +", "not an arithmetic expression"),
        ("True + 1", "is not allowed"),
        ("sqrt(x=4)", "is not allowed"),
        ("x" * (MAX_LENGTH + 1), "longer than"),
        ("'a' * 3", "is not allowed"),
    ],
)
def test_calculator_refuses_with_a_message_for_the_model(expression: str, message: str) -> None:
    with pytest.raises(ModelRetry, match=message):
        calculator(expression)


def test_words_in_an_expression_are_values_to_look_up_first() -> None:
    with pytest.raises(ModelRetry, match="numbers only: get unknown values from another tool first"):
        calculator("Lena Brandt's yearly salary / 12")
    for expression in ("1 / 0", "sqrt(-1) + pi"):  # known names are not values to look up
        with pytest.raises(ModelRetry) as error:
            calculator(expression)
        assert "another tool" not in error.value.message


def test_evaluate_returns_numbers() -> None:
    assert evaluate("e") == pytest.approx(2.718281828)


def test_current_time() -> None:
    text = current_time("Europe/Oslo")
    stamp, weekday = text.split(" (")
    parsed = datetime.datetime.fromisoformat(stamp)
    assert parsed.tzinfo is not None
    assert weekday.rstrip(")") == parsed.strftime("%A")
    assert current_time().split(" ")[0].endswith("+00:00")


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../etc/passwd"])
def test_current_time_unknown_zone(zone: str) -> None:
    with pytest.raises(ModelRetry, match="Unknown time zone"):
        current_time(zone)


def test_tools_are_agentkit_tools() -> None:
    assert calculator.name == "calculator" and "expression" in calculator.parameters["properties"]
    assert current_time.parameters["properties"]["timezone"]["default"] == "UTC"
