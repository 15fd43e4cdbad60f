"""Hostile texts for model mode's three text fields: the layer spec, the optimizer, the loss.

Model mode parses ``Linear(2, 3) -> Tanh()``, ``SGD(lr=0.1)`` and ``mse_loss`` by
allow-list (:mod:`ops.model_spec`); nothing typed is evaluated. A naive tool would do
what :data:`NAIVE` does: split the spec at ``->`` and ``eval`` each layer with ``nn``'s
classes in scope, ``eval`` the optimizer with the optimizers bound to some parameters,
``eval`` the loss name and call it. Every payload marked ``live`` writes its canary under
that naive tool (``test_model_hostile.py`` checks each one does, in a throwaway
subprocess); the others are texts a parser must refuse without being code at all (names
outside the tables, keywords that pick another implementation, size bombs, characters).

Sources, besides those of :mod:`tests.security.corpus` ([NB], [HT], [CTF], [PEP3131],
[PEP498], [PY]) and :mod:`tests.security.snippet_corpus` ([TS], [MOD]):

* [SPEC] model mode's own grammar: ``->`` between layers, quotes and brackets around
  it, keyword values, the tables (``LAYERS``, ``OPTIMIZERS``, the catalog's losses).
* [OPT] ``torch.optim`` keywords that choose an implementation (``foreach``, ``fused``,
  ``capturable``, ``differentiable``) or take the parameters (``params``).
* [NN] ``torch.nn`` names a script could reach that the table leaves out: containers,
  convolutions, ``Module`` itself, ``nn.functional``.
* [BOMB] sizes that would allocate gigabytes or hang a naive parser (huge literals,
  ``**``, deep nesting, very long text).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelPayload:
    """One hostile text for one field.

    Attributes:
        id: Short name, the pytest id.
        field: ``"spec"``, ``"optimizer"`` or ``"loss"``.
        text: What is typed.
        source: Where the technique comes from.
        category: Which kind of route.
        live: Whether the naive tool of :data:`NAIVE` writes the canary running it.
    """

    id: str
    field: str
    text: str
    source: str
    category: str
    live: bool


NAIVE = r"""
import json, os, sys, functools
import torch
import torch.nn.functional as F
from torch import nn, optim

param = torch.zeros(1, requires_grad=True)
names = {"torch": torch, "nn": nn, "F": F, "optim": optim}
layers = dict(names, **{k: v for k, v in vars(nn).items() if not k.startswith("_")})
optimizers = dict(
    names,
    **{k: functools.partial(v, [param]) for k, v in vars(optim).items() if isinstance(v, type)},
)
losses = dict(names, **{k: v for k, v in vars(F).items() if not k.startswith("_")})


def naive(text, scope):
    # what gradtui never does: hand the typed text to Python
    try:
        return eval(compile(text, "<typed>", "eval"), dict(scope))
    except SyntaxError:
        exec(compile(text, "<typed>", "exec"), dict(scope))


out = []
for item in json.load(sys.stdin):
    field, text = item["text"].split("\0", 1)
    try:
        if field == "spec":
            for piece in text.split("->"):
                naive(piece.strip(), layers)
        elif field == "optimizer":
            naive(text, optimizers)
        else:
            fn = naive(text.strip(), losses)
            fn(torch.ones(2), torch.zeros(2))
    except BaseException:
        pass
    out.append(os.path.exists(item["canary"]))
print(json.dumps(out))
"""
"""The control's naive tool: reads ``field + "\\0" + text`` (see :func:`for_control`)."""


