"""Key-to-paint latency in a real terminal, at idle and while the engine computes.

``gradtui`` runs in a pty of 120x40 (:class:`terminal.PtyApp`), as in tmux. A key is
written as the bytes a terminal sends, and timed until bytes that only its answer
paints arrive:

* ``n`` / ``p``: the stepper's ``step K of N`` for the new position;
* ``?``: a line of the help screen (``Escape`` then closes it, untimed);
* ``ctrl+p``: the command palette's prompt (``Escape`` closes it, untimed).

The app opens on a 20-matmul chain ``x @ x @ … @ x`` with a 3x3 ``x``. Idle keys are
timed first: they are the baseline of the same run. Then ``x`` is typed (end of field,
``Enter``) as each heavy case, and the same keys are timed while the app computes it:

* ``chain``: ``x = randn(1000, 1000)`` for the chain (seconds of matmuls and recording,
  until the app's bound, ``GRADTUI_TIMEOUT``);
* ``big``: the custom expression ``x * exp(-x)`` with ``x = randn(1000, 1000)``: a
  result of million-number tensors arrives part-way, then seconds of curve.

Only keys sent before the computation ended count (the status line says ``computing``
while it runs, and stops saying it when it ends or the app gives up).
"""

from __future__ import annotations

import time

from terminal import KEYS, PtyApp

CHAIN = " @ ".join(["x"] * 21)
"""20 matmuls, the issue's expression."""
SMALL = "randn(3, 3)"
HEAVY = "randn(1000, 1000)"
HELP_MARK = b"what it does"
"""The key table's header on the help screen."""
PALETTE_MARK = b"for commands"
"""The command palette's prompt (its first letter is under the cursor)."""
WINDOW_S = 8.0
"""For an app that does not say it is computing: keys in this many seconds after the edit."""
TIMEOUT_S = 12
"""The app's bound for the benchmark: long enough to time many keys during one computation."""


def _time_key(app: PtyApp, key: bytes, marker: bytes, timeout: float = 10.0) -> float:
    """Milliseconds from writing ``key`` until ``marker`` arrives (written after the key)."""
    before = len(app._seen)
    sent = time.perf_counter()
    app.send(key)
    deadline = sent + timeout
    while time.perf_counter() < deadline:
        at = app._seen.find(marker, before)
        if at >= 0:
            # The time of the read that brought the marker's first byte.
            total = 0
            for when, data in app.chunks:
                total += len(data)
                if total > at:
                    return (app.started + when - sent) * 1000
        app.read(0.002)
    raise TimeoutError(f"{marker!r} did not arrive after {key!r}")


def _round(app: PtyApp, step: list[int], total: int, out: dict[str, list[float]]) -> None:
    """One of each key: n or p (whichever moves), ?, then ctrl+p; each closed again."""
    key = b"n" if step[0] == 1 else b"p"
    step[0] = 2 if step[0] == 1 else 1
    shown = f"step {step[0]} of {total}".encode()
    out["np"].append(_time_key(app, key, shown))
    out["help"].append(_time_key(app, b"?", HELP_MARK))
    _time_key(app, KEYS["escape"], shown)  # closed: the main screen is painted again
    out["palette"].append(_time_key(app, b"\x10", PALETTE_MARK))
    _time_key(app, KEYS["escape"], shown)


def _wait_since(app: PtyApp, since: int, marker: bytes, timeout: float = 30.0) -> None:
    """Read until ``marker`` has been written after byte ``since`` of the output."""
    deadline = time.perf_counter() + timeout
    while app._seen.find(marker, since) < 0:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{marker!r} did not appear within {timeout:g} s")
        app.read(0.02)


def _set_x(app: PtyApp, text: str) -> None:
    """Replace ``x``'s text from the step list: to the field, clear it, type, Enter."""
    app.send(KEYS["shift+tab"] * 2)
    app.drain(quiet=0.1)
    _type(app, text)


def _type(app: PtyApp, text: str) -> None:
    """In the focused field: ctrl+a (line start), ctrl+k (delete to the end), ``text``, Enter."""
    for key in (b"\x01", b"\x0b", text.encode(), KEYS["enter"]):
        app.send(key)
        app.drain(quiet=0.05)


def key_latency(gradtui: str, rounds: int) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per key, by case (``idle``, ``chain``, ``big``) and key kind."""
    results: dict[str, dict[str, list[float]]] = {}
    for case in ("idle", "chain", "big"):
        out: dict[str, list[float]] = {"np": [], "help": [], "palette": []}
        app = PtyApp(
            [gradtui, CHAIN, "--set", f"x={SMALL}"],
            cols=120,
            rows=40,
            env={"GRADTUI_TIMEOUT": str(TIMEOUT_S)},
        )
        app.start()
        try:
            app.wait_for(b"step 1 of 21")
            app.drain(quiet=0.5)
            step = [1]
            if case == "idle":
                for _ in range(rounds):
                    _round(app, step, 21, out)
            else:
                if case == "big":
                    app.send(KEYS["shift+tab"] * 3)  # the expression field
                    app.drain(quiet=0.1)
                    since = len(app._seen)
                    _type(app, "x * exp(-x)")
                    _wait_since(app, since, b"step 1 of 4")
                    app.drain(quiet=0.5)
                total = 21 if case == "chain" else 4
                since = len(app._seen)
                _set_x(app, HEAVY)
                edited = time.perf_counter()
                try:
                    _wait_since(app, since, b"computing", timeout=2)
                    window = None
                except TimeoutError:  # an app that does not say so: time a fixed window
                    window = WINDOW_S
                began = len(app._seen)
                while True:
                    kept = {k: len(v) for k, v in out.items()}
                    _round(app, step, total, out)
                    # Keep the round only if the app was still computing at its end.
                    tail = bytes(app._seen[began:])
                    if (window is not None and time.perf_counter() - edited > window) or (
                        window is None and not _still_computing(tail)
                    ):
                        for k, n in kept.items():
                            del out[k][n:]
                        break
                    if len(out["np"]) >= rounds * 4:
                        break
        finally:
            app.close(b"\x11")  # ctrl+q: q would go to a field
        results[case] = out
    return results


def _still_computing(tail: bytes) -> bool:
    """Whether the status line's last word in ``tail`` is still "computing"."""
    last_computing = tail.rfind(b"computing")
    last_end = max(tail.rfind(b"gave up"), tail.rfind(b"differentiable"), tail.rfind(b"no curve"))
    return last_computing > last_end


def main() -> None:
    """Print p50/p95 per case and key (``python tests/benchmarks/keys.py [ROUNDS]``)."""
    import sys
    from pathlib import Path

    from latency import percentile

    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    gradtui = str(Path(sys.executable).parent / "gradtui")
    res = key_latency(gradtui, rounds)
    for case, out in res.items():
        for kind, ms in out.items():
            if ms:
                print(
                    f"{case:6} {kind:8} n={len(ms):3} p50={percentile(ms, 50):7.1f} "
                    f"p95={percentile(ms, 95):7.1f} max={max(ms):7.1f}"
                )
            else:
                print(f"{case:6} {kind:8} n=0")


if __name__ == "__main__":
    main()
