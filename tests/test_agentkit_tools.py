"""`agentkit_tools`: the package surface, the calculator, the date tools and the data tools.

The file, shell and fetch tools have their own test files (`test_agentkit_tools_*.py`)."""

from __future__ import annotations

import datetime
import importlib
import importlib.util
import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import agentkit_tools
import pytest
from agentkit_tools import calculator, current_time, data, datetime_tools
from agentkit_tools.calculator import MAX_DEPTH, MAX_DIGITS, MAX_LENGTH, evaluate, render
from agentkit_tools.clock import date_difference, parse_date, shift_date
from agentkit_tools.data import MAX_FILTER_CHARS, _dump, _split_filter

from agentkit import ModelRetry, Tool, UserError


def test_the_package_surface() -> None:
    assert agentkit_tools.__all__ == sorted(agentkit_tools.__all__)
    assert agentkit_tools.__all__ == [
        "calculator", "current_time", "data", "datetime_tools", "files", "http_fetch", "shell",
    ]  # fmt: skip


def test_no_top_level_tools_package_is_installed(tmp_path: Path) -> None:
    """The ready-made tools install as `agentkit_tools` only. The checkout's own `tools/` folder is a
    namespace package `tools` while the checkout is on `sys.path` (pytest run from it puts it there), so
    look from elsewhere: a folder outside the checkout, the checkout off `PYTHONPATH`."""
    root = Path(__file__).resolve().parents[1]
    path = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p).resolve() != root]
    code = (
        "import importlib.util, agentkit_tools\n"
        "spec = importlib.util.find_spec('tools')\n"
        "print(agentkit_tools.__name__, *([] if spec is None else spec.submodule_search_locations or [spec.origin]), sep='\\n')"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    name, *found = run.stdout.splitlines()
    assert name == "agentkit_tools"
    assert [place for place in found if Path(place).resolve().is_relative_to(root)] == []


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("17 * 23 + 4", "395"),
        ("(1 + 2) ** 3", "27"),
        ("2 ^ 10", "1024"),
        ("7 // 2 + 7 % 2", "4"),
        ("-3 + +1", "-2"),
        ("sqrt(16) + abs(-2)", "6"),
        ("sqrt(9/4)", "1.5"),
        ("sqrt(pi - pi + 4)", "2"),
        ("max(1, 5, 3) - min(4, 2)", "3"),
        ("round(pi, 2)", "3.14"),
        ("round(2/3, 3)", "0.667"),
        ("round(2.5)", "2"),
        ("10 / 4", "2.5"),
        ("0.1 + 0.2", "0.3"),
        ("1 / 3", "1/3 (≈ 0.333333333333333)"),
        ("2 ** -3", "0.125"),
        ("6 × 7 ÷ 2", "21"),
        ("5 − 7", "-2"),
        ("2 ** 0.5", "1.4142135623730951"),
        ("sqrt(2) * sqrt(2)", "2.0000000000000004"),
        ("1e20 * 10", "1" + "0" * 21),
        ("1_000.5 * 2", "2001"),
        ("123456789012345678901234567890.5", "123456789012345678901234567890.5"),
        ("2 ** 100", str(2**100)),
        ("factorial(20)", str(24329020081766400 * 100)),
        ("floor(-2.5) + ceil(2.1) + floor(7 / 2)", "3"),
        ("floor(2.5 * pi)", "7"),
        ("7.5 // 2 + 7.5 % 2", "4.5"),
        ("2.5 * pi // 1", "7"),
        ("log10(1000)", "3"),
        ("1.5 ** 2", "2.25"),
        ("(-8) ** 3", "-512"),
        ("1 ** 10000000 + (-1) ** 10000001 + 0 ** 5000", "0"),
        ("1 / 2 ** 0.5 * 0", "0"),
        ("1 / 1024", "0.0009765625"),
        ("1 / 2 ** 100", f"1/{2**100} (≈ 7.88860905221012E-31)"),
    ],
)
def test_calculator(expression: str, expected: str) -> None:
    assert calculator(expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os')", "is not allowed"),
        ("open('x')", "is not allowed"),
        ("().__class__.__bases__[0].__subclasses__()", "is not allowed"),
        ("(1).__class__", "is not allowed"),
        ("x.__dict__", "is not allowed"),
        ("sqrt.__globals__", "is not allowed"),
        ("(lambda: 1)()", "is not allowed"),
        ("[x for x in (1, 2)]", "is not allowed"),
        ("__builtins__", "is not allowed"),
        ("pi if 1 else e", "is not allowed"),
        ("1 < 2", "is not allowed"),
        ("1 << 100000000", "is not allowed"),
        ("~1", "is not allowed"),
        ("(x := 5)", "is not allowed"),
        ("sqrt(*[4])", "plain arguments"),
        ("sqrt(x=4)", "plain arguments"),
        ("1j", "is not allowed"),
        ("'a' * 3", "is not allowed"),
        ("True + 1", "is not allowed"),
        ("2 ** 10000", "about 3010 digits; at most 1000"),
        ("9 ** 9 ** 9", "about 349875564 digits"),
        ("10 ** 10 ** 10 ** 10", "digits; at most"),
        ("(10 ** 999) * (10 ** 999)", f"more than {MAX_DIGITS} digits"),
        ("2 ** 3322", f"more than {MAX_DIGITS} digits"),
        ("factorial(1001)", "whole number from 0 to 1000"),
        ("factorial(2.5)", "whole number from 0 to 1000"),
        ("factorial(1000)", f"more than {MAX_DIGITS} digits"),
        ("round(1, 0.5)", "whole number of digits"),
        ("1e99999999", "beyond the 1000 digits"),
        ("1e-99999999", "beyond the 1000 digits"),
        ("pi ** 1000", "out of range"),
        ("exp(1000)", "math range error"),
        ("1e300 * 1e300 * pi", "too large to combine with an inexact one"),
        ("(1e300 * 1e300) ** pi", "too large to combine with an inexact one"),
        ("1e200 ** 1.5 * 1e200 ** 1.5", "not a finite number"),
        ("(-8) ** (1/3)", "not a real number"),
        ("0 ** -1", "division by zero"),
        ("1 / 0", "division by zero"),
        ("5 // 0.0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("sqrt(-1)", "square root of a negative number"),
        ("log(0)", "math domain error"),
        ("max()", "at least 1 argument"),
        ("sqrt(1, 2)", "argument"),
        ("1 +", "not an arithmetic expression"),
        ("-" * 200 + "1", f"more than {MAX_DEPTH} nested operations"),
        ("(" * 210 + "1" + ")" * 210, "not an arithmetic expression"),
        ("x" * (MAX_LENGTH + 1), "longer than"),
    ],
)
def test_calculator_refuses_with_a_message_for_the_model(expression: str, message: str) -> None:
    with pytest.raises(ModelRetry, match="Cannot evaluate") as error:
        calculator(expression)
    assert message in error.value.message


