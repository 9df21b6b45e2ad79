"""The Berkeley Function Calling Leaderboard's AST check, written again for `bfcl_sample.py` (Python items).

It follows the rules of `bfcl_eval/eval_checker/ast_eval/ast_checker.py` (bfcl-eval 2026.3.23):

- a call is `{name: {parameter: value}}`; a possible answer is `{name: {parameter: [allowed values]}}`, where
  `""` among the allowed values means the parameter may be left out;
- the function name must be the expected one; every required parameter present; no parameter the function
  does not have or the answer does not list; every parameter the answer lists but the model left out must
  allow `""`;
- types as BFCL's Python mapping (`integer` int, `float` float, `string` str, `boolean` bool, `array` and
  `tuple` list, `dict` dict, `any` str): a bool is not an int; an int is accepted for a float; a value of the
  type of the allowed values (a variable name where a number was expected) is compared as it is; array items
  are checked one level deep;
- strings compared after BFCL's normalisation (`standardize_string`: spaces and `,./-_*^` removed, lower case,
  single quotes made double); lists element-wise (strings in them normalised); dicts key by key (each key
  allowed, each value among the allowed ones, each missing key optional); lists of dicts dict by dict;
- `simple`: exactly one call; `multiple`: exactly one call, checked against the one expected; `parallel` and
  `parallel_multiple`: as many calls as expected, matched in any order (each expected call takes the first
  unmatched call that passes); `irrelevance`: passes when the reply makes no call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Verdict", "check_call", "check_item", "standardize_string"]

PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
NESTED = ("array", "tuple")
_PUNCTUATION = re.compile(r"[ \,\.\/\-\_\*\^]")

Call = Mapping[str, Mapping[str, Any]]
"""One call as BFCL writes it: `{function name: {parameter: value}}`."""


@dataclass(frozen=True)
class Verdict:
    """Whether a reply passes, and if not, why (BFCL's error kind, and a sentence)."""

    valid: bool
    kind: str = ""
    reason: str = ""


PASS = Verdict(True)


def standardize_string(text: str) -> str:
    """BFCL's string normalisation: spaces and `,./-_*^` removed, lower case, `'` made `"`."""
    return _PUNCTUATION.sub("", text).lower().replace("'", '"')


def check_item(
    category: str,
    functions: Sequence[Mapping[str, Any]],
    calls: Sequence[Call],
    possible_answer: Sequence[Call] | None,
) -> Verdict:
    """The leaderboard's verdict on a reply's `calls` for an item of `category` (`simple`, `multiple`,
    `parallel`, `parallel_multiple`, `irrelevance`), given the item's `functions` (BFCL descriptions, names as
    in the data) and its `possible_answer` (the ground truth; `None` for irrelevance)."""
    if category == "irrelevance":
        if calls:
            return Verdict(False, "irrelevance:called", f"made {len(calls)} call(s) where none fits")
        return PASS
    assert possible_answer is not None, f"{category} items have a possible answer"
    if len(calls) != len(possible_answer):
        return Verdict(
            False, f"{category}:wrong_count", f"{len(calls)} call(s), expected {len(possible_answer)}"
        )
    if "parallel" not in category:
        return check_call(_description(functions, _name(possible_answer[0])), calls[0], possible_answer[0])
    matched: set[int] = set()
    for expected in possible_answer:
        description = _description(functions, _name(expected))
        found = None
        last = PASS
        for index, call in enumerate(calls):
            if index in matched:
                continue
            last = check_call(description, call, expected)
            if last.valid:
                found = index
                break
        if found is None:
            return Verdict(
                False, f"{category}:cannot_find_match", f"no call matches {_name(expected)}: {last.reason}"
            )
        matched.add(found)
    return PASS


def check_call(description: Mapping[str, Any], call: Call, expected: Call) -> Verdict:
    """BFCL's `simple_function_checker` for Python: one call against one expected call."""
    name = str(description["name"])
    allowed = next(iter(expected.values()))
    properties: Mapping[str, Any] = description["parameters"]["properties"]
    required: Sequence[str] = description["parameters"].get("required", [])
    if name not in call:
        return Verdict(False, "wrong_func_name", f"expected {name}, got {', '.join(call) or 'nothing'}")
    arguments = call[name]
    for parameter in required:
        if parameter not in arguments:
            return Verdict(False, "missing_required", f"missing required parameter {parameter!r}")
    for parameter, value in arguments.items():
        if parameter not in properties or parameter not in allowed:
            return Verdict(False, "unexpected_param", f"unexpected parameter {parameter!r}")
        verdict = _check_value(parameter, value, properties[parameter], list(allowed[parameter]))
        if not verdict.valid:
            return verdict
    for parameter, values in allowed.items():
        if parameter not in arguments and "" not in values:
            return Verdict(False, "missing_optional", f"parameter {parameter!r} left out but not optional")
    return PASS


def _check_value(parameter: str, value: Any, schema: Mapping[str, Any], allowed: list[Any]) -> Verdict:
    type_name = str(schema.get("type", "any"))
    expected_type = PYTHON_TYPES.get(type_name, str)
    nested = (
        PYTHON_TYPES.get(str(schema.get("items", {}).get("type", "any")), str)
        if type_name in NESTED
        else None
    )
    if type_name == "float" and type(value) is int:
        value = float(value)  # BFCL accepts an int for a float
    typed = _type_check(parameter, value, allowed, type_name, expected_type, nested)
    if not typed.valid:
        return typed
    is_variable = typed.kind == "variable"
    if not is_variable:
        if expected_type is dict:
            return _dict_check(parameter, value, allowed)
        if expected_type is list and nested is dict:
            return _list_of_dicts_check(parameter, value, allowed)
        if expected_type is str:
            if standardize_string(value) not in [
                standardize_string(a) for a in allowed if isinstance(a, str)
            ]:
                return Verdict(
                    False, "value_error:string", f"{parameter}={value!r}, expected one of {allowed}"
                )
            return PASS
        if expected_type is list:
            options = [
                _standard_list(a) if isinstance(a, list) else []
                for a in allowed
                if a == "" or isinstance(a, list)
            ]
            if _standard_list(value) not in options:  # BFCL reads an optional "" as an empty list
                return Verdict(False, "value_error:list", f"{parameter}={value!r}, expected one of {allowed}")
            return PASS
    if value not in allowed:
        return Verdict(False, "value_error:others", f"{parameter}={value!r}, expected one of {allowed}")
    return PASS


def _type_check(
    parameter: str, value: Any, allowed: list[Any], type_name: str, expected: type, nested: type | None
) -> Verdict:
    """BFCL's `type_checker`: `Verdict(True, "variable")` when the value has the type of the allowed values
    but not the declared one (a variable written where a literal was expected)."""
    answer_type = next((type(a) for a in allowed if a != ""), None)
    is_variable = answer_type is not None and answer_type is not expected
    if type(value) is expected:
        if nested is None:
            return Verdict(True, "variable" if is_variable else "")
        items: list[Any] = value if isinstance(value, list) else []  # `nested` is set for arrays only
        for option in allowed:
            if isinstance(option, list) and all(
                _type_check(parameter, item, option, "", nested, None).valid for item in items
            ):
                return Verdict(True, "variable" if is_variable else "")
            if not isinstance(option, list):
                return Verdict(True, "variable" if is_variable else "")  # BFCL: a non-list option passes
        return Verdict(False, "type_error", f"{parameter}: an item is not of type {nested.__name__}")
    if answer_type is not None and type(value) is answer_type:
        return Verdict(True, "variable")
    return Verdict(
        False,
        "type_error",
        f"{parameter}: expected {type_name or expected.__name__}, got {type(value).__name__}",
    )


def _standard_list(items: list[Any]) -> list[Any]:
    return [standardize_string(item) if isinstance(item, str) else item for item in items]


def _dict_check(parameter: str, value: dict[str, Any], allowed: list[Any]) -> Verdict:
    """BFCL's `dict_checker`: the dict matches one allowed dict, key by key."""
    last = Verdict(False, "value_error:dict", f"{parameter}: no allowed dict")
    for option in allowed:
        if option == "":
            continue
        last = _one_dict(parameter, value, option)
        if last.valid:
            return last
    return last


def _one_dict(parameter: str, value: Mapping[str, Any], option: Mapping[str, Any]) -> Verdict:
    for key, item in value.items():
        if key not in option:
            return Verdict(False, "value_error:dict_key", f"{parameter}: unexpected key {key!r}")
        standard = standardize_string(item) if isinstance(item, str) else item
        choices = [standardize_string(o) if isinstance(o, str) else o for o in option[key]]
        if standard not in choices:
            return Verdict(
                False, "value_error:dict_value", f"{parameter}.{key}={item!r}, expected {option[key]}"
            )
    for key, choices in option.items():
        if key not in value and "" not in choices:
            return Verdict(False, "value_error:dict_key", f"{parameter}: missing key {key!r}")
    return PASS


def _list_of_dicts_check(parameter: str, value: list[Any], allowed: list[Any]) -> Verdict:
    """BFCL's `list_dict_checker`: the dicts in order, each against the same position of an allowed list."""
    last = Verdict(False, "value_error:list_dict", f"{parameter}: no allowed list")
    for option in allowed:
        if not isinstance(option, list) or len(option) != len(value):
            last = Verdict(False, "value_error:list_dict_count", f"{parameter}: wrong number of dicts")
            continue
        for item, expected in zip(value, option, strict=True):
            last = (
                _one_dict(parameter, item, expected)
                if isinstance(item, dict)
                else Verdict(False, "value_error:list_dict", f"{parameter}: {item!r} is not a dict")
            )
            if not last.valid:
                break
        else:
            return PASS
    return last


def _name(call: Call) -> str:
    return next(iter(call))


def _description(functions: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any]:
    for function in functions:
        if function["name"] == name:
            return function
    raise KeyError(f"no function {name!r} in the item")
