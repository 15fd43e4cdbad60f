"""Snippets: pasted PyTorch code run statement by statement, the way Python would.

:func:`run_snippet` checks the whole snippet first (:mod:`ops.snippet_syntax`; nothing
runs if any statement is refused), then walks its statements in order in one namespace,
calling the real torch. The walk is an interpreter over the checked tree, never ``exec``:
names live in a dict, attributes and calls go through :mod:`ops.snippet_names`'s literal
tables, and Python's operators through :mod:`operator`, with bounds on sizes first.

- ``print`` output is captured as Python's ``print`` writes it (``str`` of each value,
  torch's own print options).
- The first statement that raises stops the run; its exception type and message are
  kept as torch wrote them, with plain words where the values at hand say more.
- Each ``.backward()`` and ``torch.autograd.grad`` call is recorded node by node by the
  recorder the rest of gradtui uses (:func:`ops.backward.record_call`).
- A trailing comment on a line whose statement prints is a claim about what it prints,
  and is checked (:class:`ops.results.Claim`).

Random draws are seeded with ``torch.manual_seed(0)`` at the start, inside
``torch.random.fork_rng``, so a run repeats and torch's global generator is untouched.
"""

from __future__ import annotations

import ast
import math
import operator
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from gradtui.ops import snippet_bounds as bounds
from gradtui.ops import snippet_names as names
from gradtui.ops import spelling, timebound
from gradtui.ops.backward import record_call
from gradtui.ops.errors import InputError
from gradtui.ops.evaluator import is_named_tuple, on_meta
from gradtui.ops.results import (
    BackwardRecord,
    GraphNode,
    SnippetError,
    SnippetResult,
    SnippetStatement,
)
from gradtui.ops.snippet_bounds import MAX_INT_BITS, MAX_TENSOR_ITEMS, MAX_TEXT_CHARS
from gradtui.ops.snippet_claims import check_claims, collapse
from gradtui.ops.snippet_syntax import (
    MODULES,
    Program,
    SnippetRefused,
    full_path,
    is_print,
    module_path,
    parse_snippet,
)
from gradtui.ops.snippet_why import explain
from gradtui.ops.source import MAX_ELEMENTS

__all__ = ["MAX_INT_BITS", "collapse", "parse_snippet", "run_bounded", "run_snippet"]

MAX_MESSAGE_CHARS = 2000

_META_THRESHOLD = math.isqrt(MAX_ELEMENTS)
_CONSTRUCTORS = frozenset(
    "zeros ones empty full rand randn randint randperm normal eye arange linspace logspace "
    "tensor as_tensor".split()
)

_CONVERSIONS: dict[int, Callable[[Any], str]] = {-1: lambda v: v, 115: str, 114: repr, 97: ascii}

_run_lock = threading.Lock()  # warnings.catch_warnings and fork_rng change process state


class _Module:
    """A module name a snippet imported (``torch``, ``F``, ``nn``): only dotted further."""

    def __init__(self, path: tuple[str, ...]):
        self.path = path

    def __repr__(self) -> str:
        return f"<module '{'.'.join(self.path)}'>"


@dataclass(frozen=True)
class _Stop:
    """Where the run stopped and why."""

    line: int
    error: SnippetError
    refused: tuple[int, int, str] | None


@dataclass
class _Outcome:
    """What one statement did while it ran (mutable while it runs)."""

    printed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def run_snippet(text: str, *, seed: int = 0) -> SnippetResult:
    """Check ``text`` and run it statement by statement with the real torch.

    Args:
        text: The snippet as pasted.
        seed: ``torch.manual_seed`` at the start (inside ``fork_rng``), so a run repeats.

    Returns:
        Every statement with what it printed, what it raised and its claims checked, and
        every backward pass recorded.

    Raises:
        SnippetRefused: A statement the language does not take; nothing has run.
        ComputationTimeout: From a :class:`ops.timebound.TimeBound` the caller runs it in.
    """
    program = parse_snippet(text)
    with _run_lock, torch.random.fork_rng(devices=[]), torch.enable_grad():
        torch.manual_seed(seed)
        return _Runner(program).run()