def test_a_parser_that_runs_out_of_stack_is_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    def overflow(*args: object, **kwargs: object) -> None:
        raise RecursionError

    monkeypatch.setattr(importlib.import_module("agentkit_tools.calculator").ast, "parse", overflow)
    with pytest.raises(ModelRetry, match="nested too deeply"):
        calculator("1")


def test_words_in_an_expression_are_values_to_look_up_first() -> None:
    with pytest.raises(ModelRetry, match="numbers only: get unknown values from another tool first"):
        calculator("Lena Brandt's yearly salary / 12")
    for expression in ("1 / 0", "sqrt(-1) + pi"):  # known names are not values to look up
        with pytest.raises(ModelRetry) as error:
            calculator(expression)
        assert "another tool" not in error.value.message


def test_evaluate_keeps_exact_values_exact() -> None:
    assert evaluate("1/3 + 1/6") == Fraction(1, 2)
    assert evaluate("e") == pytest.approx(2.718281828)
    assert render(Fraction(10**40 + 1, 10**10)) == "1" + "0" * 30 + ".0000000001"
    assert render(1e300) == "1e+300"


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


@pytest.mark.parametrize(
    ("text", "timezone", "expected"),
    [
        ("2024-03-05", None, "2024-03-05 (Tuesday)"),
        ("5 March 2024", None, "2024-03-05 (Tuesday)"),
        ("March 5, 2024", None, "2024-03-05 (Tuesday)"),
        ("Tuesday, 5 March 2024", None, "2024-03-05 (Tuesday)"),
        ("05.03.2024 14:30", None, "2024-03-05T14:30:00 (Tuesday)"),
        ("2024/03/05", None, "2024-03-05 (Tuesday)"),
        ("2024-03-05T14:30Z", None, "2024-03-05T14:30:00+00:00 (Tuesday)"),
        ("2024-03-05T14:30+01:00", "America/New_York", "2024-03-05T08:30:00-05:00 (Tuesday)"),
        ("2024-03-05 14:30", "Europe/Oslo", "2024-03-05T14:30:00+01:00 (Tuesday)"),
        ("Tue, 05 Mar 2024 14:30:00 +0000", None, "2024-03-05T14:30:00+00:00 (Tuesday)"),
    ],
)
def test_parse_date(text: str, timezone: str | None, expected: str) -> None:
    assert parse_date(text, timezone) == expected


