"""The ``gradtui`` command line: a thin front over ``ops`` (and the app).

``gradtui [OP] [--set NAME=TEXT]...`` opens the Textual app; ``gradtui ops``,
``gradtui grad`` and ``gradtui plot`` answer from a shell or a pipe, as text or as
JSON (the contract is in the README), and import no Textual; ``gradtui demo`` hands
over to :mod:`tui.demo` once its command line is checked. Every command's parser is
here (:func:`build_parsers`), and every error is printed here: bad input exits 2 with
one ``error: …`` line on stderr (or ``{"error": …}`` on stdout under ``--json``);
nothing ever prints a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from gradtui.ops.timebound import DEFAULT_TIMEOUT_S
from gradtui.tui import cli_graph, cli_model
from gradtui.tui.report import curve_title, format_grad, format_op, format_ops, plot_notes

if TYPE_CHECKING:  # the catalog imports torch; `gradtui ops` imports it when it runs
    from gradtui.ops.catalog import OpSpec

COMMANDS = (
    "ops",
    "grad",
    "plot",
    "graph",
    "jacobian",
    "hvp",
    "snippet",
    "model",
    "demo",
    "serve",
)

SET_HELP = (
    "set input NAME to TEXT, written in the input language: a list ('[1., -2.]'), a "
    "constructor ('linspace(-2, 2, 5)') or an expression; repeat for more inputs "
    "(e.g. --set input='[1., 2.]' --set other=2.)"
)


class CommandError(Exception):
    """A command that cannot do what it was asked (exit ``status``, 2 unless told).

    Printed as it is, on one ``error: …`` line (or ``{"error": …}`` under ``--json``).
    """

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


class UsageError(CommandError):
    """A command line that cannot be understood (exit 2); printed with a pointer to --help."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _add_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="NAME=TEXT",
        help=SET_HELP,
    )
    p.add_argument(
        "--grad-output", metavar="TEXT", help="upstream gradient v fed to backward (default: ones)"
    )
    p.add_argument("--dtype", choices=("float32", "float64"), default=None)
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="abandon the computation after this many seconds (default: $GRADTUI_TIMEOUT "
        f"or {DEFAULT_TIMEOUT_S:g}; 0 means no bound)",
    )


