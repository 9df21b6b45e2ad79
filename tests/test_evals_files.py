"""Case files: YAML and JSON read into the same dataset; every mistake is a `CaseFileError` naming the file,
the line and what to fix."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from agentkit import DocumentPart, ImagePart, TextPart
from agentkit.evals import (
    CaseFileError,
    Contains,
    Dataset,
    Equals,
    JsonSchema,
    LLMJudge,
    MaxCostUsd,
    MaxRequests,
    MaxSeconds,
    NoError,
    Regex,
    ToolCalled,
    ToolNotCalled,
)
from agentkit.evals._source import MAX_ALIAS_VALUES, read_source

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.4\n" + b"0" * 32

YAML = """\
evaluators:            # applied to every case
  - max_cost_usd: 0.01
  - no_error
cases:
  - name: sum
    prompt: "What is 2 + 3?"
    images: [chart.png, "https://example.com/a.png"]
    documents: [report.pdf]
    expected_output: "5"
    evaluators:
      - contains: "5"
      - contains: {text: FIVE, ignore_case: true}
      - equals
      - regex: '\\d'
      - regex: {pattern: five, ignore_case: true}
      - tool_called: {name: add, args: {a: 2}}
      - tool_called: {name: add, count: 1}
      - tool_not_called: delete
      - max_requests: 3
      - max_seconds: 2.5
      - json_schema: {type: string}
      - llm_judge: {rubric: "Right sum.", model: judge/model, threshold: 0.5}
  - name: second
    prompt: Hello
    evaluators: [llm_judge: Friendly.]
