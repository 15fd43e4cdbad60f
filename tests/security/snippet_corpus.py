"""Hostile snippets: each one, run as Python, would create one canary file.

The snippet language runs statements, so its attack surface is wider than an
expression's: imports, statements Python would execute (``def``, ``class``, ``with
open``, decorators, loops), values a snippet holds and hands back to torch (``type(x)``,
``grad_fn`` nodes), and the torch routes a script naturally reaches for (``torch.save``,
``.numpy().tofile``, hooks, ``torch.autograd.Function``, ``nn.Module``). Every payload
here aims at writing ``canary``; ``test_snippet_hostile.py`` runs each through
``gradtui snippet`` and through :func:`ops.snippet.run_bounded` and asserts the file
never appears, and its control runs them under plain Python, where most do write it.

Sources, besides those of :mod:`tests.security.corpus` ([NB], [HT], [AR], [CTF],
[PEP3131], [PEP498], [PY], [TORCH]):

* [TS]  Boucher and Anderson, "Trojan Source: Invisible Vulnerabilities" (2021),
  https://trojansource.codes/ : bidirectional controls that reorder how code reads.
* [HOOK] PyTorch docs: ``Tensor.register_hook``, ``Node.register_hook``,
  ``Node.metadata``, ``Module.register_forward_hook``, ``torch.autograd.Function``,
  ``Tensor.apply_``/``map_``: places where torch calls a Python function it is given.
* [MOD] Python modules keep the modules they import as attributes: ``torch.os`` is
  :mod:`os` (``torch/__init__.py`` imports it), and so is ``torch.hub.os``.
* [CB]  torch functions that take a callable: ``F.triplet_margin_with_distance_loss``
  (``distance_function=``), ``torch.vmap``, ``torch.cond``.
"""

from __future__ import annotations

from pathlib import Path

from tests.security.corpus import Payload

HEAD = "import torch\nimport torch.nn.functional as F\n"
"""Most payloads start as a pasted snippet does."""


