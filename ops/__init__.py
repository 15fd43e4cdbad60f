"""gradtui's engine: text in, PyTorch's real forward and backward, plain results out.

This package knows no screen: it never imports ``textual``, ``rich`` or ``plotext``,
and importing it does not import torch (the submodules that compute do), so a front
end can paint before torch has loaded.

Modules (each owns one concern):
    names:     the words shared with every front end, torch-free: the field names ``v``
               and ``expression``, ``looks_like_op_name``, the plot ``LAYERS``, ``Groups``.
    errors:    :class:`InputError`, the one error a person can cause.
    results:   frozen dataclasses of plain values (:class:`GradResult`, :class:`Curve`, ...).
    display:   numbers, tensors and kinks as the same short text in every front end.
    source:    the typed text before the parser: the language's limits, the character scan,
               node -> column (:class:`Source`).
    calls:     what a call calls: constructors, catalog ops, torch's namespaces and tensor
               methods resolved against ``spelling``'s tables; arguments bound to parameters.
    syntax:    the safe language's parser: an allow-list over ``ast``, nothing runs.
    spelling:  torch's spelling as literal allow-lists (functions, methods, properties, fields,
               dtypes, string choices) and the refusals, each with its reason.
    evaluator: the evaluator's base: state, errors quoting torch, element bounds, numbers,
               literal numbers read off the tree, result shapes before torch runs.
    torch_calls: torch's spelling evaluated: namespaced functions, methods, properties,
               named-tuple fields, indexing and slicing.
    constructors: ``linspace``, ``arange``, ``zeros``, ``ones``, ``full``, ``eye``, ``rand``, ``randn``.
    language:  the safe language's evaluator: a checked tree walked node by node (never ``eval``).
    catalog:   :class:`OpSpec` entries, named as in torch.
    tensors:   tensors to :class:`TensorData` (values, dtype, shape, nan/inf flags).
    timebound: :class:`TimeBound`: every computation answers within its bound, or is cancelled.
    prepare:   ``prepare``: a target and its input texts -> tensors (:class:`Prepared`).
    run:       ``run``: torch's forward and recorded backward -> :class:`GradResult`.
    diagnose:  why a gradient is missing, zero or nan; kink notes (measured, quoting torch).
    backward:  ``record_backward``: engine hooks -> ordered :class:`Step` records.
    direct_backward: torch's backward engine called directly (no SymPy import on the first pass).
    kinks:     the one detector: corner, cusp or jump, measured in float64.
    paths:     :class:`CurvePath`: one target along one variable, batched over ``t``.
    batching:  vmap, a leading batch dimension or a loop; points that raise become gaps.
    curves:    ``sample_curve``: f, f', f'', the numeric check and kinks -> :class:`Curve`.
    formulas:  ``derivative_formula``: a SymPy derivative built from the parsed tree.
"""

from gradtui.ops.errors import InputError

__all__ = ["InputError"]
