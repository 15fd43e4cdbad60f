"""What runs on the engine's worker thread: requests in, messages out.

The app never calls :mod:`ops` on its UI thread. :class:`~tui.engine_client.EngineClient`
hands a :class:`~tui.messages.Request` to :func:`compute` in a thread worker; everything
that happens there (the fields of the op, a result, a refusal, a curve) comes back as a
message (:mod:`tui.messages`) the explorer screen handles on the UI thread.
:func:`load_engine` is the one place that imports torch (through the engine), after the
first screen has painted.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import replace

from textual.message import Message

from gradtui.ops.errors import InputError
from gradtui.ops.names import EXPRESSION, GRAD_OUTPUT, looks_like_op_name
from gradtui.tui.messages import Catalog, Computed, CurveDone, FieldsReady, Request
from gradtui.tui.widgets.inputs import FieldSpec


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

    # The seed's ops first, then the generated ops by namespace and topic; the data file
    # is read here, on the worker thread, never at first paint.
    by_category = catalog.all_ops()
    groups = [(category, [(s.name, s.summary) for s in specs]) for category, specs in by_category]
    signatures = {
        s.name: s.signature or f"{s.name}({', '.join(i.name for i in s.inputs)})"
        for _, specs in by_category
        for s in specs
    }
    hints = {
        s.name: {
            i.name: (i.doc or i.kind) + ("" if i.requires_grad else " (no grad)") for i in s.inputs
        }
        for _, specs in by_category
        for s in specs
    }
    return Catalog(groups, hints, signatures)


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
    post(Computed(req.seq, req.target, result))
    if not with_formula and still_wanted():
        try:
            text = run.formula(target, texts)
        except Exception:  # noqa: BLE001 - the result stands without its formula
            text = None
        if text is not None:
            post(Computed(req.seq, req.target, replace(result, formula=text)))
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
