"""What running a snippet through gradtui costs against CPython running the same text.

``python tests/benchmarks/snippet_cost.py [--repeats N]`` prints a table and one JSON line.

For each snippet (the seed page's three and the autograd tutorial's first blocks), one
fresh subprocess of the same interpreter imports torch and gradtui, then times, alternately
and ``repeats`` times after a warm-up: CPython running the snippet's file
(``runpy.run_path``: the text is this repository's own, not a user's) and
``gradtui.ops.snippet.run_snippet`` on the same text (the parse, the allow-list, the
interpreter, the recorder's hooks, the claims). Both print into a discarded buffer and
both start from ``torch.manual_seed(0)``. The figure is the ratio of the medians, and
``snippet_vs_python`` the worst snippet's. Not a test: it never fails on a slow machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

TUTORIAL = """import torch

x = torch.ones(5)  # input tensor
y = torch.zeros(3)  # expected output
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
z = torch.matmul(x, w)+b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
loss.backward()
print(w.grad)
print(b.grad)
inp = torch.eye(4, 5, requires_grad=True)
out = (inp+1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\\nSecond call\\n{inp.grad}")
"""

_HARNESS = r"""
import contextlib, io, json, runpy, statistics, sys, time
import torch
from gradtui.ops.snippet import run_snippet
path, repeats = sys.argv[1], int(sys.argv[2])
text = open(path, encoding="utf-8").read()
def python():
    torch.manual_seed(0)
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            runpy.run_path(path)
        except Exception:
            pass
def gradtui():
    run_snippet(text)
python(); gradtui()
times = {"python": [], "gradtui": []}
for _ in range(repeats):
    for name, fn in (("python", python), ("gradtui", gradtui)):
        began = time.perf_counter(); fn(); times[name].append(time.perf_counter() - began)
print(json.dumps({k: statistics.median(v) for k, v in times.items()}))
"""


def snippets() -> dict[str, str]:
    from gradtui.ops.seed_snippets import SEED_SNIPPETS

    out = {f"seed {s.name}": s.text for s in SEED_SNIPPETS}
    out["autograd tutorial"] = TUTORIAL
    return out


def measure(repeats: int) -> dict[str, tuple[float, float]]:
    """Per snippet: (CPython's median seconds, gradtui's median seconds)."""
    found: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in snippets().items():
            path = Path(tmp) / "snippet.py"
            path.write_text(text, encoding="utf-8")
            out = subprocess.run(
                [sys.executable, "-c", _HARNESS, str(path), str(repeats)],
                capture_output=True,
                text=True,
                check=True,
            )
            times = json.loads(out.stdout.strip().splitlines()[-1])
            found[name] = (times["python"], times["gradtui"])
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)
    found = measure(args.repeats)
    print(f"{'snippet':<20} {'CPython (ms)':>13} {'gradtui (ms)':>13} {'ratio':>7}")
    for name, (py, ours) in found.items():
        print(f"{name:<20} {py * 1e3:>13.3f} {ours * 1e3:>13.3f} {ours / py:>7.2f}")
    worst = max(ours / py for py, ours in found.values())
    print(json.dumps({"snippet_vs_python": round(worst, 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