def _seconds(text: str) -> float:
    """``--timeout``'s value: a number of seconds, 0 or more (0: no bound)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be 0 (no bound) or more seconds, got {text!r}")
    return value


def build_parsers() -> dict[str, argparse.ArgumentParser]:
    """One parser per command (``app`` is the bare ``gradtui [OP]`` form)."""
    app = _Parser(
        prog="gradtui",
        description="A terminal gradient explorer for PyTorch. "
        "Commands: gradtui ops | grad TARGET | plot TARGET | graph TARGET | jacobian TARGET | "
        "hvp TARGET | snippet FILE | model SPEC | demo [SCRIPT] | serve. "
        "With no command, opens the app.",
    )
    app.add_argument("op", nargs="?", default="exp", help="op to open on (default: exp)")
    app.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="NAME=TEXT", help=SET_HELP
    )
    app.add_argument("--no-mouse", action="store_true", help="turn mouse reporting off")
    app.add_argument("--version", action="store_true", help="print gradtui's version and exit")

    ops_p = _Parser(
        prog="gradtui ops",
        description="List every op (hand-written, then generated from torch's OpInfo "
        "database), or show one op's signature, defaults and summary.",
    )
    ops_p.add_argument(
        "name", nargs="?", default=None, help="one op (linalg.svd, F.conv2d, T, exp, ...)"
    )
    ops_p.add_argument("--json", action="store_true")

    grad = _Parser(
        prog="gradtui grad",
        description="Run one op or expression forward and backward with PyTorch and show "
        "every backward step, the leaf gradients and why a gradient is missing.",
    )
    grad.add_argument("target", help="a catalog op name (exp) or an expression (x**2 * sin(x))")
    _add_inputs(grad)
    grad.add_argument("--json", action="store_true")

    plot = _Parser(
        prog="gradtui plot", description="Plot f and f' of an op along one variable (ASCII)."
    )
    plot.add_argument("target")
    _add_inputs(plot)
    plot.add_argument("--var", help="input to vary (default: the first differentiable one)")
    plot.add_argument("--range", dest="range_", metavar="A:B", help="range of the variable")
    plot.add_argument("--points", type=int, default=201)
    plot.add_argument("--width", type=int, default=None)
    plot.add_argument("--height", type=int, default=None)
    plot.add_argument("--d2", action="store_true", help="also plot f''")
    plot.add_argument("--json", action="store_true")

    snippet = _Parser(
        prog="gradtui snippet",
        description="Run a pasted PyTorch snippet safely, statement by statement, with the "
        "real torch: what each print printed, the first statement that raised and why, every "
        "backward pass recorded, and each trailing '# comment' on a printing line checked "
        "against what the line printed. Exit 0 when it ran (even if a statement raised), 2 "
        "when a statement is not in the snippet language.",
    )
    snippet.add_argument(
        "file",
        nargs="?",
        default=None,
        help="the snippet's file, or - to read standard input",
    )
    snippet.add_argument(
        "--seed",
        metavar="NAME",
        help="run one of the seed page's snippets instead of a file: lt, abs or exp",
    )
    snippet.add_argument("--json", action="store_true")
    snippet.add_argument(
        "--no-steps", action="store_true", help="leave the backward steps out of the text report"
    )
    snippet.add_argument(
        "--timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="abandon the run after this many seconds (default: $GRADTUI_TIMEOUT "
        f"or {DEFAULT_TIMEOUT_S:g}; 0 means no bound)",
    )

    demo = _Parser(
        prog="gradtui demo",
        description="Play a scripted demo of gradtui: the built-in tour of the seed page's "
        "questions, or a TOML script. Live in the terminal (space pause/resume, → next "
        "scene, q quit) or headless to SVG and text frames.",
    )
    demo.add_argument(
        "script",
        nargs="?",
        default="tour",
        help="a TOML script, or a built-in: tour (default), example",
    )
    demo.add_argument(
        "--speed", type=float, default=1.0, help="scale the timing (2 = twice as fast)"
    )
    demo.add_argument("--headless", action="store_true", help="no terminal: render frames instead")
    demo.add_argument("--frames", metavar="DIR", help="headless: write NNN-slug.svg/.txt here")
    demo.add_argument("--size", metavar="COLSxROWS", help="headless screen size (default 120x36)")
    demo.add_argument(
        "--check",
        action="store_true",
        help="check the script and exit: play it headless, with no frames, so every "
        "caption is filled from torch's results; nothing is shown",
    )
    serve = _Parser(
        prog="gradtui serve",
        description="Serve the app to web browsers (textual-serve): each page gets its own "
        "gradtui process. Options after -- are the app's, e.g. `gradtui serve -- gradtui "
        "gather --set input='[1., 2.]'`.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use, behind a reverse proxy (e.g. https://example.org/gradtui)",
    )
    serve.add_argument(
        "--max-sessions", type=int, default=8, metavar="N", help="apps running at once (8)"
    )
    serve.add_argument(
        "--session-memory",
        type=int,
        default=4096,
        metavar="MB",
        help="address space each app may map, in MB (4096)",
    )
    serve.add_argument(
        "--session-cpu",
        type=int,
        default=1800,
        metavar="SECONDS",
        help="CPU seconds each app may use in all (1800)",
    )
    serve.add_argument("app_args", nargs="*", help=argparse.SUPPRESS)
    return {
        "app": app,
        "ops": ops_p,
        "grad": grad,
        "plot": plot,
        **cli_graph.add_parsers(_Parser, SET_HELP, _seconds),
        "snippet": snippet,
        "model": cli_model.add_parser(_Parser, _seconds),
        "demo": demo,
        "serve": serve,
    }


def parse_sets(sets: Sequence[str], option: str = "--set") -> dict[str, str]:
    """``["x=[1, 2]", ...]`` → ``{"x": "[1, 2]"}``; refuses a missing ``=`` or name."""
    values: dict[str, str] = {}
    for item in sets:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"{option} expects NAME=TEXT, got {item!r}")
        values[name] = text
    return values


def _emit_error(message: str, as_json: bool, status: int = 2) -> int:
    """Print one error line (or JSON object) and return ``status`` (bad input: 2)."""
    if as_json:
        print(json.dumps({"error": message}))
    else:
        print(f"error: {message}", file=sys.stderr)
    return status


def _require_terminal(error: CommandError) -> None:
    """Raise ``error`` unless stdin and stdout are a terminal (the app and the live demo)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise error


