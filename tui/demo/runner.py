"""The three ways to play a script: live, headless, and ``--check``.

:mod:`tui.cli` reads the command line and calls :func:`play`; errors that end the command
are raised as :class:`~tui.demo.script.ScriptError` (``FILE:LINE: what``, with the exit
status), for the command line to print as it prints every error.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from gradtui.tui.demo.player import SETTLE_TIMEOUT, DemoApp, DemoFailed, Player
from gradtui.tui.demo.script import Script, ScriptError, load_script

DEFAULT_SIZE = (120, 36)
"""Headless screen size: wide enough that the steps and the plot show side by side."""


async def play_headless(
    script: Script,
    *,
    size: tuple[int, int] = DEFAULT_SIZE,
    frames: Path | None = None,
    echo: Callable[[str], None] | None = None,
) -> tuple[int, Player]:
    """Play ``script`` under ``App.run_test`` (no terminal); returns (status, player).

    A failed step stops the play with status 1; it is in ``player.failure``.
    """
    if frames is not None:
        frames.mkdir(parents=True, exist_ok=True)
    player = Player(script, live=False, frames=frames, echo=echo)
    app = DemoApp(player, autoplay=False, cursor_blink=False, timeout=SETTLE_TIMEOUT)
    async with app.run_test(size=size) as pilot:
        status = await player.play(app, pilot)
    return status, player


def _printer(stream: TextIO) -> Callable[[str], None]:
    # Bound now: Textual redirects sys.stdout while an app runs.
    def echo(line: str) -> None:
        stream.write(line + "\n")
        stream.flush()

    return echo


def _failed(script: Script, player: Player, status: int) -> ScriptError:
    """The failed step of a headless play, as the error the command line prints."""
    failure = player.failure or DemoFailed(1, "the script failed")
    return ScriptError(script.path, failure.line, failure.message, status=status)


def check_by_playing(script: Script, path: Path, size: tuple[int, int]) -> int:
    """``--check``: play ``script`` headless with no frames; 0, or the first failure.

    Loading already checked the format, the ops and every text against the engine; only
    playing computes what the captions name (a step's saved tensor, ``{grad.x}`` after a
    typed edit, the plot), so a caption naming what the result does not have
    (``{grad.nope}``) is found here, not in front of an audience. It is the same player
    on the same app as ``--headless``, so the check cannot disagree with a real run.

    Raises:
        ScriptError: The first step that failed (exit status 2).
    """
    status, player = asyncio.run(play_headless(script, size=size))
    if status:
        raise _failed(script, player, 2)
    print(
        f"{path}: {len(script.scenes)} scenes, {player.frame_count} captions filled from "
        "torch's results, ok"
    )
    return 0


def play(
    path: Path,
    *,
    check: bool = False,
    headless: bool = False,
    size: tuple[int, int] | None = None,
    frames: Path | None = None,
    speed: float = 1.0,
) -> int:
    """Load the script at ``path`` and play it; the exit status.

    Args:
        path: The script (a built-in's path already resolved).
        check: Only check it (:func:`check_by_playing`).
        headless: Play with no terminal; one printed line per frame, files in ``frames``.
        size: Headless screen size (default :data:`DEFAULT_SIZE`).
        frames: Headless: where the frame files go (``None``: no files).
        speed: Live: divides every delay.

    Raises:
        ScriptError: A script that cannot play (exit status 2), or a headless step that
            failed (exit status 1; the frames before it are written).
    """
    live = not (headless or check)
    if live:  # torch takes a few seconds to load: say so before the screen changes
        print(f"gradtui demo: loading torch and checking {path} …", file=sys.stderr, flush=True)
    script = load_script(path)
    size = size or DEFAULT_SIZE
    if check:
        return check_by_playing(script, path, size)
    if headless:
        status, player = asyncio.run(
            play_headless(script, size=size, frames=frames, echo=_printer(sys.stdout))
        )
        if status:
            raise _failed(script, player, status)
        return 0
    player = Player(script, live=True, speed=speed)
    return int(DemoApp(player, autoplay=True).run() or 0)
