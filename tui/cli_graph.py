"""``gradtui graph``, ``gradtui jacobian`` and ``gradtui hvp``: the whole graph, J, and H·u.

Thin fronts over :mod:`ops.graph`: each parses its command line, asks the engine, and
prints the text report (:mod:`tui.report_graph`) or the JSON contract (README).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence

from gradtui.ops.timebound import DEFAULT_TIMEOUT_S

COMMANDS = ("graph", "jacobian", "hvp")

_DESCRIPTIONS = {
    "graph": "Draw the backward graph PyTorch builds for an op or expression: one box per "
    "node (grad_fn names; leaves with their input names), edges following next_functions, "
    "a shared node drawn once with every parent.",
    "jacobian": "The Jacobian J of the output with respect to each input that requires grad, "
    "from torch.autograd.functional.jacobian, beside the input's .grad from torch's own "
    "backward (which equals vᵀJ).",
    "hvp": "A Hessian-vector product H·u by double backward: torch.autograd.grad with "
    "create_graph=True, then a second backward of the gradient with upstream u, recorded "
    "node by node.",
}


def add_parsers(
    make: type[argparse.ArgumentParser],
    set_help: str,
    seconds: Callable[[str], float],
) -> dict[str, argparse.ArgumentParser]:
    """The three commands' parsers (``make`` is the CLI's parser class)."""
    parsers = {}
    for name in COMMANDS:
        p = make(prog=f"gradtui {name}", description=_DESCRIPTIONS[name])
        p.add_argument("target", help="a catalog op name (softmax) or an expression (x * exp(-x))")
        p.add_argument(
            "--set",
            dest="sets",
            action="append",
            default=[],
            metavar="NAME=TEXT",
            help=set_help,
        )
        if name != "graph":
            p.add_argument(
                "--grad-output",
                metavar="TEXT",
                help="upstream gradient v (default: ones)"
                + (
                    ": J is the same, v picks which rows .grad adds up"
                    if name == "jacobian"
                    else ""
                ),
            )
        if name == "hvp":
            p.add_argument(
                "--vector",
                dest="vectors",
                action="append",
                default=[],
                metavar="NAME=TEXT",
                help="u for input NAME, in the input language (one number is broadcast); "
                "inputs not given get zeros; with no --vector at all, u is ones everywhere",
            )
        p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
        p.add_argument("--json", action="store_true")
        p.add_argument(
            "--timeout",
            type=seconds,
            default=None,
            metavar="SECONDS",
            help="abandon the computation after this many seconds (default: $GRADTUI_TIMEOUT "
            f"or {DEFAULT_TIMEOUT_S:g}; 0 means no bound)",
        )
        parsers[name] = p
    return parsers


def cmd_graph(args: argparse.Namespace, values: dict[str, str]) -> int:
    """``gradtui graph TARGET``."""
    from gradtui.ops.graph import graph
    from gradtui.tui.report_graph import format_graph

    result = graph(args.target, values, dtype=args.dtype, timeout=args.timeout)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(format_graph(result))
    return 0


def cmd_jacobian(args: argparse.Namespace, values: dict[str, str]) -> int:
    """``gradtui jacobian TARGET``."""
    from gradtui.ops.errors import InputError
    from gradtui.ops.graph import MAX_ENTRIES, MAX_SCREEN_ENTRIES, jacobian
    from gradtui.tui.report_graph import format_jacobian

    try:
        result = jacobian(
            args.target,
            values,
            grad_output=args.grad_output,
            dtype=args.dtype,
            timeout=args.timeout,
            max_entries=MAX_ENTRIES if args.json else MAX_SCREEN_ENTRIES,
        )
    except InputError as exc:
        if args.json or "entries" not in exc.message:
            raise
        raise InputError(
            f"{exc.message} as text; --json gives up to {MAX_ENTRIES:,}", field=exc.field
        ) from None
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(format_jacobian(result))
    return 0


def cmd_hvp(args: argparse.Namespace, values: dict[str, str], vectors: dict[str, str]) -> int:
    """``gradtui hvp TARGET``."""
    from gradtui.ops.graph import hvp
    from gradtui.tui.report_graph import format_hvp

    result = hvp(
        args.target,
        values,
        vectors=vectors,
        grad_output=args.grad_output,
        dtype=args.dtype,
        timeout=args.timeout,
    )
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        print(format_hvp(result))
    return 0


def run(command: str, args: argparse.Namespace, parse_sets: Callable[..., dict[str, str]]) -> int:
    """Run ``command`` (one of :data:`COMMANDS`) with its parsed ``args``."""
    values = parse_sets(args.sets)
    if command == "graph":
        return cmd_graph(args, values)
    if command == "jacobian":
        return cmd_jacobian(args, values)
    return cmd_hvp(args, values, parse_sets(args.vectors, option="--vector"))


def handlers(
    parse_sets: Callable[..., dict[str, str]],
) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Each command's handler for the CLI's table."""
    return {name: _bound(name, parse_sets) for name in COMMANDS}


def _bound(
    name: str, parse_sets: Callable[..., dict[str, str]]
) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        return run(name, args, parse_sets)

    return handler


VALUED: Sequence[str] = ("--vector",)
"""Options whose value may start with ``-`` (glued to the option by the CLI)."""