# --- commands -------------------------------------------------------------------


def _op_json(spec: OpSpec, category: str) -> dict[str, Any]:
    out = {
        "name": spec.name,
        "category": category,
        "inputs": [
            {
                "name": i.name,
                "default": i.default,
                "requires_grad": i.requires_grad,
                "kind": i.kind,
            }
            for i in spec.inputs
        ],
        "rule": spec.rule,
        "elementwise": spec.elementwise,
        "summary": spec.summary,
    }
    if spec.generated:
        out.update(
            {
                "generated": True,
                "signature": spec.signature,
                "call": spec.call_text(),
                "aliases": list(spec.aliases),
            }
        )
    return out


def cmd_ops(args: argparse.Namespace) -> int:
    from gradtui.ops.catalog import all_ops, get

    if args.name:
        spec = get(args.name)  # an unknown name is an InputError: one line, status 2
        if args.json:
            print(json.dumps(_op_json(spec, spec.category), indent=2, ensure_ascii=False))
        else:
            print(format_op(spec))
        return 0
    groups = all_ops()
    if args.json:
        out = [_op_json(spec, category) for category, specs in groups for spec in specs]
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    print(format_ops(groups))
    return 0


def cmd_grad(args: argparse.Namespace) -> int:
    from gradtui.ops.run import run

    result = run(
        args.target,
        parse_sets(args.sets),
        grad_output=args.grad_output,
        dtype=args.dtype or "float32",
        timeout=args.timeout,
    )
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(format_grad(result))
    return 0


def _use_color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def cmd_plot(args: argparse.Namespace) -> int:
    from gradtui.ops.curves import parse_range, sample_curve

    lo = hi = None
    if args.range_:
        lo, hi = parse_range(args.range_)
    if not 2 <= args.points <= 100_000:
        raise UsageError("--points must be between 2 and 100000")
    if (args.width is not None and not 20 <= args.width <= 1000) or (
        args.height is not None and not 6 <= args.height <= 500
    ):  # refused before any work, and under --json too: it is a bad command line either way
        raise UsageError("--width must be 20..1000 and --height 6..500")
    curve = sample_curve(
        args.target,
        parse_sets(args.sets),
        var=args.var,
        lo=lo,
        hi=hi,
        points=args.points,
        second=args.d2,
        grad_output=args.grad_output,
        timeout=args.timeout,
    )
    if args.json:
        print(json.dumps(curve.to_json(), ensure_ascii=False))
        return 0
    from gradtui.tui.plotting import render_curve

    cols, rows = os.get_terminal_size(1) if sys.stdout.isatty() else (80, 24)
    width = args.width or min(cols, 100)
    height = args.height or max(min(rows - 4, 24), 10)
    if not (20 <= width <= 1000 and 6 <= height <= 500):
        raise UsageError("--width must be 20..1000 and --height 6..500")
    print(curve_title(curve))
    print(render_curve(curve, width, height, color=_use_color(), show_d2=args.d2))
    for note in plot_notes(curve):
        print(note)
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    if args.version:
        print(f"gradtui {version()}")
        return 0
    _require_terminal(
        UsageError(
            "the app needs a terminal; for a pipe use `gradtui grad TARGET` or `gradtui plot TARGET`"
        )
    )
    from gradtui.tui.app import run_app

    return run_app(args.op, parse_sets(args.sets), mouse=not args.no_mouse) or 0


def cmd_serve(args: argparse.Namespace) -> int:
    """``gradtui serve``: check the app's options here, then serve until Ctrl+C."""
    app_args = list(args.app_args)
    if app_args[:1] == ["gradtui"]:
        app_args = app_args[1:]
    app_parsed = build_parsers()["app"].parse_args(app_args)
    parse_sets(app_parsed.sets)
    if app_parsed.version:
        raise UsageError("--version is not an option of a served app")
    if not 1 <= args.max_sessions <= 1000:
        raise UsageError("--max-sessions must be 1..1000")
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be 0..65535")
    if not 256 <= args.session_memory <= 1_048_576:
        raise UsageError("--session-memory must be 256..1048576 MB")
    if not 10 <= args.session_cpu <= 10_000_000:
        raise UsageError("--session-cpu must be 10 or more seconds")
    if args.public_url is not None and not re.fullmatch(r"https?://[^\s\"'<>]+", args.public_url):
        raise UsageError("--public-url must be an http:// or https:// URL")
    from gradtui.tui.serve import GradServer, exposure_warning

    warning = exposure_warning(args.host, args.port, args.max_sessions)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    GradServer(
        app_args,
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        max_sessions=args.max_sessions,
        session_memory_mb=args.session_memory,
        session_cpu_s=args.session_cpu,
    ).serve()
    return 0


