"""`calculator`: exact arithmetic for models, evaluated safely on a whitelist of syntax (no `eval`).

Numbers are exact fractions (`0.1 + 0.2` is `0.3`, `1/3` stays `1/3`) until a function that has no exact
answer (`sqrt(2)`, `sin`, `log`, a fractional power) makes the value a float. Every result is capped at
`MAX_DIGITS` digits, and a power whose result would pass that is refused before it is computed, so a model
cannot make the process spin on `9**9**9`.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from decimal import Context, Decimal
from fractions import Fraction

from agentkit import ModelRetry, tool

__all__ = ["MAX_DIGITS", "MAX_LENGTH", "calculator", "evaluate", "render"]

Number = Fraction | float
MAX_LENGTH = 500
"""Characters of an expression at most."""
MAX_DIGITS = 1000
"""Digits of any value (numerator or denominator) at most, in the result and on the way."""
MAX_DEPTH = 100
"""Nesting of operations at most."""
_MAX_BITS = math.ceil(MAX_DIGITS * math.log2(10))
_MAX_DECIMALS = 30
_EXACT: dict[type[ast.operator], Callable[[Fraction, Fraction], Fraction]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: lambda a, b: Fraction(a // b), ast.Mod: operator.mod,
}  # fmt: skip
_FLOAT: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}  # fmt: skip
_CONSTANTS: dict[str, Number] = {"pi": math.pi, "e": math.e, "tau": math.tau}
_WORDS = re.compile(r"[A-Za-z]{2,}")
"""A word in an expression: a name that is neither a function nor a constant is a value not looked up."""


def _sqrt(x: Number) -> Number:
    if x < 0:
        raise ValueError("square root of a negative number")
    if isinstance(x, Fraction):
        top, bottom = math.isqrt(x.numerator), math.isqrt(x.denominator)
        if top * top == x.numerator and bottom * bottom == x.denominator:
            return Fraction(top, bottom)
    return math.sqrt(x)


def _round(x: Number, digits: Number = Fraction(0)) -> Number:
    if not (isinstance(digits, Fraction) and digits.denominator == 1 and abs(digits) <= MAX_DIGITS):
        raise ValueError(f"round() takes a whole number of digits up to {MAX_DIGITS}")
    if isinstance(x, Fraction):
        return Fraction(round(x, int(digits)))
    return float(round(x, int(digits)))


def _floor(x: Number) -> Number:
    return Fraction(math.floor(x)) if isinstance(x, Fraction) else float(math.floor(x))


def _ceil(x: Number) -> Number:
    return Fraction(math.ceil(x)) if isinstance(x, Fraction) else float(math.ceil(x))


def _factorial(x: Number) -> Number:
    if not (isinstance(x, Fraction) and x.denominator == 1 and 0 <= x <= MAX_DIGITS):
        raise ValueError(f"factorial() takes a whole number from 0 to {MAX_DIGITS}")
    return Fraction(math.factorial(int(x)))


def _approximate(function: Callable[..., float]) -> Callable[..., Number]:
    def apply(*args: Number) -> Number:
        return float(function(*(float(a) for a in args)))

    return apply


_FUNCTIONS: dict[str, Callable[..., Number]] = {
    "sqrt": _sqrt, "abs": abs, "round": _round, "min": min, "max": max, "floor": _floor,
    "ceil": _ceil, "factorial": _factorial, "log": _approximate(math.log),
    "log10": _approximate(math.log10), "log2": _approximate(math.log2), "exp": _approximate(math.exp),
    "sin": _approximate(math.sin), "cos": _approximate(math.cos), "tan": _approximate(math.tan),
}  # fmt: skip


def evaluate(expression: str) -> Number:
    """Evaluate an arithmetic expression exactly where it can; raises `ValueError` saying what is wrong."""
    if len(expression) > MAX_LENGTH:
        raise ValueError(f"expression longer than {MAX_LENGTH} characters")
    text = expression.replace("^", "**").replace("×", "*").replace("÷", "/").replace("−", "-").strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ValueError("the expression is nested too deeply") from None
    return _eval(tree.body, 0, text)


_EXPONENT = re.compile(r"[eE]([+-]?[0-9]+)$")


def _literal(text: str) -> Fraction:
    """A float literal's own digits as an exact fraction (`0.1` is 1/10), refusing giant exponents."""
    text = text.replace("_", "")
    exponent = _EXPONENT.search(text)
    if exponent and abs(int(exponent.group(1))) > 2 * MAX_DIGITS:
        raise ValueError(f"{text} is beyond the {MAX_DIGITS} digits computed")
    return Fraction(text)


