"""The app's bridge to the engine: requests in, messages out, on a worker thread.

The app never calls :mod:`ops` on its UI thread. It builds a :class:`Request` from the
text on screen and hands it to :func:`compute` in a thread worker; everything that
happens there (the fields of the op, a result, a refusal, a curve) comes back as a
message the app handles on its own thread. :func:`load_engine` is the one place that
imports torch (through the engine), after the first screen has painted.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from textual.message import Message

from gradtui.ops.errors import InputError
from gradtui.ops.names import EXPRESSION, GRAD_OUTPUT, Groups, looks_like_op_name
from gradtui.ops.results import Curve, GradResult
from gradtui.tui.widgets.inputs import FieldSpec


@dataclass(frozen=True)
class Request:
    """One computation: a target, the texts of its inputs and the upstream gradient.

    Attributes:
        seq: Its number; only the newest request's answers are shown.
        target: A catalog name or an expression.
        texts: Input texts by name (missing ones take the op's defaults).
        v_text: The upstream gradient's text ("" for ones).
        second: Also sample f″ for the plot.
        reset: A new op was chosen: the fields take the request's texts.
        var: The input to plot along (``None``: the engine's choice).
        expression: The person is typing a custom expression: ``target`` is always an
            expression, even when it reads like an op name (``exp`` on the way to
            ``exp(x)``), so the expression field stays on screen.
    """

    seq: int
    target: str
    texts: dict[str, str]
    v_text: str
    second: bool
    reset: bool
    var: str | None = None
    expression: bool = False


@dataclass(frozen=True)
class Catalog:
    """What the app needs to know about the catalog, as plain data.

    Attributes:
        groups: Ops by category, for the picker and the palette.
        hints: Per op, a few words on each input (for tooltips and placeholders).
    """

    groups: Groups = field(default_factory=list)
    hints: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def names(self) -> frozenset[str]:
        """Every op name."""
        return frozenset(name for _, ops in self.groups for name, _ in ops)


class EngineLoaded(Message):
    """torch and the engine are imported; the catalog is ready."""

    def __init__(self, catalog: Catalog) -> None:
        super().__init__()
        self.catalog = catalog


class EngineFailed(Message):
    """The engine could not be imported (a broken torch install)."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


@dataclass
class FieldsReady(Message):
    """The input fields of a :class:`Request`'s target (known before its result)."""

    seq: int
    fields: list[FieldSpec]
    reset: bool


@dataclass
class Computed(Message):
    """The answer to a :class:`Request`: a result or an error."""

    seq: int
    target: str
    result: GradResult | None = None
    error: InputError | None = None
    seconds: float = 0.0


@dataclass
class CurveDone(Message):
    """The curve for a :class:`Request` (or why there is none)."""

    seq: int
    curve: Curve | None = None
    message: str | None = None


def load_engine() -> Catalog:
    """Import the engine (and with it torch) and describe its catalog.

    Raises:
        Exception: Whatever a broken install raises; the caller shows it.
    """
    # The cyclic garbage collector finds nothing to free among freshly imported modules,
    # yet its full passes over torch's million objects cost about an eighth of the
    # import, and later one pass of 0.1 s lands in the middle of the first computation.
    # So the first time (torch not loaded yet) it is off while torch loads, and what was
    # loaded is frozen out of its passes. (Only then: a later freeze, in a process that
    # has run apps before, would also freeze their garbage for good.)
    import sys

    first = "torch" not in sys.modules
    gc_was_on = gc.isenabled()
    if first:
        gc.disable()
    try:
        from gradtui.ops import catalog, curves, run  # noqa: F401 - imported here, off the UI thread
    finally:
        if first:
            gc.freeze()
            if gc_was_on:
                gc.enable()

    by_category = catalog.by_category()
    groups = [(category, [(s.name, s.summary) for s in specs]) for category, specs in by_category]
    hints = {
        s.name: {
            i.name: (i.doc or i.kind) + ("" if i.requires_grad else " (no grad)") for i in s.inputs
        }
        for _, specs in by_category
        for s in specs
    }
    return Catalog(groups, hints)


def compute(
    req: Request,
    catalog: Catalog,
    post: Callable[[Message], object],
    still_wanted: Callable[[], bool],
) -> None:
    """Run the engine for ``req``; every outcome is posted as a message.

    The fields go out first, so the inputs panel matches the op even if the run itself
    is later abandoned; then the result (or the refusal); then, if the request is still
    the newest (``still_wanted``), the curve. While SymPy is cold (the first computation
    of the process) the result goes out without its formula, and again with it once
    SymPy has answered, so the first graph does not wait for SymPy's import.

    Args:
        req: What to compute.
        catalog: The loaded catalog (to tell an op from an expression, and for hints).
        post: Thread-safe message delivery to the app.
        still_wanted: Whether a newer request has replaced this one.
    """
    from gradtui.ops import curves, formulas, prepare, run

    started = time.perf_counter()
    grad_output = req.v_text.strip() or None
    try:
        target = expression_target(req.target) if req.expression else req.target
        names = prepare.input_names(target)
        defaults = prepare.default_values(target)
        texts = {n: req.texts.get(n, defaults.get(n, "")) for n in names}
        hints = {} if req.expression else catalog.hints.get(req.target, {})
        fields: list[FieldSpec] = []
        if req.expression or req.target not in catalog.names:
            fields.append(FieldSpec(EXPRESSION, req.target, "an expression; free names are inputs"))
        fields += [FieldSpec(n, texts[n], hints.get(n, "")) for n in names]
        fields.append(FieldSpec(GRAD_OUTPUT, req.v_text, "upstream gradient (empty: ones)"))
        post(FieldsReady(req.seq, fields, req.reset))
        # The process's first formula costs half a second of SymPy: show the graph first.
        with_formula = formulas.warm()
        result = run.run(target, texts, grad_output=grad_output, formula=with_formula)
        if target != req.target:
            result = replace(result, target=req.target)
    except InputError as exc:
        post(Computed(req.seq, req.target, error=exc))
        return
    except Exception as exc:  # noqa: BLE001 - shown as a message, never a crash
        post(Computed(req.seq, req.target, error=_internal(exc)))
        return
    seconds = time.perf_counter() - started
    post(Computed(req.seq, req.target, result, None, seconds))
    if not with_formula and still_wanted():
        try:
            text = run.formula(target, texts)
        except Exception:  # noqa: BLE001 - the result stands without its formula
            text = None
        if text is not None:
            post(Computed(req.seq, req.target, replace(result, formula=text), None, seconds))
    if not still_wanted():
        return
    try:
        curve = curves.sample_curve(
            target,
            texts,
            grad_output=grad_output,
            second=req.second,
            var=req.var if req.var in texts else None,
        )
    except InputError as exc:
        post(CurveDone(req.seq, message=f"no curve: {exc.message}"))
    except Exception as exc:  # noqa: BLE001 - shown as a message, never a crash
        post(CurveDone(req.seq, message=f"no curve: {_internal(exc).message}"))
    else:
        post(CurveDone(req.seq, curve))


COMPUTE_NICE = 10
"""How much lower than the UI's the CPU priority of a computing thread is (Linux).

A heavy computation and the UI share the CPU (and, on a small machine, its only two
cores): with the engine's threads niced the scheduler gives a key press the CPU at
once, so the UI answers within milliseconds while the engine works on.
"""


def lower_priority() -> None:
    """Make the calling thread (and the threads it starts) yield the CPU to the UI.

    Linux only (``setpriority`` on a thread id); elsewhere, and where it is refused, a
    no-op. Threads started by this one (the engine's bounded workers) inherit it.
    """
    if sys.platform != "linux":
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(
            os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), COMPUTE_NICE)
        )
    except OSError:
        pass