def payloads(canary: Path) -> list[ModelPayload]:
    """The corpus, every live payload aimed at creating ``canary`` (an absolute path)."""
    c = repr(str(canary))
    touch = repr(f"touch {canary}")
    opener = f"open({c}, 'w')"
    out: list[ModelPayload] = []

    def add(field: str, id: str, text: str, source: str, category: str, live: bool) -> None:
        out.append(ModelPayload(f"{field}-{id}", field, text, source, category, live))

    # ------------------------------------------------------------------ the spec
    def spec(id: str, text: str, source: str, category: str, live: bool = True) -> None:
        add("spec", id, text, source, category, live)

    spec("import", f"__import__('os').system({touch})", "[NB] __import__", "import")
    spec(
        "import-after-layer",
        f"Linear(2, 3) -> __import__('os').system({touch})",
        "[SPEC] a second layer",
        "import",
    )
    spec(
        "import-in-arg",
        f"Linear(__import__('os').system({touch}), 3)",
        "[NB] a call as an argument",
        "nested-call",
    )
    spec("open-kw", f"Linear(2, 3, bias={opener})", "[SPEC] a keyword's value", "nested-call")
    spec("len-open", f"Linear(2, len({opener}.name))", "[PY] a call inside a call", "nested-call")
    spec("eval", f'Linear(2, 3) -> eval("{opener}")', "[NB] eval", "eval")
    spec("exec", f'exec("{opener}") -> Tanh()', "[NB] exec", "eval")
    spec(
        "getattr",
        f"getattr(__import__('builtins'), 'open')({c}, 'w')",
        "[HT] getattr",
        "getattr",
    )
    spec(
        "getattr-torch",
        f"Linear(2, 3) -> getattr(torch, 'save')(torch.ones(1), {c})",
        "[HT] getattr on torch",
        "getattr",
    )
    spec("torch-save", f"torch.save(torch.ones(1), {c})", "[TORCH] torch.save", "torch")
    spec("hub-os", f"torch.hub.os.system({touch})", "[MOD] a module's module", "torch")
    spec(
        "subclasses",
        "[k for k in ().__class__.__base__.__subclasses__() if k.__name__ == "
        f"'catch_warnings'][0]()._module.__builtins__['open']({c}, 'w')",
        "[NB] object.__subclasses__()",
        "dunder",
    )
    spec(
        "init-globals",
        f"Linear.__init__.__globals__['__builtins__']['open']({c}, 'w')",
        "[HT] a class's __init__.__globals__",
        "dunder",
    )
    spec(
        "layer-dunder",
        f"Linear(2, 3).__class__.__init__.__globals__['__builtins__']['open']({c}, 'w')",
        "[HT] dunders off a layer",
        "dunder",
    )
    spec("lambda", f"(lambda: {opener})()", "[NB] lambda", "lambda")
    spec("lambda-kw", f"Linear(2, 3, bias=(lambda: {opener})())", "[NB] lambda value", "lambda")
    spec(
        "comprehension",
        f"Linear(2, 3) -> [{opener} for _ in (1,)]",
        "[PY] comprehension",
        "comprehension",
    )
    spec(
        "genexp-arg",
        f"Linear(2, sum(1 for _ in [{opener}]))",
        "[PY] generator argument",
        "comprehension",
    )
    spec("fstring", f'Linear(2, 3, bias=f"{{{opener}}}")', "[PEP498] f-string", "fstring")
    spec(
        "fstring-spec",
        f'GELU(approximate=f"{{1:{{{opener} and 5}}}}")',
        "[PEP498] nested format spec",
        "fstring",
    )
    spec("starred", f"Linear(*[{opener} and 2, 3])", "[PY] * unpacking", "starred")
    spec(
        "double-star",
        f"Linear(2, 3, **{{'bias': {opener} is not None}})",
        "[PY] ** unpacking",
        "starred",
    )
    spec("walrus", f"Linear((f := {opener}) and 2, 3)", "[PY] :=", "nested-call")
    spec(
        "arrow-in-quotes",
        f"Tanh() -> GELU(approximate=\"none') -> {opener} -> GELU(approximate='none\")",
        "[SPEC] -> inside a string the splitter must keep whole",
        "arrow",
        live=False,  # the naive split breaks the string first and stops there
    )
    spec(
        "arrow-in-brackets",
        f"Linear(2, 3, bias=[True -> {opener}][0])",
        "[SPEC] -> inside brackets",
        "arrow",
        live=False,  # not Python once split
    )
    spec("arrow-lead", f"-> {opener}", "[SPEC] an empty first layer", "arrow")
    spec("arrow-tail", f"Linear(2, 3) -> Tanh() -> {opener} ->", "[SPEC] a trailing ->", "arrow")
    spec(
        "arrow-semicolon",
        f"Linear(2, 3); {opener} -> Tanh()",
        "[PY] a second statement",
        "arrow",
    )
    spec("nfkc-open", f"𝘰𝘱𝘦𝘯({c}, 'w')", "[PEP3131] NFKC identifiers", "characters")
    spec(
        "bidi",
        f"Linear(2, 3, bias='\u202e') -> {opener}",
        "[TS] a right-to-left override",
        "characters",
    )
    spec(
        "zero-width",
        f"Linear(2, 3) -> {opener} -> Tanh\u200b()",
        "[TS] a zero-width space",
        "characters",
    )
    spec("newline", f"Linear(2, 3)\n{opener}", "[PY] a line break", "characters")
    spec("formfeed", f"Linear(2, 3) ->\x0c{opener}", "[PY] form feed", "characters")
    spec("nul", "Linear(2, 3)\x00 -> Tanh()", "[PY] NUL", "characters", live=False)
    spec("escape", "Linear(2, 3) -> \x1b[2JTanh()", "[TS] a terminal escape", "characters", False)
    for name, text in (
        ("sequential", "nn.Sequential(nn.Linear(2, 3))"),
        ("conv2d", "nn.Conv2d(2, 3, 1)"),
        ("module", "torch.nn.modules.module.Module()"),
        ("module-dotted", "torch.nn.modules.linear.Linear(2, 3)"),
        ("functional", "nn.functional.relu()"),
        ("parameter", "nn.Parameter(2)"),
        ("lazy", "nn.LazyLinear(3)"),
        ("module-subclasses", "nn.Module.__subclasses__()"),
        ("layer-attr", "Linear.register_forward_hook(Tanh())"),
        ("inplace", "ReLU(inplace=True)"),
        ("device", "Linear(2, 3, device='meta')"),
        ("dtype", "Linear(2, 3, dtype='float16')"),
        ("bare-name", "Linear"),
        ("call-of-call", "Linear(2, 3)(4)"),
        ("subscript", "Linear(2, 3)[0]"),
        ("attribute", "Linear(2, 3).weight"),
        ("operator", "Linear(2, 3) + Tanh()"),
        ("arrow-chain-op", "Linear(2, 3) - > Tanh()"),
        ("twice", "Linear(2, 3, bias=True, bias=False)"),
        ("twice-positional", "Linear(2, 3, in_features=2)"),
    ):
        spec(name, text, "[NN] outside the table", "names", live=False)
    for name, text in (
        ("huge-int", "Linear(" + "9" * 1500 + ", 3)"),
        ("power", "Linear(10**100, 3)"),
        ("power-tower", "Linear(2, 9**9**9**9)"),
        ("float-bomb", "LeakyReLU(1e999)"),
        ("nan", "LeakyReLU(float('nan'))"),
        ("negative-size", "Linear(-2, 3)"),
        ("bool-size", "Linear(True, 3)"),
        ("float-size", "Linear(2.0, 3)"),
        ("deep-nesting", "Linear(" + "(" * 300 + "2" + ")" * 300 + ", 3)"),
        ("deep-tuple", "LayerNorm(" + "(" * 50 + "3" + ",)" * 50 + ")"),
        ("long-text", "Tanh() -> " * 300 + "Tanh()"),
        ("many-layers", " -> ".join(["Tanh()"] * 65)),
        ("wide", "Linear(100000, 100000)"),
        ("two-wide", "Linear(2, 100000) -> Linear(100000, 100)"),
        ("layernorm-bomb", "LayerNorm((100000, 100000, 100000))"),
        ("big-string", "GELU(approximate='" + "x" * 1900 + "')"),
        ("long-tuple", "LayerNorm((" + "1, " * 40 + "1))"),
    ):
        spec(name, text, "[BOMB] a size bound", "bombs", live=False)

    # ------------------------------------------------------------------ the optimizer
    def opt(id: str, text: str, source: str, category: str, live: bool = True) -> None:
        add("optimizer", id, text, source, category, live)

    opt("import", f"SGD(lr=__import__('os').system({touch}))", "[NB] __import__", "import")
    opt("params", f"SGD(params={opener})", "[OPT] params=", "nested-call")
    opt("eval", f'SGD(lr=eval("{opener}") and 0.1)', "[NB] eval", "eval")
    opt("exec", f'exec("{opener}")', "[NB] exec", "eval")
    opt(
        "getattr",
        f"getattr(optim, 'SGD')(lr=0.1, momentum=0 * len({opener}.name))",
        "[HT] getattr",
        "getattr",
    )
    opt(
        "init-globals",
        f"torch.optim.SGD.__init__.__globals__['__builtins__']['open']({c}, 'w')",
        "[HT] __init__.__globals__",
        "dunder",
    )
    opt(
        "class-dict",
        f"SGD.__class__.__call__(SGD, lr=0.1, momentum=len({opener}.name))",
        "[HT] dunders off the name",
        "dunder",
    )
    opt("lambda", f"SGD(lr=(lambda: {opener})() and 0.1)", "[NB] lambda", "lambda")
    opt("comprehension", f"SGD(lr=[{opener} for _ in 'x'] and 0.1)", "[PY]", "comprehension")
    opt("fstring", f'SGD(lr=f"{{{opener}}}")', "[PEP498] f-string", "fstring")
    opt(
        "double-star",
        f"SGD(lr=0.1, **{{'foreach': {opener} is not None}})",
        "[PY] ** unpacking",
        "starred",
    )
    opt("starred", f"SGD(*[{opener}], lr=0.1)", "[PY] * unpacking", "starred")
    opt(
        "betas-open",
        f"Adam(lr=0.1, betas=(0.9, {opener}))",
        "[OPT] a tuple's element",
        "nested-call",
    )
    opt(
        "dampening-open",
        f"SGD(lr=0.1, momentum=0.9, dampening=len({opener}.name))",
        "[OPT] a keyword's value",
        "nested-call",
    )
    opt("nfkc", f"SGD(lr=len(𝘰𝘱𝘦𝘯({c}, 'w').name))", "[PEP3131] NFKC identifiers", "characters")
    opt("semicolon", f"SGD(lr=0.1); {opener}", "[PY] a second statement", "arrow")
    for name, text in (
        ("foreach", "SGD(lr=0.1, foreach=True)"),
        ("fused", "Adam(lr=0.1, fused=True)"),
        ("capturable", "Adam(capturable=True)"),
        ("differentiable", "SGD(lr=0.1, differentiable=True)"),
        ("params-kw", "SGD(params=[], lr=0.1)"),
        ("positional", "SGD(0.1)"),
        ("lbfgs", "LBFGS(lr=1)"),
        ("scheduler", "torch.optim.lr_scheduler.StepLR(step_size=1)"),
        ("optimizer-base", "torch.optim.Optimizer(lr=0.1)"),
        ("bare-dunder", "SGD.__dict__"),
        ("bare-import", "__import__"),
        ("nn-prefix", "nn.SGD(lr=0.1)"),
        ("twice", "SGD(lr=0.1, lr=0.2)"),
        ("arrow", "SGD(lr=0.1) -> Adam()"),
    ):
        opt(name, text, "[OPT] outside the table", "names", live=False)
    for name, text in (
        ("inf", "SGD(lr=1e999)"),
        ("power", "SGD(lr=10**10**10)"),
        ("huge-int", "SGD(lr=" + "9" * 1500 + ")"),
        ("nan-string", "SGD(lr='nan')"),
        ("betas-long", "Adam(betas=(0.9, 0.99, 0.999))"),
        ("betas-string", "Adam(betas='0.9')"),
        ("deep", "SGD(lr=" + "(" * 300 + "0.1" + ")" * 300 + ")"),
        ("long", "SGD(lr=0.1" + ", momentum=0.9" * 200 + ")"),
    ):
        opt(name, text, "[BOMB] a value bound", "bombs", live=False)

    # ------------------------------------------------------------------ the loss
    def loss(id: str, text: str, source: str, category: str, live: bool = True) -> None:
        add("loss", id, text, source, category, live)

    loss(
        "dict-builtins",
        f"F.__dict__['__builtins__']['open']({c}, 'w')",
        "[HT] a module's __dict__",
        "dunder",
    )
    loss("import", f"__import__('os').system({touch})", "[NB] __import__", "import")
    loss(
        "globals",
        f"mse_loss.__globals__['__builtins__']['open']({c}, 'w')",
        "[HT] a function's __globals__",
        "dunder",
    )
    loss("call", f"F.mse_loss({opener})", "[PY] a call for a name", "nested-call")
    loss("lambda", f"lambda a, b: {opener}", "[NB] a lambda the tool calls", "lambda")
    loss("semicolon", f"mse_loss; {opener}", "[PY] a second statement", "arrow")
    loss("eval", f'eval("{opener}")', "[NB] eval", "eval")
    loss("getattr", f"getattr(F, 'mse_loss') if {opener} else 0", "[HT] getattr", "getattr")
    loss("fstring", f'f"{{{opener}}}"', "[PEP498] f-string", "fstring")
    loss("comprehension", f"[{opener} for _ in 'x'][0]", "[PY] comprehension", "comprehension")
    loss("nfkc", f"𝘰𝘱𝘦𝘯({c}, 'w')", "[PEP3131] NFKC identifiers", "characters")
    for name, text in (
        ("dict", "F.__dict__"),
        ("eval-name", "eval"),
        ("exec-name", "exec"),
        ("getattr-name", "getattr"),
        ("dunder-name", "__builtins__"),
        ("module", "torch.nn.functional"),
        ("not-a-loss", "F.relu"),
        ("kl-div-dotted", "torch.nn.functional.mse_loss.__call__"),
        ("nn-class", "nn.MSELoss"),
        ("fullwidth", "ｍｓｅ_loss"),
        ("zero-width", "mse_loss\u200b"),
        ("bidi", "mse\u202e_loss"),
        ("nul", "mse_loss\x00"),
        ("newline", "mse_loss\nl1_loss"),
        ("long", "m" * 5000),
        ("empty", "   "),
    ):
        loss(name, text, "[SPEC] outside the catalog's losses", "names", live=False)
    return out


def for_control(canary: Path) -> list[ModelPayload]:
    """The live payloads, each as ``field + "\\0" + text`` for :data:`NAIVE`."""
    return [
        ModelPayload(p.id, p.field, f"{p.field}\0{p.text}", p.source, p.category, p.live)
        for p in payloads(canary)
        if p.live
    ]
