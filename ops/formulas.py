"""Symbolic derivatives, built with SymPy from the already-parsed tree.

The text a person typed is never handed to SymPy as text (no ``sympify``, no
``parse_expr``): :func:`derivative_formula` walks the tree :mod:`ops.syntax` has
already checked and builds SymPy objects node by node, so the formula covers exactly
the expression that PyTorch runs. Only elementwise functions have a formula; anything
else (reductions, matmul, comparisons, tensor literals, losses) gives ``None``.

Format of the result (one line)::

    d/d <var> [<expression as typed>] = <derivative>

e.g. ``d/d input [exp(input)] = exp(input)`` or
``d/d x [relu(x)] = (1 if x > 0 else 0)``. A piecewise derivative is written as a
Python-style conditional, SymPy's ``Heaviside(z)`` is the unit step, and ``sign(x)``
has ``sign(0) = 0``.

Honest kinks: where a function has a kink, the formula gives the value PyTorch's
backward gives there, and that value is measured from the installed torch once per
process (relu, leaky_relu, elu and clamp at their kinks, maximum/minimum at ties), not
remembered. The step functions ``sign``, ``floor``, ``ceil`` and ``round`` have
derivative 0 in the formula, which is what PyTorch returns everywhere (their jumps have
no derivative; curves mark them as kinks). SymPy is imported on first use: it is slow to
import, and a screen's first paint must not wait for it.
"""

from __future__ import annotations

import ast
import math
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from gradtui.ops.calls import CONSTRUCTORS, bind_arguments, function_spec
from gradtui.ops.errors import InputError
from gradtui.ops.source import NAMED_FLOATS
from gradtui.ops.syntax import Parsed, left_spine, parse, parse_default

__all__ = ["ELEMENTWISE_FUNCTIONS", "derivative", "derivative_formula", "warm"]

MAX_SIMPLIFY_OPS = 60
"""A derivative with more operations than this is shown unsimplified (simplify is costly)."""
CACHE_SIZE = 256
"""Formulas kept by text and variable: an edit of an input's value asks for the same one again."""
_CACHE: dict[tuple[str, str], str | None] = {}
_CACHE_LOCK = threading.Lock()
_warm = False

ELEMENTWISE_FUNCTIONS: frozenset[str] = frozenset(
    {
        "exp", "log", "sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
        "tanh", "asinh", "atanh", "log1p", "expm1", "erf", "sigmoid", "relu", "leaky_relu",
        "gelu", "softplus", "elu", "silu", "abs", "sign", "floor", "ceil", "round", "pow",
        "mul", "div", "add", "sub", "maximum", "minimum", "clamp",
    }
)  # fmt: skip
"""Calls that have a SymPy counterpart; any other call makes the formula ``None``."""


class _NoFormula(Exception):
    """The tree holds something with no elementwise SymPy counterpart."""


def derivative_formula(expression: str | Parsed, var: str) -> str | None:
    """The derivative of an elementwise expression with respect to one input, as text.

    Args:
        expression: Text in the input language, or an already :class:`Parsed` one.
        var: The free input to differentiate by (a name not in the expression gives 0).

    Returns:
        ``"d/d <var> [<expression>] = <derivative>"``, simplified; or ``None`` when the
        expression contains anything that is not elementwise (a reduction, matmul, a
        comparison, a tensor literal, a constructor, a loss, ...).

    Raises:
        InputError: ``expression`` is text the language refuses.
    """
    parsed = expression if isinstance(expression, Parsed) else parse(expression)
    key = (parsed.text, var)
    if key in _CACHE:
        return _CACHE[key]
    df = derivative(parsed, var)
    text = None
    if df is not None:
        import sympy

        typed = " ".join(parsed.text.split())
        text = f"d/d {var} [{typed}] = {_print(sympy, df)}"
    with _CACHE_LOCK:  # computations of older edits may still be running in other threads
        if len(_CACHE) >= CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))  # oldest first: dicts keep insertion order
        _CACHE[key] = text
    return text


def warm() -> bool:
    """Whether a formula has been built in this process already.

    The first one costs about half a second (SymPy's import, then ``simplify``'s own
    imports); later ones a few milliseconds, and a repeated one nothing (:data:`_CACHE`).
    A front end can show a result first and its formula a moment later while cold.
    """
    return _warm