def test_parse_date_relative_words() -> None:
    today = datetime.datetime.now(datetime.timezone.utc).date()
    tomorrow = parse_date("tomorrow")
    assert tomorrow.split()[0] in {(today + datetime.timedelta(days=d)).isoformat() for d in (1, 2)}
    assert datetime.datetime.fromisoformat(parse_date("now").split()[0]).tzinfo is not None
    assert parse_date(" Today ").split()[0] in {
        (today + datetime.timedelta(days=d)).isoformat() for d in (0, 1)
    }
    assert parse_date("yesterday").split()[0] < tomorrow.split()[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("03/04/2024", "ambiguous"),
        ("next blue moon", "Cannot read"),
        ("", "Give a date"),
        ("2" * 101, "Give a date"),
    ],
)
def test_parse_date_refusals(text: str, message: str) -> None:
    with pytest.raises(ModelRetry, match=message):
        parse_date(text)
    with pytest.raises(ModelRetry, match="Unknown time zone"):
        parse_date("2024-03-05", "Nowhere/Else")


def test_parse_date_outside_the_calendar_in_a_zone_is_refused() -> None:
    for text in ("0001-01-01T00:00+14:00", "9999-12-31T23:00-14:00"):
        with pytest.raises(ModelRetry, match="outside the years 1 to 9999"):
            parse_date(text, "UTC")


def test_shift_date() -> None:
    assert shift_date("2024-01-31", months=1) == "2024-02-29 (Thursday)"
    assert shift_date("2023-01-31", months=1) == "2023-02-28 (Tuesday)"
    assert shift_date("2024-02-29", years=1) == "2025-02-28 (Friday)"
    assert shift_date("2024-03-05", weeks=-1, days=-1) == "2024-02-26 (Monday)"
    assert shift_date("2024-03-05", hours=30) == "2024-03-06T06:00:00 (Wednesday)"
    assert shift_date("2024-12-31T23:30", minutes=45) == "2025-01-01T00:15:00 (Wednesday)"
    for amount in ({"years": 8000}, {"days": 3_000_000}):
        with pytest.raises(ModelRetry, match="outside the years 1 to 9999"):
            shift_date("2024-03-05", **amount)


