"""The snippet screen's client of the engine: numbered runs, a time bound, cancellation.

The explorer's :class:`~tui.engine_client.EngineClient` pattern, for snippets: every run
is numbered; a newer run stops the older one (at the interpreter's next statement or
backward node) and an answer for an older number is dropped. A run still unanswered
after :attr:`SnippetClient.timeout` seconds, or cancelled with Esc, is abandoned: its
:class:`~ops.timebound.TimeBound` is cancelled and the view says why. Runs happen on a
worker thread of the owner (the snippet screen); the answer comes back as a
:class:`~tui.messages.SnippetDone` message. Nothing here imports torch: the worker
imports the interpreter (and torch, if the explorer has not loaded it yet).
"""

from __future__ import annotations

import threading
import time
from functools import partial
from typing import Protocol

from textual.dom import DOMNode
from textual.timer import Timer
from textual.worker import get_current_worker

from gradtui.ops.errors import InputError
from gradtui.ops.results import SnippetResult
from gradtui.ops.timebound import ComputationTimeout, TimeBound
from gradtui.tui.compute import lower_priority
from gradtui.tui.messages import SnippetDone


class SnippetView(Protocol):
    """What the client tells the screen about the run in flight."""

    def show_running(self, seconds: float) -> None:
        """The newest run has taken ``seconds`` so far."""

    def show_abandoned(self, why: str) -> None:
        """The newest run was given up (timed out or cancelled)."""


class SnippetClient:
    """Runs snippets on worker threads, newest first, within a time bound.

    Args:
        owner: The node whose workers and timers run the snippets and which gets
            :class:`~tui.messages.SnippetDone` (the snippet screen).
        view: Told while a run takes time, and when one is abandoned.
        timeout: Seconds a run may take before it is abandoned (``0``: no bound), the
            app's bound, as for the explorer's computations.
    """

    def __init__(self, owner: DOMNode, view: SnippetView, timeout: float) -> None:
        self._owner = owner
        self._view = view
        self.timeout = timeout
        """Seconds a run may take before it is abandoned (``0``: no bound)."""
        self.seq = 0
        """The newest run's number."""
        self.done_seq = 0
        """The newest run answered or given up."""
        self._bounds: dict[int, TimeBound] = {}
        """The bound of each run in flight, by number, to stop it early."""
        self._sent = 0.0
        self._progress: Timer | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """Whether the newest run is still unanswered."""
        return self.done_seq < self.seq

    def run(self, text: str) -> int:
        """Run ``text``, replacing (and stopping) any older run; returns its number."""
        self.seq += 1
        seq = self.seq
        self.stop(before=seq)
        self._owner.run_worker(
            partial(self._work, seq, text),
            thread=True,
            group="snippet",
            exit_on_error=False,
        )
        if self.timeout > 0:
            self._owner.set_timer(self.timeout, partial(self._check_timeout, seq))
        self._sent = time.monotonic()
        if self._progress is None:
            self._progress = self._owner.set_interval(0.1, self._show_progress)
        self._view.show_running(0.0)
        return seq

    def is_current(self, seq: int) -> bool:
        """Whether an answer for run ``seq`` is to be shown."""
        return seq == self.seq and self.done_seq < seq

    def answered(self, seq: int) -> None:
        """Run ``seq``'s answer is on screen."""
        self.done_seq = max(self.done_seq, seq)
        self._end_progress()

    def cancel(self) -> bool:
        """Stop the running snippet (Esc); returns whether one was running."""
        if not self.running:
            return False
        self._abandon(f"cancelled after {time.monotonic() - self._sent:.1f} s (Esc)")
        return True

    def stop(self, before: int | None = None) -> None:
        """Tell the runs older than ``before`` (or all) to stop at their next statement."""
        with self._lock:
            bounds = list(self._bounds.items())
        for seq, bound in bounds:
            if before is None or seq < before:
                bound.cancel()

    def close(self) -> None:
        """Stop every run: the process must not wait for one when the app exits."""
        self.stop()
        self._end_progress()

    # ----------------------------------------------------------------- inside

    def _show_progress(self) -> None:
        if not self.running:
            self._end_progress()
            return
        self._view.show_running(time.monotonic() - self._sent)

    def _end_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _check_timeout(self, seq: int) -> None:
        if seq == self.seq and self.running:
            self._abandon(f"gave up after {self.timeout:g} s: this run was abandoned")

    def _abandon(self, why: str) -> None:
        self.done_seq = self.seq
        self.stop()
        self._end_progress()
        self._view.show_abandoned(why)

    def _work(self, seq: int, text: str) -> None:
        """On a worker thread: run ``text`` in its own bound and post the answer."""
        worker = get_current_worker()
        bound = TimeBound(0)  # no limit of its own: the client's timer decides
        with self._lock:
            self._bounds[seq] = bound
        try:
            if worker.is_cancelled or seq != self.seq or self.done_seq >= seq:
                return
            answer = bound.call(self._run_in_bound, seq, text)
        except ComputationTimeout:
            return  # stopped: a newer run, the time bound, Esc, or the app exiting
        finally:
            with self._lock:
                self._bounds.pop(seq, None)
        self._owner.post_message(answer)

    @staticmethod
    def _run_in_bound(seq: int, text: str) -> SnippetDone:
        """On the bound's thread: step aside for the UI, then run the snippet."""
        lower_priority()
        from gradtui.ops.snippet import run_snippet
        from gradtui.ops.snippet_syntax import SnippetRefused

        try:
            result: SnippetResult = run_snippet(text)
        except SnippetRefused as exc:
            return SnippetDone(seq, refused=(exc.line, exc.col, exc.message))
        except InputError as exc:
            return SnippetDone(seq, error=exc.message)
        except Exception as exc:  # noqa: BLE001 - shown as a message, never a crash
            return SnippetDone(seq, error=f"internal error ({type(exc).__name__}): {exc}")
        return SnippetDone(seq, result=result)