def derivative(expression: str | Parsed, var: str) -> Any | None:
    """The SymPy expression behind :func:`derivative_formula` (free inputs are real symbols).

    For evaluating the formula numerically, e.g. ``float(df.subs(x, 0.5))``.
    """
    parsed = expression if isinstance(expression, Parsed) else parse(expression)
    import sympy

    global _warm
    try:
        f = _Translator(sympy).visit(parsed.tree.body)
        df = _tidy(sympy, sympy.diff(f, sympy.Symbol(var, real=True)))
        _warm = True
        return df
    except _NoFormula:
        return None
    except (RecursionError, ValueError, TypeError, ZeroDivisionError, OverflowError):
        return None  # SymPy gave up on a pathological expression: no formula, no crash


# --------------------------------------------------------------------------- tree -> SymPy


class _Translator:
    """Builds a SymPy expression from a checked tree; raises :class:`_NoFormula` otherwise.

    Recursion depth is bounded by the parser's ``MAX_DEPTH``.
    """

    def __init__(self, sympy: Any):
        self.sp = sympy

    def visit(self, node: ast.AST) -> Any:
        sp = self.sp
        if isinstance(node, ast.Constant):
            return self.number(node.value)
        if isinstance(node, ast.Name):
            if node.id in NAMED_FLOATS:
                return {"pi": sp.pi, "inf": sp.oo, "nan": sp.nan}[node.id]
            return sp.Symbol(node.id, real=True)
        if isinstance(node, ast.UnaryOp):
            operand = self.visit(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            leftmost, spine = left_spine(node)  # a loop: a flat chain may be long
            value = self.visit(leftmost)
            for binop in spine:
                value = self.binop(binop, value, self.visit(binop.right))
            return value
        if isinstance(node, ast.Call):
            return self.call(node)
        raise _NoFormula(type(node).__name__)  # lists, comparisons: not elementwise

    @staticmethod
    def binop(node: ast.BinOp, left: Any, right: Any) -> Any:
        op = type(node.op)
        if op is ast.Add:
            return left + right
        if op is ast.Sub:
            return left - right
        if op is ast.Mult:
            return left * right
        if op is ast.Div:
            return left / right
        if op is ast.Pow:
            return left**right
        raise _NoFormula("@ is not elementwise")

    def number(self, value: Any) -> Any:
        sp = self.sp
        if value is None:
            raise _NoFormula("None")
        if isinstance(value, bool):
            return sp.Integer(int(value))
        if isinstance(value, int):
            return sp.Integer(value)
        if isinstance(value, float) and value.is_integer():
            return sp.Integer(int(value))  # 2.0 and 2 are the same number: keep x**2 readable
        if isinstance(value, float) and math.isinf(value):
            return sp.oo if value > 0 else -sp.oo
        return sp.Float(value)

    def call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name):
            raise _NoFormula("torch.X(...) and x.method(...)")  # torch's spelling: no formula yet
        name = node.func.id
        if name in CONSTRUCTORS or name not in ELEMENTWISE_FUNCTIONS:
            raise _NoFormula(name)
        spec = function_spec(name)
        if spec is None:
            raise _NoFormula(name)
        try:
            bound = bind_arguments(node)
        except InputError:
            raise _NoFormula(f"{name} with torch's keywords") from None
        args: dict[str, Any] = {}
        for param in spec.inputs:
            if param.name in bound:
                args[param.name] = self.argument(bound[param.name])
            elif param.kind == "tensor" or not isinstance(param.default, str):
                raise _NoFormula(f"missing {param.name}")  # evaluating it would fail too
            else:
                args[param.name] = self.argument(parse_default(param.default).tree.body)
        values = list(args.values())
        return _FUNCTIONS[name](self.sp, *values)

    def argument(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and node.value is None:
            return None  # clamp(x, min=None): no bound
        return self.visit(node)


def _piecewise_kink(sp: Any, x: Any, right: Any, left: Any, right_at_kink: bool) -> Any:
    """``right`` for x > 0 and ``left`` for x < 0; at 0 the branch torch's backward uses."""
    cond = x >= 0 if right_at_kink else x > 0
    return sp.Piecewise((right, cond), (left, True))


def _relu(sp: Any, x: Any) -> Any:
    return _piecewise_kink(sp, x, x, sp.Integer(0), _kinks()["relu"])


def _leaky_relu(sp: Any, x: Any, slope: Any = None) -> Any:
    slope = sp.Float(0.01) if slope is None else slope
    return _piecewise_kink(sp, x, x, slope * x, _kinks()["leaky_relu"])


def _elu(sp: Any, x: Any, alpha: Any = None) -> Any:
    alpha = sp.Integer(1) if alpha is None else alpha
    return _piecewise_kink(sp, x, x, alpha * (sp.exp(x) - 1), _kinks()["elu"])


def _softplus(sp: Any, x: Any, beta: Any = None, threshold: Any = None) -> Any:
    # torch switches to the identity where beta * x > threshold (default 20), for stability
    beta = sp.Integer(1) if beta is None else beta
    threshold = sp.Integer(20) if threshold is None else threshold
    return sp.Piecewise((x, beta * x > threshold), (sp.log(1 + sp.exp(beta * x)) / beta, True))


def _clamp(sp: Any, x: Any, low: Any = None, high: Any = None) -> Any:
    inclusive_low, inclusive_high = _kinks()["clamp_min"], _kinks()["clamp_max"]
    pieces = []
    if low is not None:
        pieces.append((low, x < low if inclusive_low else x <= low))
    if high is not None:
        pieces.append((high, x > high if inclusive_high else x >= high))
    if not pieces:
        return x
    return sp.Piecewise(*pieces, (x, True))


def _extreme(which: str) -> Callable[..., Any]:
    def build(sp: Any, a: Any, b: Any) -> Any:
        return sp.Max(a, b) if which == "max" else sp.Min(a, b)

    return build


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "exp": lambda sp, x: sp.exp(x),
    "log": lambda sp, x: sp.log(x),
    "sqrt": lambda sp, x: sp.sqrt(x),
    "sin": lambda sp, x: sp.sin(x),
    "cos": lambda sp, x: sp.cos(x),
    "tan": lambda sp, x: sp.tan(x),
    "asin": lambda sp, x: sp.asin(x),
    "acos": lambda sp, x: sp.acos(x),
    "atan": lambda sp, x: sp.atan(x),
    "sinh": lambda sp, x: sp.sinh(x),
    "cosh": lambda sp, x: sp.cosh(x),
    "tanh": lambda sp, x: sp.tanh(x),
    "asinh": lambda sp, x: sp.asinh(x),
    "atanh": lambda sp, x: sp.atanh(x),
    "log1p": lambda sp, x: sp.log(1 + x),
    "expm1": lambda sp, x: sp.exp(x) - 1,
    "erf": lambda sp, x: sp.erf(x),
    "sigmoid": lambda sp, x: 1 / (1 + sp.exp(-x)),
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "gelu": lambda sp, x: x * (1 + sp.erf(x / sp.sqrt(2))) / 2,
    "softplus": _softplus,
    "elu": _elu,
    "silu": lambda sp, x: x / (1 + sp.exp(-x)),
    "abs": lambda sp, x: sp.Abs(x),
    "sign": lambda sp, x: _steps(sp)["sign"](x),
    "floor": lambda sp, x: _steps(sp)["floor"](x),
    "ceil": lambda sp, x: _steps(sp)["ceil"](x),
    "round": lambda sp, x: _steps(sp)["round"](x),
    "pow": lambda sp, x, e: x**e,
    "mul": lambda sp, a, b: a * b,
    "div": lambda sp, a, b: a / b,
    "add": lambda sp, a, b, alpha=None: a + (b if alpha is None else alpha * b),
    "sub": lambda sp, a, b, alpha=None: a - (b if alpha is None else alpha * b),
    "maximum": _extreme("max"),
    "minimum": _extreme("min"),
    "clamp": _clamp,
}