def test_date_difference() -> None:
    assert date_difference("2024-01-31", "2025-03-01") == "395 days; 1 years, 1 months and 1 days"
    assert date_difference("2025-03-01", "2024-01-31") == "-395 days; -1 years, 1 months and 1 days"
    assert date_difference("2024-03-05", "2024-03-05") == "0 days; 0 years, 0 months and 0 days"
    assert date_difference("2024-01-31", "2024-02-29") == "29 days; 0 years, 1 months and 0 days"  # month-end
    assert date_difference("2024-01-15", "2024-02-14") == "30 days; 0 years, 0 months and 30 days"
    assert (
        date_difference("2024-03-05T08:00+01:00", "2024-03-06T10:30+01:00")
        == "1 days and 2 hours 30 minutes; 0 years, 0 months and 1 days"
    )
    with pytest.raises(ModelRetry, match="or neither"):
        date_difference("2024-03-05T08:00+01:00", "2024-03-06")


def test_datetime_tools() -> None:
    tools = datetime_tools()
    assert [t.name for t in tools] == ["current_time", "parse_date", "shift_date", "date_difference"]
    assert all(isinstance(t, Tool) and t.description for t in tools)
    assert current_time.parameters["properties"]["timezone"]["default"] == "UTC"


@pytest.fixture
def data_tools(tmp_path: Path) -> dict[str, Tool[..., str]]:
    (tmp_path / "users.json").write_text(
        json.dumps(
            {
                "users": [{"name": "Ada", "email": "ada@x.org"}, {"name": "Bo", "email": "bo@x.org"}],
                "odd key": {"n": 1},
                "list": [1, 2, 3],
            }
        )
    )
    (tmp_path / "cities.csv").write_text(
        'city,country,population\nOslo,Norway,709000\nBergen,Norway,"290,000"\nRome,Italy,2800000\nNice,France,340000\n'
    )
    (tmp_path / "semi.csv").write_text("a;b\n1;x\n2;y\n")
    (tmp_path / "bad.json").write_text("{oops")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "one.csv").write_text("only\n")
    return {t.name: t for t in data(tmp_path)}


def test_query_json(data_tools: dict[str, Tool[..., str]]) -> None:
    query = data_tools["query_json"]
    assert json.loads(query("users.json"))["list"] == [1, 2, 3]
    assert json.loads(query("users.json", "users[*].email")) == ["ada@x.org", "bo@x.org"]
    assert json.loads(query("users.json", "$.users[-1].name")) == "Bo"
    assert json.loads(query("users.json", '["odd key"].n')) == 1
    assert json.loads(query("users.json", "['odd key']")) == {"n": 1}
    for text, message in [
        ("users[0].phone", "$.users[0] has no key 'phone'; its keys: name, email"),
        ("users[5]", "$.users has 2 items"),
        ("users.name", "$.users is not an object"),
        ("list[0][0]", "$.list[0] is not a list"),
        ("users[0]..", "Cannot read the query"),
    ]:
        with pytest.raises(ModelRetry) as error:
            query("users.json", text)
        assert message in error.value.message
    with pytest.raises(ModelRetry, match="not valid JSON"):
        query("bad.json")
    with pytest.raises(ModelRetry, match=r"'\.\.' is not allowed"):
        query("../secret.json")


