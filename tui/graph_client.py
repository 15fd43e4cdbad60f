"""J and H·u for the app, computed off the UI thread within the app's time bound.

The explorer's ``j`` (the Jacobian screen) and ``h`` (the backward of the backward) ask
:mod:`gradtui.ops.graph` for the op and inputs on screen. The work runs on a worker
thread, under a :class:`~gradtui.ops.timebound.TimeBound` of the app's bound that Esc
cancels; the answer comes back as a :class:`GraphDone` message, a result or the reason
there is none (never an exception). Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from textual.dom import DOMNode
from textual.message import Message

from gradtui.ops.errors import InputError
from gradtui.ops.timebound import TimeBound
from gradtui.tui.compute import lower_priority

__all__ = ["GraphDone", "GraphJob"]


@dataclass
class GraphDone(Message):
    """The answer to a :class:`GraphJob`: ``kind`` is ``"jacobian"`` or ``"hvp"``."""

    kind: str
    job: int
    result: Any = None
    error: str = ""


class GraphJob:
    """One J or H·u computation for ``owner``, which gets :class:`GraphDone`.

    Args:
        owner: The screen whose worker runs it and which gets the answer.
        kind: ``"jacobian"`` (for the screen, capped at the screen's size) or ``"hvp"``.
        target: The op or expression on screen.
        texts: The input texts on screen.
        v_text: The upstream gradient's text ("" for ones).
        timeout: Seconds it may take (``0``: no bound).
    """

    _count = 0

    def __init__(
        self,
        owner: DOMNode,
        kind: str,
        target: str,
        texts: Mapping[str, str],
        v_text: str,
        timeout: float,
    ) -> None:
        GraphJob._count += 1
        self.number = GraphJob._count
        self.kind = kind
        self._owner = owner
        self._args = (target, dict(texts), v_text.strip() or None)
        self._bound = TimeBound(timeout if timeout > 0 else None)
        owner.run_worker(self._run, thread=True, group=f"graph-{kind}", exit_on_error=False)

    def cancel(self) -> None:
        """Stop it (at torch's next node); the answer says it was cancelled."""
        self._bound.cancel()

    def _run(self) -> None:
        lower_priority()
        try:
            result = self._bound.call(self._compute)
        except InputError as exc:
            self._owner.post_message(GraphDone(self.kind, self.number, error=exc.message))
        except Exception as exc:  # noqa: BLE001 - shown as a message, never a crash
            self._owner.post_message(
                GraphDone(
                    self.kind, self.number, error=f"internal error ({type(exc).__name__}): {exc}"
                )
            )
        else:
            self._owner.post_message(GraphDone(self.kind, self.number, result))

    def _compute(self) -> Any:
        from gradtui.ops import graph

        target, texts, v = self._args
        if self.kind == "jacobian":
            return graph.jacobian(
                target, texts, grad_output=v, max_entries=graph.MAX_SCREEN_ENTRIES
            )
        return graph.hvp(target, texts, grad_output=v)
