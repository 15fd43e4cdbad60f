"""gradtui's engine: text in, PyTorch's real forward and backward, plain results out.

This package knows no screen: it never imports ``textual``, ``rich`` or ``plotext``,
and importing it does not import torch (the submodules that compute do), so a front
end can paint before torch has loaded.

Modules:
    errors:    :class:`InputError`, the one error a person can cause.
    results:   frozen dataclasses of plain values (:class:`GradResult`, :class:`Curve`, ...).
    language:  the safe input language (an allow-list over ``ast``; never ``eval``).
    catalog:   :class:`OpSpec` entries, named as in torch.
    backward:  ``record_backward``: engine hooks -> ordered :class:`Step` records.
    run:       ``prepare`` and ``run``: one target, one set of inputs -> :class:`GradResult`.
    curves:    ``sample_curve``: f, f', f'', numeric check and kinks along one variable.
    formulas:  ``derivative_formula``: a SymPy derivative built from the parsed tree.
"""

from gradtui.ops.errors import InputError

__all__ = ["InputError"]