@lru_cache(maxsize=1)
def _steps(sp: Any) -> dict[str, Any]:
    """Step functions with derivative 0: what PyTorch's backward gives for them everywhere.

    SymPy's own ``sign`` would differentiate to ``2*DiracDelta(x)`` and ``floor`` to an
    unevaluated ``Derivative``; neither is what a gradient from torch can show. Each
    class carries a NumPy implementation so the formula can be evaluated numerically.
    """
    import numpy as np

    def step(name: str, impl: Callable[[Any], Any], exact: Callable[[Any], Any]) -> Any:
        def evaluate_number(cls: Any, arg: Any) -> Any:
            return exact(arg) if arg.is_Number else None

        return type(
            name,
            (sp.Function,),
            {
                "fdiff": lambda self, argindex=1: sp.S.Zero,
                "eval": classmethod(evaluate_number),
                "_imp_": staticmethod(impl),
            },
        )

    return {
        "sign": step("sign", np.sign, sp.sign),
        "floor": step("floor", np.floor, sp.floor),
        "ceil": step("ceil", np.ceil, sp.ceiling),
        # half to even, like torch.round (and Python's round)
        "round": step("round", np.round, lambda a: sp.Integer(round(float(a)))),
    }


@lru_cache(maxsize=1)
def _kinks() -> dict[str, Any]:
    """PyTorch's backward at each kink the formulas model, measured once in float64.

    Returns, for relu, leaky_relu and elu, whether the value at 0 is the right piece's
    slope (``True``) or the left piece's (``False``); for clamp, whether each bound
    itself counts as inside (slope 1); and for maximum/minimum, the share of the
    gradient each input gets at a tie (the value of the unit step at 0).
    """
    import torch
    import torch.nn.functional as F

    def slope(fn: Callable[[Any], Any], at: float) -> float:
        x = torch.tensor(at, dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(fn(x), x)
        return float(grad)

    tie = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    (tie_share,) = torch.autograd.grad(torch.maximum(tie, tie.detach()), tie)
    return {
        "relu": slope(F.relu, 0.0) == 1.0,
        "leaky_relu": slope(lambda x: F.leaky_relu(x, 0.25), 0.0) == 1.0,
        "elu": slope(lambda x: F.elu(x, 2.0), 0.0) == 1.0,
        "clamp_min": slope(lambda x: torch.clamp(x, 0.0, 1.0), 0.0) == 1.0,
        "clamp_max": slope(lambda x: torch.clamp(x, 0.0, 1.0), 1.0) == 1.0,
        "tie": float(tie_share),
    }


# --------------------------------------------------------------------------- tidy and print


def _tidy(sp: Any, df: Any) -> Any:
    """Simplify when affordable, and give the unit step torch's value at ties."""
    tie = _kinks()["tie"]
    if tie != 0.5 and df.has(sp.Heaviside):
        df = df.replace(sp.Heaviside, lambda z, *rest: sp.Heaviside(z, sp.nsimplify(tie)))
    ops = sp.count_ops(df)
    if ops <= MAX_SIMPLIFY_OPS:
        simpler = sp.simplify(df)
        # Keep the simpler form only if it is shorter and speaks the same functions:
        # exp(-x)/(1 + exp(-x))**2 reads better for sigmoid than 1/(4*cosh(x/2)**2).
        known = {type(f) for f in df.atoms(sp.Function)}
        new = {type(f) for f in simpler.atoms(sp.Function)} - known
        if sp.count_ops(simpler) < ops and not new:
            df = simpler
    return df


@lru_cache(maxsize=1)
def _printer_class(sp: Any) -> Any:
    from sympy.printing.str import StrPrinter

    class _Printer(StrPrinter):
        """SymPy's text printer, with piecewise values as Python-style conditionals."""

        def _print_Piecewise(self, expr: Any) -> str:
            *pieces, (last_value, last_cond) = expr.args
            text = self._print(last_value)
            if last_cond != sp.true:
                text = f"{text} if {self._print(last_cond)} else nan"
            for value, cond in reversed(pieces):
                text = f"{self._print(value)} if {self._print(cond)} else {text}"
            return f"({text})"

        def _print_Or(self, expr: Any) -> str:
            return " or ".join(self._print(a) for a in expr.args)

        def _print_And(self, expr: Any) -> str:
            return " and ".join(self._print(a) for a in expr.args)

    return _Printer


def _print(sp: Any, expr: Any) -> str:
    return _printer_class(sp)({"full_prec": False}).doprint(expr)
