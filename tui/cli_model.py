"""``gradtui model SPEC``: build a tiny network from text, train it, show every number."""

from __future__ import annotations

import argparse
import json
import math

from gradtui.ops.names import DEFAULT_LOSS, DEFAULT_OPTIMIZER
from gradtui.ops.timebound import DEFAULT_TIMEOUT_S

DESCRIPTION = (
    "Build a tiny nn.Sequential from a spec such as 'Linear(2, 3) -> Tanh() -> Linear(3, 1)', "
    "train it with a torch optimizer, and show each step as torch measured it: the loss, "
    "each layer's output, what each module receives and sends back in the backward pass, "
    "every parameter's gradient, the optimizer's state, and every parameter before and "
    "after step(). The numbers are those of the plain torch script --script prints."
)


def _l1(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and 0 <= value < 1e6):
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1e6, got {text!r}")
    return value


def add_parser(make: type[argparse.ArgumentParser], seconds: object) -> argparse.ArgumentParser:
    """The ``gradtui model`` parser (``make`` is the CLI's parser class)."""
    p = make(prog="gradtui model", description=DESCRIPTION)
    p.add_argument(
        "spec", help="layers joined by ->, e.g. 'Linear(2, 3) -> Tanh() -> Linear(3, 1)'"
    )
    p.add_argument("--data", required=True, metavar="TEXT", help="the inputs, one row each")
    p.add_argument("--target", required=True, metavar="TEXT", help="the targets")
    p.add_argument(
        "--loss", default=DEFAULT_LOSS, metavar="NAME", help=f"a F.*_loss (default {DEFAULT_LOSS})"
    )
    p.add_argument(
        "--optimizer",
        default=DEFAULT_OPTIMIZER,
        metavar="TEXT",
        help=f"SGD, Adam, AdamW, RMSprop or Adagrad with keywords (default {DEFAULT_OPTIMIZER})",
    )
    p.add_argument(
        "--l1", type=_l1, default=0.0, metavar="LAMBDA", help="add l1 * sum|p| to the loss"
    )
    p.add_argument("--steps", type=int, default=1, metavar="N", help="optimizer steps (default 1)")
    p.add_argument("--seed", type=int, default=0, help="torch.manual_seed before building")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--no-nodes",
        action="store_true",
        help="leave the node-by-node backward steps out of the text report",
    )
    p.add_argument(
        "--script",
        action="store_true",
        help="print the plain torch script that gives these numbers",
    )
    p.add_argument(
        "--timeout",
        type=seconds,
        default=None,
        metavar="SECONDS",
        help="abandon the run after this many seconds (default: $GRADTUI_TIMEOUT "
        f"or {DEFAULT_TIMEOUT_S:g}; 0 means no bound)",
    )
    return p


def cmd_model(args: argparse.Namespace) -> int:
    from gradtui.ops.errors import InputError
    from gradtui.ops.model import MAX_STEPS, ModelConfig, train
    from gradtui.tui.report_model import format_model

    if not 0 <= args.steps <= MAX_STEPS:
        raise InputError(f"--steps must be from 0 to {MAX_STEPS:,}")
    if not 0 <= args.seed < 2**63:
        raise InputError("--seed must be from 0 to 2**63-1")
    config = ModelConfig(
        spec=args.spec,
        data=args.data,
        target=args.target,
        loss=args.loss,
        optimizer=args.optimizer,
        l1=args.l1,
        seed=args.seed,
        dtype=args.dtype,
    )
    run = train(config, args.steps, timeout=args.timeout)
    if args.json:
        print(json.dumps(run.to_json(), ensure_ascii=False))
    elif args.script:
        print(run.script, end="")
    else:
        print(format_model(run, nodes=not args.no_nodes))
    return 0