def test_query_csv(data_tools: dict[str, Tool[..., str]]) -> None:
    query = data_tools["query_csv"]
    assert (
        query("cities.csv", where=["country == norway"], columns=["city"])
        == "2 of 4 rows match.\ncity\nOslo\nBergen\n"
    )
    assert query(
        "cities.csv", where=["population > 300000", "country != Italy"], columns=["City"]
    ).splitlines()[2:] == ["Oslo", "Nice"]
    assert query("cities.csv", where=["population <= 290000"]).splitlines()[2] == 'Bergen,Norway,"290,000"'
    assert query("cities.csv", where=["population >= 2800000"]).splitlines()[0] == "1 of 4 rows match."
    assert query("cities.csv", where=["population < 300000"]).splitlines()[0] == "1 of 4 rows match."
    assert query("cities.csv", where=["city contains ER"]).splitlines()[2].startswith("Bergen")
    assert query("cities.csv", where=["city startswith ni"]).splitlines()[2].startswith("Nice")
    assert query("cities.csv", where=["city = 'Rome'"]).splitlines()[2].startswith("Rome")
    assert query("cities.csv", where=["city > N"]).splitlines()[0] == "3 of 4 rows match."
    assert query("cities.csv", limit=1).splitlines() == [
        "4 of 4 rows match (the first 1 shown).",
        "city,country,population",
        "Oslo,Norway,709000",
    ]
    assert query("semi.csv", where=["a == 2"]) == "1 of 2 rows match.\na,b\n2,y\n"
    assert query("one.csv") == "0 of 0 rows match.\nonly\n"
    for args, message in [
        ({"where": ["nope == 1"]}, "No column 'nope'; the columns are: city, country, population"),
        ({"where": ["just words"]}, "Cannot read the filter"),
        ({"columns": ["zip"]}, "No column 'zip'"),
    ]:
        with pytest.raises(ModelRetry) as error:
            query("cities.csv", **args)
        assert message in error.value.message
    with pytest.raises(ModelRetry, match="has no rows"):
        query("empty.csv")


def test_data_reads_no_file_above_max_bytes(tmp_path: Path) -> None:
    (tmp_path / "big.json").write_text("[" + "1," * 100 + "1]")
    query_json, _ = data(tmp_path, max_bytes=50)
    with pytest.raises(ModelRetry, match="files above 50 are not read"):
        query_json("big.json")
    with pytest.raises(UserError):
        data(tmp_path, max_bytes=0)


def test_a_long_filter_is_refused_before_it_is_parsed(data_tools: dict[str, Tool[..., str]]) -> None:
    query = data_tools["query_csv"]
    with pytest.raises(ModelRetry, match=f"at most {MAX_FILTER_CHARS} characters; that one has 2001"):
        query("cities.csv", where=[" " * 2000 + "x"])
    padded = " " * 80 + "city" + " " * 50 + "==" + " " * 50 + "Oslo"  # under the cap, parsed in one pass
    assert query("cities.csv", where=[padded]).splitlines()[0] == "1 of 4 rows match."
    with pytest.raises(ModelRetry, match="Cannot read the filter"):
        query("cities.csv", where=[" " * 150 + "x"])


def test_split_filter_takes_the_first_operator() -> None:
    assert _split_filter("a >= 1") == ("a", ">=", "1")
    assert _split_filter("a contains x == y") == ("a", "contains", "x == y")
    assert _split_filter("note == 'a<b'") == ("note", "==", "a<b")
    assert _split_filter("a ==") == ("a", "==", "")


def test_query_json_output_is_compact_and_capped(tmp_path: Path) -> None:
    nested = [[[[]]]] * 2000
    (tmp_path / "n.json").write_text(json.dumps(nested, separators=(",", ":")))
    (tmp_path / "small.json").write_text(json.dumps({"a": [1, 2]}, indent=4))
    query_json, _ = data(tmp_path, max_result_chars=1000)
    assert query_json("small.json") == '{"a": [1, 2]}'
    result = query_json("n.json")
    text, note = result.split("\n")
    assert len(text) == 1000 and text == json.dumps(nested)[:1000]
    assert note == "[cut: the result is longer than 1000 characters; select a part with query]"
    with pytest.raises(UserError):
        data(tmp_path, max_result_chars=0)


def test_query_json_refuses_deep_nesting(tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    query_json, _ = data(tmp_path)
    with pytest.raises(ModelRetry, match=r"'deep\.json' is nested too deeply to be read"):
        query_json("deep.json")
    deep: list[Any] = []
    for _ in range(sys.getrecursionlimit()):  # a value that loaded near the limit, shown from deeper down
        deep = [deep]
    with pytest.raises(ModelRetry, match="nested too deeply to be shown"):
        _dump(deep, 10 * sys.getrecursionlimit())