def parse_size(text: str) -> tuple[int, int]:
    """``"100x30"`` → ``(100, 30)``; refuses sizes a screen cannot have."""
    found = re.fullmatch(r"\s*(\d{1,4})\s*[xX]\s*(\d{1,4})\s*", text)
    if not found:
        raise UsageError(f"--size expects COLSxROWS, e.g. 100x30, not {text!r}")
    cols, rows = int(found.group(1)), int(found.group(2))
    if not (20 <= cols <= 1000 and 10 <= rows <= 500):
        raise UsageError("--size must be 20..1000 columns by 10..500 rows")
    return cols, rows


def resolve_script(name: str) -> Path:
    """A script path, or a built-in's path (``tour``, ``example``)."""
    from gradtui.tui.demo.script import builtin_path

    path = Path(name)
    if path.is_file():
        return path
    builtin = builtin_path(name)
    if builtin is not None:
        return builtin
    raise UsageError(f"no script {name!r}: not a file and not a built-in (tour, example)")


def cmd_demo(args: argparse.Namespace) -> int:
    """``gradtui demo``: check the command line here, then hand over to :mod:`tui.demo`."""
    if not 0 < args.speed <= 100:
        raise UsageError("--speed must be above 0 and at most 100")
    if args.frames and not args.headless:
        raise UsageError("--frames needs --headless (live mode plays in the terminal)")
    if args.size and not (args.headless or args.check):
        raise UsageError("--size needs --headless (live mode uses the terminal's size)")
    size = parse_size(args.size) if args.size else None
    path = resolve_script(args.script)
    if not (args.headless or args.check):
        _require_terminal(
            CommandError(
                "the live demo needs a terminal; without one use "
                "`gradtui demo --headless --frames DIR`"
            )
        )
    from gradtui.tui.demo.runner import play
    from gradtui.tui.demo.script import ScriptError

    try:
        return play(
            path,
            check=args.check,
            headless=args.headless,
            size=size,
            frames=Path(args.frames) if args.frames else None,
            speed=args.speed,
        )
    except ScriptError as exc:
        raise CommandError(str(exc), exc.status) from None


def read_snippet(name: str) -> str:
    """A snippet's text from a file, or from standard input for ``-``."""
    from gradtui.ops.snippet_syntax import MAX_SNIPPET_CHARS

    limit = MAX_SNIPPET_CHARS * 4 + 1  # UTF-8 takes at most 4 bytes a character
    try:
        if name == "-":
            data = sys.stdin.buffer.read(limit)
        else:
            with open(name, "rb") as handle:
                data = handle.read(limit)
    except OSError as exc:
        raise CommandError(f"cannot read {name!r}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{name!r} is not UTF-8 text") from None