def run_bounded(text: str, *, timeout: float | None = None, seed: int = 0) -> SnippetResult:
    """:func:`run_snippet` within a time bound (``timeout`` seconds, or ``GRADTUI_TIMEOUT``,
    or :data:`ops.timebound.DEFAULT_TIMEOUT_S`), as every computation of gradtui runs.

    Raises:
        SnippetRefused: As :func:`run_snippet`; checked before the bound starts.
        ComputationTimeout: The run took longer than the bound.
    """
    parse_snippet(text)  # refusals are answered at once, outside the bound
    return timebound.TimeBound(timeout).call(run_snippet, text, seed=seed)


class _Runner:
    """One run of one checked snippet: the namespace, the walk, the records."""

    def __init__(self, program: Program):
        self.program = program
        self.ns: dict[str, Any] = {}
        self.origins: dict[str, tuple[str, bool]] = {}
        self.backwards: list[BackwardRecord] = []
        self.outcomes: dict[int, _Outcome] = {}  # by id() of the statement node
        self.output: list[str] = []
        self.line = 0
        self.stop: _Stop | None = None
        self.printed_chars = 0

    # -- statements

    def run(self) -> SnippetResult:
        statements = [self.statement(node) for node in self.program.tree.body]
        stop = self.stop
        return SnippetResult(
            statements=tuple(statements),
            stopped_at=None if stop is None else stop.line,
            backwards=tuple(self.backwards),
            refused=None if stop is None else stop.refused,
            output="".join(self.output),
        )

    def statement(self, node: ast.stmt) -> SnippetStatement:
        line, end = node.lineno, node.end_lineno or node.lineno
        if self.stop is not None:
            body = tuple(self.statement(b) for b in getattr(node, "body", ()))
            return self.finish(node, "not reached", body=body)
        outcome = self.outcomes.setdefault(id(node), _Outcome())
        if isinstance(node, ast.With):
            contexts = [names.WITH_CONTEXTS[full_path(module_path(item.context_expr.func))]
                        for item in node.items]  # fmt: skip
            self.line = line
            try:
                with _entered(contexts):
                    body = tuple(self.statement(b) for b in node.body)
            except Exception as exc:  # noqa: BLE001 - entering or leaving the block raised
                body = ()
                self.fail(exc, node, line)
            status = (
                "raised"
                if self.stop is not None and self.stop.line in range(line, end + 1)
                else "ran"
            )
            return self.finish(node, status, body=body)
        self.line = line
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                self.execute(node, outcome)
            except Exception as exc:  # noqa: BLE001 - the statement raised: that is the answer
                self.fail(exc, node, line)
        outcome.warnings.extend(
            f"{w.category.__name__}: {w.message}" for w in caught if w.category is not None
        )
        status = "raised" if self.stop is not None and self.stop.line == line else "ran"
        return self.finish(node, status)

    def fail(self, exc: Exception, node: ast.stmt, line: int) -> None:
        if isinstance(exc, SnippetRefused):
            error = SnippetError("refused", exc.message)
            self.stop = _Stop(exc.line, error, (exc.line, exc.col, exc.message))
            return
        if isinstance(exc, InputError):
            error = SnippetError("refused", exc.message)
            col = node.col_offset + 1
            self.stop = _Stop(line, error, (line, col, exc.message))
            return
        message = (str(exc) or type(exc).__name__)[:MAX_MESSAGE_CHARS]
        why = explain(exc, node, self)
        self.stop = _Stop(line, SnippetError(type(exc).__name__, message, why), None)

    def finish(
        self, node: ast.stmt, status: str, body: tuple[SnippetStatement, ...] = ()
    ) -> SnippetStatement:
        line, end = node.lineno, node.end_lineno or node.lineno
        outcome = self.outcomes.get(id(node), _Outcome())
        error = None
        if self.stop is not None and status == "raised" and not body:
            error = self.stop.error
        elif body and status == "raised":
            error = self.stop.error if self.stop is not None else None
        printed = tuple(outcome.printed)
        if body:
            printed = tuple(p for b in body for p in b.printed)
        if body:
            claims = tuple(c for b in body for c in b.claims)
        elif is_print(node):
            stop_line = None if self.stop is None else self.stop.line
            claims = check_claims(self.program.comments, node, status, printed, stop_line)
        else:
            claims = ()
        return SnippetStatement(
            line=line,
            end_line=end,
            source=self.program.source(node),
            status=status,
            printed=printed,
            error=error,
            claims=claims,
            warnings=tuple(outcome.warnings) + tuple(w for b in body for w in b.warnings),
            body=body,
        )

    def execute(self, node: ast.stmt, outcome: _Outcome) -> None:
        timebound.check()
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                path = MODULES[alias.asname] if alias.asname else ("torch",)
                self.ns[bound] = _Module(path)
            return
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                bound = alias.asname or alias.name
                self.ns[bound] = _Module(MODULES[bound])
            return
        if isinstance(node, ast.Assign):
            value = self.value(node.value)
            for target in node.targets:
                self.assign(target, value, node.value)
            return
        if isinstance(node, ast.AugAssign):
            target = node.target
            assert isinstance(target, ast.Name)  # checked by the parser
            current = self.name(target)
            right = self.value(node.value)
            result = self.binary(node.op, current, right, node, in_place=True)
            self.assign(target, result, node)
            return
        if isinstance(node, ast.Expr):
            if is_print(node):
                self.print(node.value, outcome)
                return
            self.value(node.value)
            return
        raise self.refuse(f"'{type(node).__name__}' is not allowed", node)  # pragma: no cover

    def assign(self, target: ast.expr, value: Any, source: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.ns[target.id] = value
            self.origins[target.id] = (self.program.source(source), torch.is_grad_enabled())
            return
        assert isinstance(target, (ast.Tuple, ast.List))  # checked by the parser
        want = len(target.elts)
        if not _iterable(value):
            raise TypeError(f"cannot unpack non-iterable {type(value).__name__} object")
        if isinstance(value, torch.Tensor) and value.dim() == 0:
            raise TypeError("iteration over a 0-d tensor")
        if len(value) > want:  # before taking it apart: a tensor of 10**6 rows is 10**6 objects
            raise ValueError(f"too many values to unpack (expected {want})")
        items = list(value)
        if len(items) > want:
            raise ValueError(f"too many values to unpack (expected {want})")
        if len(items) < want:
            raise ValueError(f"not enough values to unpack (expected {want}, got {len(items)})")
        for elt, item in zip(target.elts, items, strict=True):
            self.assign(elt, item, source)

    def print(self, call: ast.Call, outcome: _Outcome) -> None:
        args = [self.value(a) for a in call.args]
        sep, end = " ", "\n"
        for kw in call.keywords:
            got = self.value(kw.value)
            if kw.arg in ("sep", "end"):
                if got is not None and not isinstance(got, str):
                    raise TypeError(f"{kw.arg} must be None or a string, not {type(got).__name__}")
                if kw.arg == "sep":
                    sep = " " if got is None else got
                else:
                    end = "\n" if got is None else got
        extra = len(sep) * max(len(args) - 1, 0) + len(end)
        self.check(bounds.text_size(args, extra), call)
        text = sep.join(str(a) for a in args) + end
        self.printed_chars += len(text)
        if self.printed_chars > MAX_TEXT_CHARS:
            raise self.refuse(
                f"the snippet printed too much (over {MAX_TEXT_CHARS} characters in all)", call
            )
        self.output.append(text)
        outcome.printed.append(text.removesuffix("\n"))

    # -- expressions

    def value(self, node: ast.expr) -> Any:  # noqa: C901 - one dispatch over node kinds
        timebound.check()
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.List):
            return self.sized([self.value(e) for e in node.elts], node)
        if isinstance(node, ast.Tuple):
            return tuple(self.value(e) for e in node.elts)
        if isinstance(node, ast.JoinedStr):
            return self.fstring(node)
        if isinstance(node, ast.UnaryOp):
            return names.UNARY[type(node.op)](self.value(node.operand))
        if isinstance(node, ast.BinOp):
            return self.binary(node.op, self.value(node.left), self.value(node.right), node)
        if isinstance(node, ast.BoolOp):
            result = self.value(node.values[0])
            for part in node.values[1:]:
                if isinstance(node.op, ast.And) and not result:
                    return result
                if isinstance(node.op, ast.Or) and result:
                    return result
                result = self.value(part)
            return result
        if isinstance(node, ast.Compare):
            left = self.value(node.left)
            result: Any = True
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = self.value(comparator)
                result = names.COMPARE[type(op)](left, right)
                if len(node.ops) > 1 and not result:
                    return result
                left = right
            return result
        if isinstance(node, ast.IfExp):
            return self.value(node.body) if self.value(node.test) else self.value(node.orelse)
        if isinstance(node, ast.Subscript):
            obj, key = self.value(node.value), self.index(node.slice)
            if isinstance(obj, torch.Tensor) and bounds.index_count(obj, key) > MAX_ELEMENTS:
                self.dry_run(operator.getitem, (obj, key), {}, node)
            return self.sized(operator.getitem(obj, key), node)
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.refuse(f"'{type(node).__name__}' is not allowed", node)  # pragma: no cover

    def name(self, node: ast.Name) -> Any:
        if node.id in self.ns:
            value = self.ns[node.id]
            if isinstance(value, _Module):
                raise self.refuse(f"the module '{node.id}' is only used as {node.id}.name", node)
            return value
        raise NameError(f"name '{node.id}' is not defined")

    def index(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Slice):
            parts = (node.lower, node.upper, node.step)
            return slice(*(None if p is None else self.value(p) for p in parts))
        if isinstance(node, ast.Tuple):
            return tuple(self.index(e) for e in node.elts)
        return self.value(node)

    def fstring(self, node: ast.JoinedStr) -> str:
        out = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                out.append(part.value)
                continue
            assert isinstance(part, ast.FormattedValue)  # checked by the parser
            raw = self.value(part.value)
            self.check(bounds.text_size([raw], sum(map(len, out))), part)
            value = _CONVERSIONS[part.conversion](raw)
            spec = ""
            if part.format_spec is not None:
                spec = "".join(p.value for p in part.format_spec.values)  # constants (checked)
            out.append(format(value, spec))
            self.check(bounds.text_size([], sum(map(len, out))), part)
        return self.sized("".join(out), node)

    def binary(
        self, op: ast.operator, left: Any, right: Any, node: ast.AST, *, in_place: bool = False
    ) -> Any:
        kind = type(op)
        if isinstance(left, str) and kind is ast.Mod:
            raise self.refuse("'%' formatting is not taken: write an f-string, f'{x:.4f}'", node)
        self.check(bounds.python_size(kind, left, right), node)
        fn = (names.IN_PLACE_BINARY if in_place else names.BINARY)[kind]
        if _tensors_in((left, right)) and bounds.size_bound([left, right]) > _META_THRESHOLD:
            self.dry_run(names.BINARY[kind], (left, right), {}, node)
        return self.sized(fn(left, right), node)

    def attribute(self, node: ast.Attribute) -> Any:
        path = module_path(node)
        if path is not None:
            self.module(path[0], node)
            return names.CONSTANT_VALUES[full_path(path)]
        obj = self.value(node.value)
        name = node.attr
        if isinstance(obj, torch.Tensor):
            getter = names.TENSOR_VALUES.get(name) or spelling.tensor_property(name)
            if getter is not None:
                return getter(obj)
        elif is_named_tuple(obj) and name in spelling.FIELDS:
            return spelling.FIELDS[name](obj)
        elif isinstance(obj, torch.autograd.graph.Node) and name in names.NODE_VALUES:
            return names.NODE_VALUES[name](obj)
        if obj is None:  # x.grad before backward: Python's own error, whatever the name
            raise AttributeError(f"'NoneType' object has no attribute '{name}'")
        raise self.refuse(names.not_on(name, obj, call=False), node)

    def module(self, name: str, node: ast.AST) -> None:
        if not isinstance(self.ns.get(name), _Module):
            if name in self.ns:
                raise self.refuse(
                    f"'{name}' is a {type(self.ns[name]).__name__} here, not a module", node
                )
            raise NameError(f"name '{name}' is not defined")

    def call(self, node: ast.Call) -> Any:
        func = node.func
        if isinstance(func, ast.Name):
            fn = names.BUILTINS[func.id]  # checked by the parser
            args, kwargs = self.arguments(node)
            if func.id in ("list", "tuple", "sum", "min", "max") and args:
                self.check(bounds.items_size(args[0]), node)
            if func.id in ("str", "repr"):
                self.check(bounds.text_size(args[:1]), node)
            if func.id == "sum" and (len(args) > 1 or kwargs):
                raise self.refuse("sum(...) takes one argument here (no start value)", node)
            return self.sized(fn(*args, **kwargs), node)
        assert isinstance(func, ast.Attribute)  # checked by the parser
        path = module_path(func)
        if path is not None:
            self.module(path[0], func)
            return self.module_call(full_path(path), node)
        obj = self.value(func.value)
        name = func.attr
        if obj is None:  # x.grad.sum() before backward: Python's own error, whatever the name
            raise AttributeError(f"'NoneType' object has no attribute '{name}'")
        args, kwargs = self.arguments(node)  # after the method's lookup, as Python does
        if isinstance(obj, torch.Tensor):
            if name == "backward":
                return self.recorded(node, (obj,), lambda: obj.backward(*args, **kwargs))
            method = (
                names.IN_PLACE.get(name)
                or names.TENSOR_EXTRAS.get(name)
                or spelling.tensor_method(name)
            )
            if method is not None:
                return self.guarded(method, (obj, *args), kwargs, node)
        elif isinstance(obj, torch.autograd.graph.Node) and name in names.NODE_METHODS:
            return names.NODE_METHODS[name](obj, *args, **kwargs)
        raise self.refuse(names.not_on(name, obj, call=True), func)

    def module_call(self, path: tuple[str, ...], node: ast.Call) -> Any:
        args, kwargs = self.arguments(node)
        if path in names.RECORDED:
            outputs = args[0] if args else kwargs.get("outputs", kwargs.get("tensors"))
            roots = (outputs,) if isinstance(outputs, torch.Tensor) else tuple(outputs or ())
            fn = names.SCRIPT_FUNCTIONS[path]
            return self.recorded(node, roots, lambda: fn(*args, **kwargs))
        if path in names.SCRIPT_FUNCTIONS:
            fn = names.SCRIPT_FUNCTIONS[path]
            self.check(bounds.constructor_size(path, args, kwargs), node)
            if path[-1] in _CONSTRUCTORS and bounds.size_bound([*args, *kwargs.values()]) > (
                _META_THRESHOLD
            ):
                self.dry_run(fn, args, {**kwargs, "device": "meta"}, node)
            if path in names.SIZED_FUNCTIONS or path[-1] in _CONSTRUCTORS:
                return self.sized(fn(*args, **kwargs), node)
            return self.guarded(fn, args, kwargs, node)
        key = names.spelling_key(path)
        fn = spelling.function(key) if key is not None else None
        if fn is None:  # pragma: no cover - the parser refused it
            raise self.refuse(f"'{'.'.join(path)}' is not taken", node)
        return self.guarded(fn, args, kwargs, node)

    def arguments(self, node: ast.Call) -> tuple[list[Any], dict[str, Any]]:
        args = [self.value(a) for a in node.args]
        kwargs = {kw.arg: self.value(kw.value) for kw in node.keywords if kw.arg is not None}
        for key in kwargs:
            if key in spelling.REFUSED_KEYWORDS and key not in ("inplace", "copy"):
                raise self.refuse(f"{key}= is not taken: {spelling.REFUSED_KEYWORDS[key]}", node)
        return args, kwargs

    def guarded(
        self, fn: Callable[..., Any], args: Any, kwargs: dict[str, Any], node: ast.AST
    ) -> Any:
        """``fn(*args, **kwargs)``, after a dry run on the meta device when the arguments
        are big enough that the result could pass :data:`MAX_ELEMENTS`."""
        values = [*args, *kwargs.values()]
        self.check(bounds.call_size(fn, list(args), kwargs), node)
        if bounds.size_bound(values) > _META_THRESHOLD:
            out = self.dry_run(fn, args, kwargs, node)
            self.check(bounds.call_size(fn, list(args), kwargs, out), node)
        return self.sized(fn(*args, **kwargs), node)

    def dry_run(
        self, fn: Callable[..., Any], args: Any, kwargs: dict[str, Any], node: ast.AST
    ) -> Any:
        """``fn`` on the meta device (shapes only, no data), its result checked for size;
        ``None`` when torch cannot run it there (then the real call is checked after)."""
        for convert in (bounds.sized_ints, on_meta):  # sizes given as tensors: as torch reads them
            try:
                out = fn(*convert(list(args)), **convert(kwargs))
            except Exception:  # noqa: BLE001 - the real call raises torch's own error, if any
                continue
            return self.sized(out, node)
        return None

    def sized(self, value: Any, node: ast.AST) -> Any:
        """``value``, refused when it holds more than :data:`MAX_ELEMENTS` elements."""
        items = value if isinstance(value, (tuple, list)) and len(value) <= 64 else (value,)
        for item in items:
            if isinstance(item, torch.Tensor):
                count = item.numel()
            elif isinstance(item, str):
                count = len(item)
            elif isinstance(item, (list, tuple)):
                count = bounds.nested_count(item, {})
                if bounds.tensors_held(item) > MAX_TENSOR_ITEMS:
                    raise self.refuse(
                        f"this value holds too many tensors (at most {MAX_TENSOR_ITEMS})", node
                    )
            else:
                continue
            if count > MAX_ELEMENTS:
                raise self.refuse(
                    f"this value is too large: over {MAX_ELEMENTS} elements (at most "
                    f"{MAX_ELEMENTS} are taken)",
                    node,
                )
        return value

    def recorded(self, node: ast.Call, roots: tuple[Any, ...], run: Callable[[], Any]) -> Any:
        leaves = {
            n: v
            for n, v in self.ns.items()
            if isinstance(v, torch.Tensor) and v.is_leaf and v.requires_grad
        }
        tensors = tuple(r for r in roots if isinstance(r, torch.Tensor))
        graph: list[GraphNode] = []
        value, steps = record_call(tensors, run, leaves, graph_out=graph)
        self.backwards.append(
            BackwardRecord(self.line, self.program.source(node), steps, tuple(graph))
        )
        return value

    def check(self, refusal: str | None, node: ast.AST) -> None:
        """Raise ``refusal`` (a bound's message) at ``node``, if there is one."""
        if refusal is not None:
            raise self.refuse(refusal, node)

    def refuse(self, message: str, node: ast.AST) -> SnippetRefused:
        return SnippetRefused(
            message, line=getattr(node, "lineno", self.line), col=getattr(node, "col_offset", 0) + 1
        )


@contextmanager
def _entered(contexts: list[Callable[[], Any]]) -> Iterator[None]:
    if not contexts:
        yield
        return
    with contexts[0](), _entered(contexts[1:]):
        yield


def _iterable(value: Any) -> bool:
    return isinstance(value, (torch.Tensor, list, tuple, str)) or is_named_tuple(value)


def _tensors_in(values: Any) -> bool:
    return any(isinstance(v, torch.Tensor) for v in values)