def payloads(canary: Path) -> list[Payload]:
    """The corpus, every payload aimed at creating ``canary`` (an absolute path)."""
    c = repr(str(canary))
    touch = repr(f"touch {canary}")
    grad = "x = torch.ones(2, requires_grad=True)\ny = (x * 2).sum()\n"
    out: list[Payload] = []

    def add(id: str, text: str, source: str, category: str, head: str = HEAD) -> None:
        out.append(Payload(id, head + text, source, category))

    # --- builtins Python would give a script
    add("open", f"open({c}, 'w').close()\n", "[PY] the builtin itself", "builtins")
    add("open-print", f"print(open({c}, 'w'))\n", "[PY] open inside an allowed call", "builtins")
    add("import-builtin", f"__import__('os').system({touch})\n", "[NB] __import__", "builtins")
    add("eval", f"eval(\"open({c}, 'w')\")\n", "[NB] eval of a string", "builtins")
    add("exec", f"exec(\"open({c}, 'w')\")\n", "[NB] exec of a string", "builtins")
    add("compile", f"exec(compile(\"open({c}, 'w')\", 's', 'exec'))\n", "[NB]", "builtins")
    add("getattr-builtins", f"getattr(torch, 'save')(torch.ones(1), {c})\n", "[HT]", "builtins")
    add(
        "vars-torch",
        f"vars(torch)['save'](torch.ones(1), {c})\n",
        "[HT] vars() of a module",
        "builtins",
    )
    add("dunder-builtins", f"__builtins__['open']({c}, 'w')\n", "[HT] __builtins__", "builtins")
    add(
        "map-open",
        f"list(map(open, [{c}], ['w']))\n",
        "[HT] a builtin passed as a value",
        "builtins",
    )
    add("star-open", f"print(*[open({c}, 'w')])\n", "[PY] * unpacking around a call", "builtins")
    add(
        "dict-kwargs",
        f"torch.ones(1, **{{'out': open({c}, 'w')}})\n",
        "[PY] ** unpacking",
        "builtins",
    )
    # --- imports
    add("import-os", f"import os\nos.system({touch})\n", "[HT] a plain import", "import")
    add("from-os", f"from os import system\nsystem({touch})\n", "[HT] from-import", "import")
    add(
        "import-alias",
        f"import os as torch\ntorch.system({touch})\n",
        "[HT] an import named torch",
        "import",
        "",
    )
    add(
        "import-torch-os",
        f"from torch import os\nos.system({touch})\n",
        "[MOD] a module's module",
        "import",
    )
    add("import-pathlib", f"import pathlib\npathlib.Path({c}).touch()\n", "[HT]", "import")
    add(
        "import-with-torch",
        f"import torch, os\nos.system({touch})\n",
        "[HT] os beside torch",
        "import",
        "",
    )
    # --- statements Python would run
    add("def", f"def f():\n    open({c}, 'w')\nf()\n", "[PY] def", "statements")
    add("class", f"class A:\n    open({c}, 'w')\n", "[PY] a class body runs", "statements")
    add(
        "decorator",
        f"@open({c}, 'w').write\ndef f():\n    pass\n",
        "[PEP614] decorator",
        "statements",
    )
    add("lambda", f"(lambda: open({c}, 'w'))()\n", "[NB] lambda", "statements")
    add("for", f"for i in [1]:\n    open({c}, 'w')\n", "[PY] a loop body", "statements")
    add("while", f"while not open({c}, 'w'):\n    pass\n", "[PY] a loop test", "statements")
    add("if", f"if True:\n    open({c}, 'w')\n", "[PY] if", "statements")
    add("try", f"try:\n    open({c}, 'w')\nexcept Exception:\n    pass\n", "[PY] try", "statements")
    add("with-open", f"with open({c}, 'w'):\n    x = 1\n", "[PY] with", "statements")
    add(
        "with-no-grad-open",
        f"with torch.no_grad(), open({c}, 'w'):\n    x = 1\n",
        "[PY] a second context",
        "statements",
    )
    add("walrus", f"(f := open({c}, 'w'))\n", "[PY] :=", "statements")
    add("comprehension", f"[open({c}, 'w') for i in [1]]\n", "[PY] comprehension", "statements")
    add("assert", f"assert open({c}, 'w')\n", "[PY] assert", "statements")
    add("del-subscript", f"d = [open({c}, 'w')]\ndel d[0]\n", "[PY] del", "statements")
    add(
        "annotated", f"x: open({c}, 'w') = 1\n", "[PY] a module-level annotation runs", "statements"
    )
    add(
        "aug-attr",
        f"{grad}y.grad_fn.metadata['k'] = open({c}, 'w')\n",
        "[HOOK] metadata",
        "statements",
    )
    add(
        "dunder-assign",
        f"__builtins__ = None\nopen({c}, 'w')\n",
        "[HT] rebinding a dunder",
        "statements",
    )
    add(
        "rebind-print",
        f"print = open\nprint({c}, 'w')\n",
        "[HT] rebinding an allowed builtin",
        "statements",
    )
    # --- the dunder walks, from values a snippet holds
    add(
        "subclasses",
        "k = [k for k in ().__class__.__base__.__subclasses__() if k.__name__ == 'catch_warnings']"
        f"[0]\nk()._module.__builtins__['open']({c}, 'w')\n",
        "[NB] object.__subclasses__()",
        "subclasses",
    )
    add(
        "tensor-repr-globals",
        f"x = torch.ones(1)\nx.__class__.__repr__.__globals__['__builtins__']['open']({c}, 'w')\n",
        "[HT] a torch function's __globals__",
        "subclasses",
    )
    add(
        "type-repr-globals",
        f"x = torch.ones(1)\nt = type(x)\nt.__repr__.__globals__['__builtins__']['open']({c}, 'w')\n",
        "[HT] the class type() hands back",
        "subclasses",
    )
    add(
        "gi-frame",
        f"g = (i for i in [1])\ng.gi_frame.f_builtins['open']({c}, 'w')\n",
        "[CTF] a generator's frame",
        "frames",
    )
    add(
        "traceback-frame",
        f"try:\n    1 / 0\nexcept Exception as e:\n    e.__traceback__.tb_frame.f_builtins['open']({c}, 'w')\n",
        "[CTF] an exception's frame",
        "frames",
    )
    add(
        "type-three-args",
        f"t = type(type(torch.ones(1)))\nA = t('A', (), {{'k': open({c}, 'w')}})\n",
        "[HT] type(name, bases, dict)",
        "subclasses",
    )
    add(
        "module-dict",
        f"torch.__dict__['save'](torch.ones(1), {c})\n",
        "[HT] a module's __dict__",
        "subclasses",
    )
    add(
        "f-builtins",
        f"F.__builtins__['open']({c}, 'w')\n",
        "[HT] a module's __builtins__",
        "subclasses",
    )
    # --- strings and formatting
    add("fstring-call", f"s = f\"{{open({c}, 'w')}}\"\n", "[PEP498] f-string expression", "format")
    add(
        "fstring-spec",
        f"s = f\"{{1:{{open({c}, 'w') and 5}}}}\"\n",
        "[PEP498] nested format spec",
        "format",
    )
    add(
        "fstring-repr-spec",
        f"s = f\"{{1!r:{{open({c}, 'w') and 5}}}}\"\n",
        "[PEP498] !r then a spec",
        "format",
    )
    add("str-format", f"s = '{{}}'.format(open({c}, 'w'))\n", "[AR] str.format", "format")
    add("percent", f"s = '%s' % open({c}, 'w')\n", "[AR] % formatting", "format")
    add("print-file", f"print('x', file=open({c}, 'w'))\n", "[PY] print(file=...)", "format")
    # --- torch's files and subsystems
    add("torch-save", f"torch.save(torch.ones(1), {c})\n", "[TORCH] torch.save", "tensor-files")
    add(
        "serialization-save",
        f"torch.serialization.save(torch.ones(1), {c})\n",
        "[TORCH]",
        "tensor-files",
    )
    add(
        "numpy-tofile",
        f"torch.ones(1).numpy().tofile({c})\n",
        "[TORCH] Tensor.numpy",
        "tensor-files",
    )
    add(
        "from-file",
        f"torch.from_file({c}, shared=True, size=4)\n",
        "[TORCH] torch.from_file",
        "tensor-files",
    )
    add(
        "storage-from-file",
        f"torch.UntypedStorage.from_file({c}, True, 4)\n",
        "[TORCH] UntypedStorage.from_file",
        "tensor-files",
    )
    add(
        "untyped-storage",
        f"torch.ones(1).untyped_storage().from_file({c}, True, 4)\n",
        "[TORCH] a tensor's storage",
        "tensor-files",
    )
    add("serialization-os", f"torch.serialization.os.system({touch})\n", "[MOD]", "tensor-files")
    add("torch-os", f"torch.os.system({touch})\n", "[MOD] torch.os", "tensor-files")
    add("hub-os", f"torch.hub.os.system({touch})\n", "[MOD] torch.hub.os", "tensor-files")
    add("F-torch-os", f"F.torch.os.system({touch})\n", "[MOD] F.torch.os", "tensor-files")
    add(
        "utils-os",
        f"import torch.utils.data\ntorch.utils.data.dataloader.os.system({touch})\n",
        "[MOD]",
        "tensor-files",
    )
    add(
        "C-module",
        f"torch._C._log_api_usage_once('x')\ntorch.save(torch.ones(1), {c})\n",
        "[TORCH] torch._C",
        "tensor-files",
    )
    add(
        "ops-namespace",
        f"torch.ops.aten.add(torch.ones(1), 1)\ntorch.save(torch.ones(1), {c})\n",
        "[TORCH] torch.ops",
        "tensor-files",
    )
    # --- values that reach the outside from the autograd graph
    add(
        "grad-fn-variable",
        f"{grad}v = y.grad_fn.next_functions[0][0].next_functions[0][0].variable\n"
        f"v.detach().numpy().tofile({c})\n",
        "[HOOK] AccumulateGrad.variable",
        "attributes",
    )
    add(
        "node-register-hook",
        f"{grad}y.grad_fn.register_hook(lambda *a: open({c}, 'w'))\ny.backward()\n",
        "[HOOK] Node.register_hook",
        "attributes",
    )
    add(
        "tensor-register-hook",
        f"{grad}x.register_hook(lambda g: open({c}, 'w') and g)\ny.backward()\n",
        "[HOOK] Tensor.register_hook",
        "attributes",
    )
    add(
        "post-accumulate-hook",
        f"{grad}x.register_post_accumulate_grad_hook(lambda t: open({c}, 'w'))\ny.backward()\n",
        "[HOOK] register_post_accumulate_grad_hook",
        "attributes",
    )
    add(
        "grad-fn-metadata",
        f"{grad}m = y.grad_fn.metadata\nm.update(k=open({c}, 'w'))\n",
        "[HOOK] Node.metadata",
        "attributes",
    )
    add(
        "apply",
        f"x = torch.ones(1)\nx.apply_(lambda v: open({c}, 'w') and v)\n",
        "[HOOK] Tensor.apply_",
        "attributes",
    )
    add(
        "map",
        f"x = torch.ones(1)\nx.map_(x, lambda a, b: open({c}, 'w') and a)\n",
        "[HOOK] Tensor.map_",
        "attributes",
    )
    add(
        "autograd-function",
        "class E(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, a):\n"
        f"        open({c}, 'w')\n        return a\nE.apply(torch.ones(1))\n",
        "[HOOK] torch.autograd.Function",
        "attributes",
    )
    add(
        "nn-module-hook",
        f"m = torch.nn.Linear(1, 1)\nm.register_forward_hook(lambda *a: open({c}, 'w'))\n"
        "m(torch.ones(1))\n",
        "[HOOK] Module.register_forward_hook",
        "attributes",
    )
    add(
        "nn-module-subclass",
        f"import torch.nn as nn\nclass M(nn.Module):\n    def forward(self, a):\n"
        f"        return open({c}, 'w')\nM()(torch.ones(1))\n",
        "[HOOK] nn.Module",
        "attributes",
    )
    add(
        "distance-function",
        "x = torch.ones(1, 2)\nF.triplet_margin_with_distance_loss(x, x, x, distance_function="
        f"lambda a, b: open({c}, 'w') and (a - b).abs().sum(-1))\n",
        "[CB] distance_function=",
        "attributes",
    )
    add(
        "vmap",
        f"torch.vmap(lambda v: open({c}, 'w') and v)(torch.ones(2))\n",
        "[CB] vmap",
        "attributes",
    )
    add(
        "cond",
        f"torch.cond(torch.tensor(True), lambda v: open({c}, 'w') and v, lambda v: v, (torch.ones(1),))\n",
        "[CB] torch.cond",
        "attributes",
    )
    add(
        "hub-load",
        f"torch.hub.set_dir({c})\ntorch.save(torch.ones(1), {c})\n",
        "[TORCH] torch.hub",
        "attributes",
    )
    # --- text that reads differently from how it runs
    add("nfkc-fullwidth", f"ｏｐｅｎ({c}, 'w')\n", "[PEP3131] NFKC: fullwidth letters", "nfkc")
    add("nfkc-italic", f"𝘰𝘱𝘦𝘯({c}, 'w')\n", "[PEP3131] NFKC: mathematical italic", "nfkc")
    add(
        "trojan-source",
        f"x = 1  # \u202e }} \u2066open({c}, 'w')\u2069 \u2066# {{\nopen({c}, 'w')\n",
        "[TS] bidi controls around code",
        "characters",
    )
    add("lone-cr", f"x = 1  # harmless\ropen({c}, 'w')\n", "[PY] \\r ends a line", "characters")
    add(
        "zero-width",
        f"x = 1  # a\u200bb\nopen({c}, 'w')\n",
        "[TS] an invisible character",
        "characters",
    )
    add(
        "line-separator",
        f"x = 1  # a\u2028open({c}, 'w')\n",
        "[PY] U+2028 in a comment",
        "characters",
    )
    return out