FULL_GC_HELD = 1 << 30
"""The oldest generation's threshold while a computation runs: no automatic full passes."""


class FullCollections:
    """Holds back the garbage collector's full passes while a computation runs.

    A result keeps its tensors as nested lists (a million floats each for a 1000x1000
    tensor, dozens of them for a matmul chain), and a full pass of the collector visits
    every element of every list. Such a pass runs on whichever thread allocates when it
    comes due, mostly the UI thread, and holds the GIL throughout: during a 20-matmul chain
    on 1000x1000 tensors there were 19 of them, growing from 14 ms to 350 ms, and a key
    pressed during one waited for it.

    While held, only the young generations are collected (their passes visit only what
    was allocated since, each list at most twice); the full passes wait until the
    computation ends, when the old threshold comes back and the pass that is due runs
    once. Process-wide, so :meth:`release` must follow every :meth:`hold` (the app's
    unmount releases too).
    """

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None

    @property
    def held(self) -> bool:
        """Whether full passes are held back now."""
        return self._saved is not None

    def hold(self) -> None:
        """No automatic full pass until :meth:`release` (idempotent)."""
        if self._saved is not None:
            return
        self._saved = gc.get_threshold()
        gc.set_threshold(self._saved[0], self._saved[1], FULL_GC_HELD)

    def release(self) -> None:
        """The collector's own thresholds again (idempotent)."""
        if self._saved is None:
            return
        saved, self._saved = self._saved, None
        # Only ours is undone: someone else's change since (a test, the app's host) stays.
        if gc.get_threshold()[2] == FULL_GC_HELD:
            gc.set_threshold(*saved)


def expression_target(text: str) -> str:
    """The text to hand the engine for ``text`` typed as a custom expression.

    The engine reads a bare name as a catalog op (``exp``, or an unknown op ``x``). In
    expression mode a bare name is an expression: a free name (``x``, the identity) or a
    function the person has not called yet (``exp``, on the way to ``exp(x)``). The
    language says which, with its own message and column, and the engine gets the same
    expression in parentheses, which it cannot take for an op name.

    Raises:
        InputError: The language refuses the bare name (``'exp' is a function: call it``).
    """
    from gradtui.ops import language

    name = text.strip()
    if not looks_like_op_name(name):
        return text
    language.parse(text, field=EXPRESSION)
    return f"({name})"


def _internal(exc: BaseException) -> InputError:
    """An unexpected engine exception, as an error the screen can show."""
    return InputError(f"internal error ({type(exc).__name__}): {exc}")
