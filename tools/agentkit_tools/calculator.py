"""`calculator`: exact arithmetic for models, evaluated safely (no `eval`)."""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable

from agentkit import ModelRetry, tool

__all__ = ["calculator"]

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt, "abs": abs, "round": round, "min": min, "max": max, "floor": math.floor, "ceil": math.ceil,
    "log": math.log, "log10": math.log10, "exp": math.exp, "sin": math.sin, "cos": math.cos, "tan": math.tan,
}  # fmt: skip
_CONSTANTS = {"pi": math.pi, "e": math.e}
_WORDS = re.compile(r"[A-Za-z]{2,}")
"""A word in an expression: a name that is neither a function nor a constant is a value not looked up."""
MAX_EXPONENT = 1000
MAX_LENGTH = 500


def evaluate(expression: str) -> float:
    """Evaluate an arithmetic expression; raises `ValueError` saying what is not allowed."""
    if len(expression) > MAX_LENGTH:
        raise ValueError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression.replace("^", "**").replace("×", "*").replace("÷", "/"), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {exc.msg}") from None
    return _eval(tree.body)


def _eval(node: ast.expr) -> float:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ValueError(f"exponent larger than {MAX_EXPONENT}")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*(_eval(a) for a in node.args))
    raise ValueError(
        f"{ast.unparse(node)!r} is not allowed (use numbers, + - * / // % **, and {', '.join(_FUNCTIONS)})"
    )


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression exactly.

    Args:
        expression: The calculation, with the numbers it needs from the question or from earlier tool
            results: numbers, + - * / // % ** and parentheses, the constants pi and e, and the functions
            sqrt, abs, round, min, max, floor, ceil, log, log10, exp, sin, cos, tan.
    """
    try:
        value = evaluate(expression)
    except (ValueError, ZeroDivisionError, OverflowError, TypeError) as exc:
        names = set(_WORDS.findall(expression)) - _FUNCTIONS.keys() - _CONSTANTS.keys()
        hint = " Write it with numbers only: get unknown values from another tool first." if names else ""
        raise ModelRetry(f"Cannot evaluate {expression!r}: {exc}.{hint}") from None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)