_UNSEEN = re.compile("[\u0080-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def terminal_safe_json(value: Any) -> str:
    """JSON with non-ASCII text as it is (a snippet's Chinese comments stay readable), but
    the characters a terminal would act on or hide (C1 controls, bidirectional and
    zero-width formatting) written as ``\\uXXXX`` escapes: a snippet chooses what it prints."""
    text = json.dumps(value, ensure_ascii=False)
    return _UNSEEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def cmd_snippet(args: argparse.Namespace) -> int:
    """``gradtui snippet FILE``: run a snippet and fact-check its comments."""
    from gradtui.ops.snippet import run_bounded
    from gradtui.ops.snippet_syntax import SnippetRefused
    from gradtui.tui.report import format_snippet, pointed

    if args.file is None and args.seed is None:
        raise UsageError("give a FILE (or - for standard input), or --seed NAME")
    if args.file is not None and args.seed is not None:
        raise UsageError("give a FILE or --seed NAME, not both")
    if args.seed is not None:
        from gradtui.ops.seed_snippets import SEED_SNIPPETS, seed_snippet

        seed = seed_snippet(args.seed)
        if seed is None:
            known = ", ".join(s.name for s in SEED_SNIPPETS)
            raise UsageError(f"no seed snippet {args.seed!r} (the seed page has {known})")
        text = seed.text
    else:
        text = read_snippet(args.file)
    try:
        result = run_bounded(text, timeout=args.timeout)
    except SnippetRefused as exc:
        if args.json:
            print(json.dumps({"error": str(exc), "line": exc.line, "col": exc.col}))
        else:
            print(f"error: {exc}", file=sys.stderr)
            print(pointed(text, exc.line, exc.col), file=sys.stderr)
        return 2
    if args.json:
        print(terminal_safe_json(result.to_json()))
    else:
        print(format_snippet(result, steps=not args.no_steps))
    return 2 if result.refused is not None else 0


HANDLERS = {
    "app": cmd_app,
    "ops": cmd_ops,
    "grad": cmd_grad,
    "plot": cmd_plot,
    **cli_graph.handlers(parse_sets),
    "snippet": cmd_snippet,
    "model": cli_model.cmd_model,
    "demo": cmd_demo,
    "serve": cmd_serve,
}
"""Each command's handler, by the name :func:`build_parsers` gives its parser."""


_VALUED = (
    "--range",
    "--set",
    "--grad-output",
    "--data",
    "--target",
    "--optimizer",
    "--loss",
    *cli_graph.VALUED,
)


def _glue_values(argv: list[str]) -> list[str]:
    """Write ``--range -2:2`` as ``--range=-2:2``, so argparse does not take ``-2:2`` for an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] in _VALUED and i + 1 < len(argv):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def version() -> str:
    """gradtui's version, from the installed distribution's metadata (no torch import)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("gradtui")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def mistyped_command(argv: Sequence[str]) -> str | None:
    """The sub-command ``argv[0]`` most likely meant, when it is a typo of one.

    ``gradtui plto abs`` is a typo of ``plot``; ``gradtui lt`` is the app opened on
    ``lt`` (a catalog op that happens to look like ``plot``), so a word close to a
    command counts as a typo only when it is not an op, or when more positional words
    follow it (the app form takes one). The catalog, and so torch, is only imported
    for a word that looks like a command.
    """
    if not argv or argv[0].startswith("-") or argv[0] in COMMANDS:
        return None
    close = difflib.get_close_matches(argv[0], COMMANDS, n=1, cutoff=0.6)
    if not close:
        return None
    if not any(not a.startswith("-") for a in _glue_values(list(argv[1:]))):
        from gradtui.ops.catalog import get
        from gradtui.ops.errors import InputError

        try:
            get(argv[0])
        except InputError:
            return close[0]
        return None
    return close[0]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gradtui`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in COMMANDS else "app"
    rest = argv[1:] if command != "app" else argv
    as_json = command != "demo" and "--json" in rest  # the demo has no --json
    if command == "app":
        meant = mistyped_command(argv)
        if meant is not None:
            return _emit_error(
                f"unknown command {argv[0]!r}; did you mean `gradtui {meant}`? "
                f"(commands: {', '.join(COMMANDS)}; see `gradtui --help`)",
                as_json,
            )
    parser = build_parsers()[command]
    try:
        args = parser.parse_args(_glue_values(rest) if command != "demo" else rest)
        return HANDLERS[command](args)
    except UsageError as exc:
        return _emit_error(f"{exc} (see `{parser.prog} --help`)", as_json)
    except CommandError as exc:
        return _emit_error(str(exc), as_json, exc.status)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader left (gradtui ops | head): stop quietly, as a program killed by SIGPIPE
        # would; stdout goes to /dev/null so the interpreter's final flush cannot fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence: no tracebacks
        from gradtui.ops.errors import InputError

        if isinstance(exc, InputError):
            return _emit_error(str(exc), as_json)
        _emit_error(f"internal error ({type(exc).__name__}): {exc}", as_json)
        return 1


def run() -> None:
    """Console-script wrapper: exit with :func:`main`'s status.

    A computation abandoned at its time bound may still be finishing one torch call in
    its worker thread; the process waits briefly for it to stop (``join_abandoned``), and
    if it does not, leaves with ``os._exit`` rather than shutting torch down under it.
    """
    code = main()
    if "gradtui.ops.timebound" in sys.modules:
        from gradtui.ops.timebound import join_abandoned

        if not join_abandoned(2.0):
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
