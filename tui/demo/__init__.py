"""``gradtui demo``: the app plays itself, from a script, live or headless.

One runner (:class:`tui.demo.player.Player`) drives the real :class:`tui.app.GradApp` (as
:class:`tui.demo.player.DemoApp`, which only adds a caption bar and the viewer's keys)
through the app's scripting API and Textual's own :class:`~textual.pilot.Pilot`:

- live (``gradtui demo [SCRIPT]``): the app runs normally in the terminal and the runner
  plays from an async worker inside it, typing key by key; ``space`` pauses
  and resumes, ``right`` jumps to the next scene, ``q`` quits, ``--speed`` scales time;
- headless (``--headless --frames DIR``): the same app under ``App.run_test`` with no
  delays; every captioned step is written as ``NNN-slug.svg`` (Textual's own screenshot)
  and ``NNN-slug.txt`` (the same screen as plain text), one printed line per frame.

There is no second rendering path: a frame is the screen a person would see.

Captions are templates filled from the engine's result on screen at the moment they are
shown, so what a caption says about torch is what the installed torch said.

The rooms (the command line itself is :mod:`tui.cli`, which calls :mod:`.runner`):

- :mod:`.script`: the TOML format, its loader, and the checks made before anything plays;
- :mod:`.lines`: where each TOML key starts, for errors that name a line;
- :mod:`.captions`: the placeholder vocabulary, checking and filling a template;
- :mod:`.values`: what each placeholder says, read off the app on screen;
- :mod:`.player`: the runner (:class:`~.player.Player`) and the app it drives;
- :mod:`.runner`: the three ways to play a script: live, headless, ``--check``.

This package imports nothing itself, so :mod:`.script` loads without Textual.
"""