def _eval(node: ast.expr, depth: int, source: str) -> Number:
    if depth > MAX_DEPTH:
        raise ValueError(f"more than {MAX_DEPTH} nested operations")
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        if isinstance(node.value, int):
            return _checked(Fraction(node.value))
        return _checked(_literal(ast.get_source_segment(source, node) or repr(node.value)))
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, depth + 1, source), _eval(node.right, depth + 1, source)
        if isinstance(node.op, ast.Pow):
            return _checked(_power(left, right))
        if type(node.op) in _EXACT:
            if isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)) and right == 0:
                raise ValueError("division by zero")
            if isinstance(left, Fraction) and isinstance(right, Fraction):
                return _checked(_EXACT[type(node.op)](left, right))
            return _checked(_FLOAT[type(node.op)](_float(left), _float(right)))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        value = _eval(node.operand, depth + 1, source)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise ValueError(f"{node.func.id}() takes plain arguments, without names")
        return _checked(_FUNCTIONS[node.func.id](*(_eval(a, depth + 1, source) for a in node.args)))
    raise ValueError(
        f"{ast.unparse(node)[:60]!r} is not allowed (use numbers, + - * / // % **, the constants pi, e, tau, "
        f"and {', '.join(_FUNCTIONS)})"
    )


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(base, Fraction) and isinstance(exponent, Fraction) and exponent.denominator == 1:
        if base == 0 and exponent < 0:
            raise ValueError("division by zero")
        if abs(base) != 1 and base != 0:
            size = max(base.numerator.bit_length(), base.denominator.bit_length())
            if abs(exponent.numerator) * (size - 1) > _MAX_BITS:  # at least this many bits: surely too big
                digits = int(abs(exponent.numerator) * (size - 1) * math.log10(2))
                raise ValueError(
                    f"the result would have about {digits} digits; at most {MAX_DIGITS} are computed"
                )
        return Fraction(base ** int(exponent))
    result: float | complex = _float(base) ** _float(exponent)
    if isinstance(result, complex):
        raise ValueError("a negative number to a fractional power is not a real number")
    return result


def _float(value: Number) -> float:
    try:
        return float(value)
    except OverflowError:
        raise ValueError("a value is too large to combine with an inexact one (pi, e, sqrt, ...)") from None


def _checked(value: Number) -> Number:
    if isinstance(value, Fraction):
        if max(value.numerator.bit_length(), value.denominator.bit_length()) > _MAX_BITS:
            raise ValueError(f"a value has more than {MAX_DIGITS} digits")
    elif not math.isfinite(value):
        raise ValueError("the result is not a finite number")
    return value


def render(value: Number) -> str:
    """A value as the model reads it: `395`, `2.5`, `1/3 (≈ 0.333333333333333)`, or a float's digits."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if value.denominator == 1:
        return str(value.numerator)
    twos, fives, rest = 0, 0, value.denominator
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    places = max(twos, fives)
    if rest == 1 and places <= _MAX_DECIMALS:
        exact = Context(prec=len(str(abs(value.numerator))) + places + 2)  # room for every digit
        return f"{exact.divide(Decimal(value.numerator), Decimal(value.denominator)):f}"
    approximate = Context(prec=15).divide(Decimal(value.numerator), Decimal(value.denominator))
    return f"{value.numerator}/{value.denominator} (≈ {approximate})"


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression exactly.

    Fractions stay exact (1/3 is shown as 1/3 with its decimal value); results have at most 1000 digits.

    Args:
        expression: The calculation, with the numbers it needs from the question or from earlier tool
            results: numbers, + - * / // % ** and parentheses, the constants pi, e and tau, and the functions
            sqrt, abs, round, min, max, floor, ceil, factorial, log, log10, log2, exp, sin, cos, tan.
    """
    try:
        return render(evaluate(expression))
    except (ValueError, ZeroDivisionError, OverflowError, TypeError, ArithmeticError) as exc:
        names = set(_WORDS.findall(expression)) - _FUNCTIONS.keys() - _CONSTANTS.keys()
        hint = " Write it with numbers only: get unknown values from another tool first." if names else ""
        raise ModelRetry(f"Cannot evaluate {expression!r}: {exc}.{hint}") from None