"""


def as_json(text: str) -> str:
    import yaml

    return json.dumps(yaml.safe_load(text), indent=2)


def write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / "chart.png").write_bytes(PNG)
    (tmp_path / "report.pdf").write_bytes(PDF)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["cases.yaml", "cases.json"])
def test_a_case_file_gives_its_cases_and_evaluators(tmp_path: Path, name: str) -> None:
    text = YAML if name.endswith(".yaml") else as_json(YAML)
    dataset = Dataset.from_file(write(tmp_path, name, text))
    assert dataset.evaluators == [MaxCostUsd(limit=0.01), NoError()]
    first, second = dataset.cases
    assert (first.name, first.prompt, first.expected_output) == ("sum", "What is 2 + 3?", "5")
    assert first.attachments == [
        ImagePart.from_path(tmp_path / "chart.png"),
        ImagePart(url="https://example.com/a.png"),
        DocumentPart.from_path(tmp_path / "report.pdf"),
    ]
    assert first.content()[0] == TextPart(text="What is 2 + 3?")
    assert first.evaluators[:-1] == [
        Contains(text="5"),
        Contains(text="FIVE", ignore_case=True),
        Equals(),
        Regex(pattern=r"\d"),
        Regex(pattern="five", ignore_case=True),
        ToolCalled(tool="add", args={"a": 2}),
        ToolCalled(tool="add", count=1),
        ToolNotCalled(tool="delete"),
        MaxRequests(limit=3),
        MaxSeconds(limit=2.5),
        JsonSchema(schema={"type": "string"}),
    ]
    judge = first.evaluators[-1]
    assert isinstance(judge, LLMJudge)
    assert (judge.rubric, judge.model, judge.threshold) == ("Right sum.", "judge/model", 0.5)
    assert (second.prompt, second.content()) == ("Hello", "Hello")
    assert second.evaluators == [LLMJudge(rubric="Friendly.")]


MISTAKES = [
    # (the file's text, the line named, the message's end)
    ("cases:\n  - name: a\n    prompt: [unclosed\n", 4, "not valid YAML: expected ',' or ']', but got '<stream end>'"),
    ("cases:\n  - name: a\n\tprompt: x\n", 3, "not valid YAML: found character '\\t' that cannot start any token"),
    ("- a\n- b\n", 1, "the file must hold a mapping with a `cases` list (see docs/evals.md)"),
    ("cases: []\n", 1, "cases: `cases` must be a non-empty list of cases"),
    ("evaluators: []\n", 1, "`cases` must be a non-empty list of cases"),
    ("cases:\n  - name: a\n    prompt: x\nextra: 1\n", 4, "extra: unknown key 'extra' (allowed: cases, evaluators)"),
    ("cases:\n  - name: a\n    promt: x\n", 3, "cases[0].promt: unknown key 'promt' (allowed: name, prompt, images, documents, expected_output, evaluators)"),
    ("cases:\n  - name: a\n    expected_output: x\n", 2, "cases[0]: `prompt` is required: non-empty text"),
    ("cases:\n  - name: a\n    prompt: 3\n", 3, "cases[0].prompt: `prompt` is required: non-empty text"),
    ("cases:\n  - just text\n", 2, "cases[0]: a case must be a mapping with `name` and `prompt`"),
    ("cases:\n  - name: a\n    prompt: x\n  - name: a\n    prompt: y\n", 4, "cases[1].name: a second case named 'a'; case names must be unique"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - contain: '5'\n", 5, "cases[0].evaluators[0]: unknown evaluator 'contain' (known: equals, contains, regex, json_schema, tool_called, tool_not_called, max_requests, max_cost_usd, max_seconds, no_error, llm_judge)"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - max_requests: many\n", 5, "cases[0].evaluators[0].max_requests: the limit must be a whole number, not 'many'"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - max_cost_usd: -1\n", 5, "max_cost_usd: the limit must be >= 0, not -1"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - max_seconds: true\n", 5, "max_seconds: the limit must be a number, not True"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - tool_called: {args: {a: 1}}\n", 5, "tool_called: `name` is required"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - tool_called: {name: add, times: 2}\n", 5, "tool_called: unknown key 'times' (allowed: name, args, count)"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - tool_not_called: {name: add, args: [1]}\n", 5, "tool_not_called: args must be a mapping, not [1]"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - tool_called: {name: add, count: -2}\n", 5, "tool_called: the limit must be >= 0, not -2"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - regex: '('\n", 5, "regex: regex '(' is not a valid regular expression: missing ), unterminated subpattern at position 0"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - json_schema: {type: 5}\n", 5, "json_schema: json_schema is not a valid JSON Schema: 5 is not valid under any of the given schemas"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - json_schema: object\n", 5, "json_schema: the schema must be a mapping, not 'object'"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - llm_judge: {model: m}\n", 5, "llm_judge: `rubric` is required"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - llm_judge: {rubric: r, model: 5}\n", 5, "llm_judge: model must be text, not 5"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - llm_judge: {rubric: r, threshold: high}\n", 5, "llm_judge: threshold must be a number, not 'high'"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - no_error: 3\n", 5, "no_error: takes no argument (write `- no_error`)"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators:\n      - {contains: a, regex: b}\n", 5, "an evaluator is one `name: argument` pair, such as `- contains: \"5\"`"),
    ("cases:\n  - name: a\n    prompt: x\n    evaluators: {contains: a}\n", 4, "cases[0].evaluators: must be a list of evaluators, such as `- contains: \"5\"`"),
    ("cases:\n  - name: a\n    prompt: x\n    images: chart.png\n", 4, "cases[0].images: must be a list of file paths or http(s) URLs"),
    ("cases:\n  - name: a\n    prompt: x\n    images:\n      - chart.png\n      - missing.png\n", 6, "cases[0].images[1]: "),
    ("cases:\n  - name: a\n    prompt: x\n    documents: [chart.png]\n", 4, "cases[0].documents[0]: "),
    ("cases:\n  - name: a\n    prompt: x\x07\n", None, "not valid YAML: unacceptable character #x0007: special characters are not allowed"),
    ("cases:\n  - name: a\n    prompt: x\n    <<: [1]\n", 4, "not valid YAML: expected a mapping for merging, but found scalar"),
    ("cases:\n  - name: a\n    prompt: x\n    ? [1, 2]\n    : y\n", 4, "not valid YAML: a key must be plain text"),
    ("cases: &all\n  - name: a\n    prompt: x\n  - *all\n", 1, "not valid YAML: a value holds itself (an alias inside the value anchored here)"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "line", "message"), MISTAKES)
def test_a_mistake_in_a_yaml_file_names_its_line(
    tmp_path: Path, text: str, line: int | None, message: str
) -> None:
    path = write(tmp_path, "cases.yaml", text)
    with pytest.raises(CaseFileError) as caught:
        Dataset.from_file(path)
    assert str(caught.value).startswith(f"{path}, line {line}: " if line else f"{path}: ")
    assert message in str(caught.value)
    assert caught.value.line == line and caught.value.path == str(path)


JSON_MISTAKES = [
    ('{"cases": [\n  {"name": "a", "prompt": "x",}\n]}', 2, "not valid JSON: Expecting property name enclosed in double quotes (column 31)"),
    ('{"cases": [\n  {"name": "a",\n   "prompt": "x",\n   "evaluators": [{"max_requests": "3"}]}\n]}', 4, "cases[0].evaluators[0].max_requests: the limit must be a whole number, not '3'"),
    ('{\n  "cases" : [ {"name": "a", "prompt": "x"},\n\n  {"name": "b", "prompt": ""} ] }', 4, "cases[1].prompt: `prompt` is required"),
    ('[]', 1, "the file must hold a mapping"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "line", "message"), JSON_MISTAKES)
def test_a_mistake_in_a_json_file_names_its_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, "cases.json", text)
    with pytest.raises(CaseFileError, match=rf"^{path}, line {line}: ") as caught:
        Dataset.from_file(path)
    assert message in str(caught.value)


def test_json_lines_are_right_for_nested_values(tmp_path: Path) -> None:
    from agentkit.evals._source import read_source

    text = '{"a": [1,\n  {"b": "x\\"y", "c": [true, null]},\n  []],\n "d": {}}'
    source = read_source(write(tmp_path, "x.json", text))
    assert source.lines == {
        (): 1, ("a",): 1, ("a", 0): 1, ("a", 1): 2, ("a", 1, "b"): 2, ("a", 1, "c"): 2,
        ("a", 1, "c", 0): 2, ("a", 1, "c", 1): 2, ("a", 2): 3, ("d",): 4,
    }  # fmt: skip
    assert source.line(("a", 1, "c", 5)) == 2 and source.line(("zz",)) == 1


def test_unreadable_empty_and_yaml_without_pyyaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CaseFileError, match=r"missing\.yaml: cannot be read \(FileNotFoundError"):
        Dataset.from_file(tmp_path / "missing.yaml")
    with pytest.raises(
        CaseFileError, match=r"line 1: the file must hold a mapping|empty\.yaml: the file must"
    ):
        Dataset.from_file(write(tmp_path, "empty.yaml", "# nothing\n"))
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(CaseFileError, match=r"YAML case files need PyYAML: pip install 'agentkit\[evals\]'"):
        Dataset.from_file(write(tmp_path, "cases.yml", YAML))
    assert (
        len(
            Dataset.from_file(
                write(tmp_path, "cases.json", '{"cases": [{"name": "a", "prompt": "x"}]}')
            ).cases
        )
        == 1
    )


SUITE_ANSWERS = {
    "calc-basic": (None, "17 * 23 + 4 = 395."),
    "calc-big": (None, "1234 * 5678 = 7,006,652."),
    "calc-sqrt": (None, "It is 57.5."),
    "calc-percent": (None, "15% of 2,480 is 372."),
    "calc-power": (None, "2^20 = 1048576."),
    "weather-oslo": ("get_weather", "Oslo: -3°C and light snow."),
    "weather-tokyo": ("get_weather", "Yes, light rain."),
    "employee-dept": ("get_employee", "Logistics."),
    "stock-price": ("get_stock_price", "142.35 USD."),
    "shares-cost": ("get_stock_price", "12 shares cost 1,708.20 USD."),
    "salary-eur": ("get_employee", "About 93,840 EUR."),
    "salary-month": ("get_employee", "6,354.17 USD a month."),
    "warmer": ("get_weather", "27 degrees warmer."),
    "choose-currency": ("convert_currency", "250 USD = 37800 JPY."),
    "choose-parcel": ("track_package", "It was last seen in Rotterdam."),
    "choose-employee": ("get_employee", "In 2021."),
    "choose-weather": ("get_weather", "24°C."),
    "choose-words": ("word_count", "There are 9 words."),
    "no-tool-capital": (None, "Paris"),
    "no-tool-french": (None, "Merci."),
    "no-tool-code": (None, "{'a': 1}"),
}


TOOL_ARGUMENTS: dict[str, dict[str, Any]] = {
    "get_weather": {"city": "Oslo"},
    "get_employee": {"name": "Dana Whitfield"},
    "get_stock_price": {"symbol": "ACME"},
    "convert_currency": {"amount": 250, "from_currency": "USD", "to_currency": "JPY"},
    "track_package": {"tracking_id": "PKG-1042"},
    "word_count": {"text": "a b"},
}


def test_the_local_eval_suite_as_a_case_file_scores_right_and_wrong_answers() -> None:
    """benchmarks/evals/local_main.yaml: a model giving the right answers (calling the tools the suite
    requires) passes every case; one that guesses fails every case."""
    from agentkit import Agent, Message
    from agentkit.cli._specs import load_tools
    from agentkit.testing import FunctionModel, RequestInfo, last_user_text, tool_call_response

    root = Path(__file__).resolve().parents[1]
    dataset = Dataset.from_file(root / "benchmarks" / "evals" / "local_main.yaml")
    assert [case.name for case in dataset.cases] == list(SUITE_ANSWERS)
    prompts = {case.prompt: case.name for case in dataset.cases}
    tools = load_tools([str(root / "benchmarks" / "local_eval.py")])

    def oracle(messages: list[Message], info: RequestInfo) -> Any:
        tool_name, text = SUITE_ANSWERS[prompts[last_user_text(messages)]]
        if tool_name is None or info.tool_results:
            return text
        return tool_call_response(tool_name, TOOL_ARGUMENTS[tool_name])

    right = dataset.evaluate_sync(Agent(FunctionModel(oracle), tools=tools))
    assert [(r.case, r.results) for r in right.runs if not r.passed] == []
    wrong = dataset.evaluate_sync(Agent(FunctionModel(lambda m, i: "I don't know, about 12."), tools=tools))
    assert [r.case for r in wrong.runs if r.passed] == []


def _laughs(levels: int) -> str:
    """The "billion laughs" file: each anchor a list of ten aliases of the one before (10**levels values)."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefghi", "bcdefghij"[: levels - 1], strict=False):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
    lines.append("cases:\n  - name: a\n    prompt: x")
    return "\n".join(lines) + "\n"


