"""What one training step through gradtui's model mode costs against the same step in a
plain torch script, measured in the same run.

``python tests/benchmarks/model_cost.py [--repeats N]`` prints a table and one JSON line.

The model has 10,261 parameters (``Linear(20, 100) -> ReLU() -> Linear(100, 80) -> ReLU()
-> Linear(80, 1)``, 64 rows of data, ``Adam(lr=0.001)``, ``mse_loss``). One fresh
subprocess imports torch and gradtui, builds the model twice from the same seed (once as a
plain script would, once with :class:`ops.model.Trainer`), and times one step of each,
alternately and ``repeats`` times after a warm-up:

- ``plain``: ``opt.zero_grad(); loss = F.mse_loss(model(data), target); loss.backward();
  opt.step()``;
- ``lean``: ``Trainer.step(detail=False)``, the app's training loop (loss, gradients,
  parameters before and after, the optimizer's state, copied out as plain data);
- ``detail``: ``Trainer.step()``, everything a step records (each layer's output, the
  module hooks, every backward node with its saved tensors, the diagnoses).

The figures are the ratios of the medians to ``plain``. Not a test: it never fails on a
slow machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

SPEC = "Linear(20, 100) -> ReLU() -> Linear(100, 80) -> ReLU() -> Linear(80, 1)"

_HARNESS = r"""
import json, statistics, sys, time
import torch
import torch.nn.functional as F
from torch import nn
from gradtui.ops.model import ModelConfig, Trainer
spec, repeats = sys.argv[1], int(sys.argv[2])
config = ModelConfig(spec, "randn(64, 20)", "randn(64, 1)", optimizer="Adam(lr=0.001)")
lean = Trainer(config, keep=2)  # old steps thinned, as the app keeps them: no budget hit
detail = Trainer(config, keep=2)
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(20, 100), nn.ReLU(), nn.Linear(100, 80), nn.ReLU(), nn.Linear(80, 1))
opt = torch.optim.Adam(model.parameters(), lr=0.001)
data, target = lean.data, lean.target
count = sum(p.numel() for p in model.parameters())
def plain():
    opt.zero_grad()
    loss = F.mse_loss(model(data), target)
    loss.backward()
    opt.step()
runs = {"plain": plain, "lean": lambda: lean.step(detail=False), "detail": detail.step}
for fn in runs.values():
    fn()
times = {k: [] for k in runs}
for _ in range(repeats):
    for name, fn in runs.items():
        began = time.perf_counter(); fn(); times[name].append(time.perf_counter() - began)
print(json.dumps({"params": count, **{k: statistics.median(v) for k, v in times.items()}}))
"""


def measure(repeats: int) -> dict[str, float]:
    """Median seconds of one step: ``plain``, ``lean`` and ``detail``; and ``params``."""
    out = subprocess.run(
        [sys.executable, "-c", _HARNESS, SPEC, str(repeats)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args(argv)
    found = measure(args.repeats)
    plain = found["plain"]
    print(f"model: {SPEC} ({found['params']:,} parameters), Adam, 64 rows")
    print(f"{'step':<10} {'median (ms)':>12} {'÷ plain':>8}")
    for name in ("plain", "lean", "detail"):
        print(f"{name:<10} {found[name] * 1e3:>12.3f} {found[name] / plain:>8.2f}")
    print(
        json.dumps(
            {
                "model_step_vs_torch": round(found["lean"] / plain, 2),
                "model_detail_step_vs_torch": round(found["detail"] / plain, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