def test_a_yaml_file_whose_aliases_expand_without_end_is_refused_quickly(tmp_path: Path) -> None:
    import time

    path = write(tmp_path, "cases.yaml", _laughs(9))
    started = time.perf_counter()
    with pytest.raises(CaseFileError) as caught:
        Dataset.from_file(path)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"took {elapsed:.2f}s"
    error = caught.value
    # the alias being repeated when the limit is passed: a `*d` in `e`'s list (10**5 values)
    assert error.line == 5
    assert "the alias *d repeats the value anchored as &d (line 4)" in str(error)
    assert f"more than {MAX_ALIAS_VALUES:,} values" in str(error)
    assert "write the repeated values out, or use fewer nested aliases" in str(error)


def test_aliases_within_the_limit_are_read(tmp_path: Path) -> None:
    source = read_source(write(tmp_path, "cases.yaml", _laughs(4)))  # 10**4 values
    assert source.data["d"][9][9][9] == ["lol"] * 10
    assert (
        json.dumps(source.data["d"]).count('"lol"') == 10**4 and source.line(("d", 9, 9)) == 2
    )  # where `b` is written


def test_values_repeated_by_merge_keys_count_too(tmp_path: Path) -> None:
    merges = "".join(f"n{i}: {{<<: *m}}\n" for i in range(MAX_ALIAS_VALUES // 10**4))
    text = _laughs(4).replace("cases:", f"m: &m {{k: *d}}\n{merges}cases:")
    with pytest.raises(CaseFileError) as caught:
        read_source(write(tmp_path, "cases.yaml", text))
    assert caught.value.line == 4  # no alias where the merge puts the value: the line it is anchored on
    assert "a merge (<<) repeats the value anchored on line 4" in str(caught.value)
