"""A corpus of known Python sandbox escapes, each aimed at writing one canary file.

Every payload is the text a hostile person could type into an input field. Each one,
if it ever ran as Python, would create the file at the canary's absolute path; the
tests feed them to gradtui and assert that they are refused with ``InputError`` and
that the file never appears. ``test_the_corpus_is_live`` shows that most of them DO
write the canary when handed to plain Python (in a throwaway subprocess), so the
canary check is not vacuous.

Each entry names where the technique comes from. Main sources:

* [NB]  Ned Batchelder, "Eval really is dangerous" (2012),
  https://nedbatchelder.com/blog/201206/eval_really_is_dangerous.html
* [HT]  HackTricks, "Bypass Python sandboxes",
  https://book.hacktricks.xyz/generic-methodologies-and-resources/python/bypass-python-sandboxes
* [AR]  Armin Ronacher, "Be Careful with Python's New-Style String Format" (2016),
  https://lucumr.pocoo.org/2016/12/29/careful-with-str-format/
* [CTF] pyjail challenges and write-ups (PlaidCTF "PyJail" 2013/2014, Hack.lu, DiceCTF,
  UIUCTF; collected in jailctf/pyjail-collection on GitHub): frame walks, generator
  ``gi_frame``, quote-free code, unicode identifiers.
* [PEP3131] PEP 3131 and the Python reference, "Identifiers and keywords": identifiers
  are NFKC-normalised, so ``𝘦𝘷𝘢𝘭`` IS ``eval`` to the Python parser.
* [PEP498] PEP 498, f-strings evaluate the expressions in their braces (and in nested
  format specs).
* [PEP614] PEP 614, any expression may be a decorator (Python 3.9).
* [PY] The Python language reference: lexical analysis (line joining, ``\\r`` and
  form feed as line ends), ``pickle``'s security warning, ``sys._getframe``.
* [ATTR] Routes that attribute access opens once the language speaks PyTorch
  (``torch.X``, ``F.X``, ``x.method()``, ``x.T``, ``x[...]``, keyword values, strings,
  dtypes, named-tuple fields): each is a real torch call chain that writes the canary,
  the path spelled with ``chr`` so that no quote stops it before the attribute does.
* [TORCH] PyTorch docs: ``Tensor.numpy`` (then numpy's ``ndarray.tofile``/``dump``),
  ``Tensor.untyped_storage`` and ``UntypedStorage.from_file(filename, shared, nbytes)``,
  ``torch.from_file``, ``torch.save``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Payload:
    """One hostile text.

    Attributes:
        id: Short name, used as the pytest id.
        text: The text to type; it contains the canary's absolute path (as a string
            literal, or spelled with ``chr``/bytes where the trick avoids quotes).
        source: Where the technique comes from.
        category: Which class of escape (for the README count and for sampling).
    """

    id: str
    text: str
    source: str
    category: str


def _chr(text: str) -> str:
    """``text`` spelled without quotes: ``chr(47)+chr(116)+...``."""
    return "+".join(f"chr({ord(c)})" for c in text)


def _bytes(text: str) -> str:
    """``text`` as a quote-free ``bytes((111, 112, ...))`` expression."""
    return "bytes((" + ",".join(str(b) for b in text.encode()) + ",))"


def payloads(canary: Path) -> list[Payload]:
    """The corpus, every payload aimed at creating ``canary`` (an absolute path)."""
    p = str(canary)
    c = repr(p)  # the path as a Python string literal
    touch = repr(f"touch {p}")
    opener = f"open({c}, 'w')"
    code = f"open({p!r}, 'w')"  # Python source that writes the canary

    def make(id: str, text: str, source: str, category: str) -> Payload:
        return Payload(id, text, source, category)

    out = [
        # --- the __subclasses__ walk: from any object up to `object`, down to a class
        # whose module globals hold builtins or os.
        make(
            "subclasses-catch-warnings",
            "[k for k in ().__class__.__bases__[0].__subclasses__() "
            "if k.__name__ == 'catch_warnings'][0]()._module.__builtins__['open']"
            f"({c}, 'w')",
            "[NB] the classic ().__class__.__bases__[0].__subclasses__() walk",
            "subclasses",
        ),
        make(
            "subclasses-wrap-close",
            "[k for k in ''.__class__.__mro__[1].__subclasses__() "
            f"if k.__name__ == '_wrap_close'][0].__init__.__globals__['system']({touch})",
            "[HT] os._wrap_close.__init__.__globals__ -> os.system",
            "subclasses",
        ),
        make(
            "subclasses-builtin-importer",
            "[k for k in [].__class__.__mro__[-1].__subclasses__() "
            f"if k.__name__ == 'BuiltinImporter'][0].load_module('os').system({touch})",
            "[HT] BuiltinImporter.load_module('os') found via object.__subclasses__()",
            "subclasses",
        ),
        make(
            "subclasses-type-call",
            "[k for k in type.__subclasses__(object) if k.__name__ == 'catch_warnings'][0]()"
            f"._module.__builtins__['open']({c}, 'w')",
            "[HT] type.__subclasses__(object): the walk without touching __class__",
            "subclasses",
        ),
        make(
            "subclasses-on-tensor",
            "[k for k in x.__class__.__mro__[-1].__subclasses__() "
            f"if k.__name__ == 'catch_warnings'][0]()._module.__builtins__['open']({c}, 'w')",
            "[NB] the same walk started from the input tensor itself",
            "subclasses",
        ),
        # --- __import__
        make(
            "import-os-system",
            f"__import__('os').system({touch})",
            "[HT] __import__('os').system",
            "import",
        ),
        make(
            "import-pathlib-touch",
            f"__import__('pathlib').Path({c}).touch()",
            "[HT] __import__ of any module with a file API",
            "import",
        ),
        make(
            "import-in-expression",
            f"exp(x) + __import__('os').system({touch})",
            "[HT] __import__ hidden inside an innocent-looking expression",
            "import",
        ),
        make(
            "import-pickle-loads",
            "__import__('pickle').loads(b'cos\\nsystem\\n(S' + "
            + repr(repr(f"touch {p}").encode())
            + " + b'\\ntR.')",
            "[PY] pickle docs warning: unpickling runs os.system via the GLOBAL opcode",
            "import",
        ),
        # --- eval / exec / compile
        make("eval-string", f"eval({code!r})", "[NB] eval of a string", "eval"),
        make("exec-string", f"exec({code!r})", "[NB] exec of a string", "eval"),
        make(
            "eval-compile",
            f"eval(compile({code!r}, '<x>', 'eval'))",
            "[HT] compile() then eval of the code object",
            "eval",
        ),
        make(
            "exec-bytes-no-quotes",
            f"exec({_bytes(code)})",
            "[HT]/[CTF] exec of bytes built from numbers: no quote characters at all",
            "eval",
        ),
        make(
            "eval-in-argument",
            f"exp(eval({code!r}))",
            "[NB] eval nested as an argument of an allowed function",
            "eval",
        ),
        # --- getattr with built-up names
        make(
            "getattr-concat",
            f"getattr(__import__('builtins'), 'op' + 'en')({c}, 'w')",
            "[HT] getattr with a name built by concatenation",
            "getattr",
        ),
        make(
            "getattr-dunder-concat",
            "[k for k in getattr(getattr(x, '__cl' + 'ass__'), '__m' + 'ro__')[-1]"
            ".__subclasses__() if k.__name__ == 'catch_warnings'][0]()._module"
            f".__builtins__['op' + 'en']({c}, 'w')",
            "[HT] getattr(x, '__cl'+'ass__'): dunder names a filter on '__' cannot see",
            "getattr",
        ),
        make(
            "getattr-chr-no-quotes",
            f"getattr(__import__({_chr('os')}), {_chr('system')})({_chr('touch ' + p)})",
            "[CTF] names and arguments spelled with chr(): no quotes, no dunder attribute",
            "getattr",
        ),
        make(
            "vars-builtins-chr",
            f"vars(__import__({_chr('builtins')}))[{_chr('open')}]({_chr(p)}, {_chr('w')})",
            "[CTF] vars(module)[name] instead of an attribute; quote-free",
            "getattr",
        ),
        make(
            "getattr-bytes-decode",
            f"getattr(__import__('os'), {_bytes('system')}.decode())({touch})",
            "[HT] a name decoded from bytes",
            "getattr",
        ),
        # --- format strings reading attributes
        make(
            "format-attribute",
            "'{0.__class__.__mro__[1].__subclasses__}'.format(x) and " + opener,
            "[AR] str.format reads attributes and items of its arguments",
            "format",
        ),
        make(
            "format-map",
            "'{a.__class__}'.format_map({'a': " + opener + "})",
            "[AR] format_map with a mapping built from a call",
            "format",
        ),
        make("f-string", 'f"{' + opener + '}"', "[PEP498] f-strings run their braces", "format"),
        make(
            "f-string-nested-spec",
            'f"{1:{bool(' + opener + ')}}"',
            "[PEP498] the nested format spec of an f-string is an expression too",
            "format",
        ),
        make(
            "percent-format",
            "'%s' % (" + opener + ",)",
            "[AR] %-formatting evaluates its operand",
            "format",
        ),
        # --- generator and function frames
        make(
            "gi-frame-f-back",
            f"[g := (g.gi_frame.f_back.f_builtins for _ in [1]), [*g][0]['open']({c}, 'w')]",
            "[CTF] generator gi_frame.f_back: reach the caller's frame and its builtins",
            "frames",
        ),
        make(
            "gi-frame-f-globals",
            "[g := (g.gi_frame.f_back.f_globals for _ in [1]), [*g][0]['__builtins__']"
            f"['open']({c}, 'w')]",
            "[CTF] gi_frame.f_back.f_globals['__builtins__']",
            "frames",
        ),
        make(
            "lambda-globals",
            f"(lambda: 0).__globals__['__builtins__']['open']({c}, 'w')",
            "[HT] a function's __globals__",
            "frames",
        ),
        make(
            "sys-getframe",
            f"__import__('sys')._getframe().f_builtins['open']({c}, 'w')",
            "[PY] sys._getframe() -> frame.f_builtins",
            "frames",
        ),
        make(
            "generator-throw-frame",
            "(lambda: (yield))().gi_frame.f_builtins['open'](" + c + ", 'w')",
            "[CTF] a lambda generator's frame before it runs",
            "frames",
        ),
        # --- walrus, lambda and comprehension tricks
        make(
            "lambda-default",
            f"(lambda f=open: f({c}, 'w'))()",
            "[HT] lambda with a default argument",
            "lambda",
        ),
        make(
            "walrus-alias",
            f"[f := open, f({c}, 'w')]",
            "[CTF] walrus (PEP 572) binds a builtin to a new name",
            "lambda",
        ),
        make(
            "list-comprehension",
            f"[open({c}, 'w') for _ in [1]]",
            "[HT] a comprehension runs its element expression",
            "lambda",
        ),
        make(
            "dict-comprehension",
            "{k: " + opener + " for k in [1]}",
            "[HT] dict comprehension",
            "lambda",
        ),
        make(
            "set-comprehension",
            "{" + opener + " for _ in (1,)}",
            "[HT] set comprehension over a tuple",
            "lambda",
        ),
        make(
            "lambda-yield-send",
            "(lambda: (yield " + opener + "))().send(None)",
            "[CTF] a generator lambda driven with send()",
            "lambda",
        ),
        make(
            "conditional-expression",
            f"exp(x) if {opener} else 0",
            "[HT] side effect hidden in a conditional's test",
            "lambda",
        ),
        make(
            "class-by-type-del",
            "type('T', (), {'__del__': lambda s: " + opener + "})()",
            "[HT] a class built by type() whose destructor runs code",
            "lambda",
        ),
        # --- SystemExit
        make(
            "systemexit-generator-throw",
            f"(_ for _ in ()).throw(SystemExit({opener}))",
            "[CTF] raising from an expression via generator.throw",
            "exit",
        ),
        make(
            "systemexit-statement",
            f"raise SystemExit({opener})",
            "[PY] raise statement text",
            "exit",
        ),
        make("quit-call", f"quit({opener})", "[PY] site's quit()/exit()", "exit"),
        # --- tensor methods that touch files
        make(
            "numpy-tofile",
            f"x.numpy().tofile({c})",
            "[TORCH] Tensor.numpy(), then numpy's ndarray.tofile",
            "tensor-files",
        ),
        make(
            "numpy-dump",
            f"x.numpy().dump({c})",
            "[TORCH] ndarray.dump pickles to a file",
            "tensor-files",
        ),
        make(
            "untyped-storage-from-file",
            f"x.untyped_storage().from_file({c}, True, 8)",
            "[TORCH] Tensor.untyped_storage().from_file(filename, shared=True, nbytes)",
            "tensor-files",
        ),
        make(
            "storage-class-from-file",
            f"torch.UntypedStorage.from_file({c}, True, 8)",
            "[TORCH] torch.UntypedStorage.from_file creates the file when shared",
            "tensor-files",
        ),
        make(
            "torch-from-file",
            f"torch.from_file({c}, True, 4)",
            "[TORCH] torch.from_file(filename, shared=True, size)",
            "tensor-files",
        ),
        make(
            "torch-save", f"torch.save(x, {c})", "[TORCH] torch.save writes a file", "tensor-files"
        ),
        make(
            "numpy-save",
            f"__import__('numpy').savetxt({c}, x)",
            "[TORCH]/numpy: numpy.savetxt of the tensor",
            "tensor-files",
        ),
        # --- NFKC look-alikes: Python normalises these identifiers to ASCII
        make(
            "nfkc-math-italic-eval",
            "\U0001d626\U0001d637\U0001d622\U0001d62d(" + repr(code) + ")",
            "[PEP3131] math sans-serif italic letters normalise to 'eval'",
            "nfkc",
        ),
        make(
            "nfkc-fullwidth-eval",
            "\uff45\uff56\uff41\uff4c(" + repr(code) + ")",
            "[PEP3131] fullwidth letters normalise to 'eval'",
            "nfkc",
        ),
        make(
            "nfkc-dashed-low-line-import",
            f"_\ufe4dimport\ufe4d_('os').system({touch})",
            "[PEP3131] U+FE4D DASHED LOW LINE normalises to '_': __import__",
            "nfkc",
        ),
        make(
            "nfkc-fullwidth-low-line-import",
            f"_\uff3fimport\uff3f_('os').system({touch})",
            "[PEP3131] U+FF3F FULLWIDTH LOW LINE normalises to '_'",
            "nfkc",
        ),
        make(
            "nfkc-superscript-eval",
            "\u1d49\u1d5b\u1d43\u02e1(" + repr(code) + ")",
            "[PEP3131] modifier letters normalise to 'eval'",
            "nfkc",
        ),
        make(
            "nfkc-bold-open",
            "\U0001d428\U0001d429\U0001d41e\U0001d427(" + c + ", 'w')",
            "[PEP3131] mathematical bold 'open'",
            "nfkc",
        ),
        # --- builtins reached directly
        make(
            "breakpoint",
            f"breakpoint() or {opener}",
            "[PY] breakpoint() starts a debugger (PYTHONBREAKPOINT may name any callable)",
            "builtins",
        ),
        make("open-write", f"open({c}, 'w').write('pwned')", "[NB] plain open()", "builtins"),
        make(
            "builtins-subscript",
            f"__builtins__['open']({c}, 'w')",
            "[HT] __builtins__ as a dict",
            "builtins",
        ),
        make(
            "globals-builtins",
            f"globals()['__builtins__']['open']({c}, 'w')",
            "[HT] globals()['__builtins__']",
            "builtins",
        ),
        make(
            "builtins-module-attr",
            f"__import__('builtins').open({c}, 'w')",
            "[HT] the builtins module's attribute",
            "builtins",
        ),
        # --- statements smuggled in: decorators, classes, second statements
        make(
            "decorator-lambda",
            "@lambda f: " + opener + "\ndef g(): pass",
            "[PEP614] any expression as a decorator",
            "statements",
        ),
        make(
            "class-body",
            "class K:\n    " + opener,
            "[PY] a class body runs when the class is defined",
            "statements",
        ),
        make(
            "semicolon-second-statement",
            f"exp(x); {opener}",
            "[HT] a semicolon smuggles a second statement",
            "statements",
        ),
        make(
            "newline-second-statement",
            f"exp(x)\n{opener}",
            "[HT] a newline smuggles a second statement",
            "statements",
        ),
        make(
            "import-statement",
            f"import os; os.system({touch})",
            "[HT] an import statement",
            "statements",
        ),
        # --- line-ending and character tricks
        make(
            "carriage-return-line",
            f"exp(x)\r{opener}",
            "[PY] a lone \\r ends a line for Python's tokenizer",
            "characters",
        ),
        make(
            "unicode-line-separator",
            f"exp(x)\u2028{opener}",
            "[HT] U+2028 LINE SEPARATOR: a line end to str.splitlines and many editors",
            "characters",
        ),
        make(
            "form-feed",
            f"exp(x)\n\x0c{opener}",
            "[PY] form feed at the start of a line is whitespace to Python",
            "characters",
        ),
        make(
            "nul-byte",
            f"exp(x)\x00\n{opener}",
            "[CTF] NUL truncates C strings: what a checker sees is not what runs",
            "characters",
        ),
        make(
            "backslash-continuation",
            f"exp(x) + \\\n{opener}",
            "[PY] explicit line joining with a backslash",
            "characters",
        ),
        make(
            "comment-then-code",
            f"exp(x) # harmless\n{opener}",
            "[HT] a comment hides the rest of a line from a naive reader",
            "characters",
        ),
        make(
            "coding-declaration",
            f"# -*- coding: utf-7 -*-\n{opener}",
            "[CTF] an encoding declaration changes how the rest is read",
            "characters",
        ),
    ]
    out += _attribute_routes(make, _chr(p))
    return out


def _attribute_routes(make, path: str) -> list[Payload]:  # noqa: ANN001 - make is payloads' helper
    """One payload per route that torch's spelling opens; ``path`` is the canary, quote-free."""
    w = _chr("w")
    tofile = f".numpy().tofile({path})"
    routes = [
        ("method-numpy-tofile", f"x{tofile}", "a tensor method, then numpy's file writer"),
        ("method-chain", f"x.exp().sum(){tofile}", "allowed methods chained into a refused one"),
        ("method-detach-chain", f"x.detach(){tofile}", "detach() then numpy"),
        ("property-T", f"x.T{tofile}", "a property, then numpy"),
        ("property-mT", f"x[None].mT{tofile}", "the mT property, then numpy"),
        ("property-data", f"x.data{tofile}", ".data, then numpy"),
        ("namespace-save", f"torch.save(x, {path})", "[TORCH] torch.save by its prefix"),
        (
            "namespace-chained-module",
            f"torch.nn.functional.torch.save(x, {path})",
            "a namespace's own 'torch' attribute leads back to torch.save",
        ),
        ("namespace-F-alias", f"F.torch.save(x, {path})", "the F. alias, then its torch"),
        ("namespace-special", f"torch.special.torch.save(x, {path})", "torch.special's torch"),
        ("namespace-serialization", f"torch.serialization.save(x, {path})", "the module"),
        ("namespace-from-file", f"torch.from_file({path}, True, 8)", "[TORCH] from_file maps"),
        ("namespace-load", f"torch.load(open({path}, {_chr('w+b')}))", "torch.load of a file"),
        ("namespace-ops", f"torch.ops.aten.from_file({path}, True, 8)", "torch.ops reaches aten"),
        ("namespace-hub", f"torch.hub.torch.save(x, {path})", "torch.hub's torch"),
        ("namespace-library", f"torch.library.torch.save(x, {path})", "torch.library's torch"),
        (
            "namespace-jit",
            f"torch.jit.save(torch.jit.script(torch.nn.ReLU()), {path})",
            "torch.jit writes a scripted module",
        ),
        (
            "storage-from-file",
            f"x.untyped_storage().from_file({path}, True, 8)",
            "[TORCH] UntypedStorage.from_file reached from a tensor",
        ),
        (
            "hook-backward",
            f"(lambda y: (y.register_hook(lambda g: open({path}, {w})), y.sum().backward()))"
            "(torch.ones(1, requires_grad=True))",
            "a hook runs Python during backward",
        ),
        ("apply-each", f"x.clone().apply_(lambda v: open({path}, {w}) and v)", "apply_"),
        ("in-place-argument", f"x.clone().add_(len(open({path}, {w}).name))", "an in-place op"),
        (
            "global-state-rng",
            f"torch.manual_seed(0).get_state(){tofile}",
            "a setter of global state returns a generator, then its state",
        ),
        ("keyword-value", f"x.sum(dim=torch.save(x, {path}))", "a keyword's value is a call"),
        ("string-literal", f"x.sum(){tofile[:-1]}, sep='sum')", "a choice-like string"),
        ("dtype-value", f"x.sum(dtype=torch.float64){tofile}", "dtype= then numpy"),
        ("dtype-to", f"torch.save(x.to(dtype=torch.float64), {path})", "dtype= inside save"),
        ("named-tuple-values", f"x.max(dim=0).values{tofile}", "a named tuple's field"),
        ("named-tuple-indices", f"x.sort().indices{tofile}", "another field"),
        ("subscript-slice", f"x[0:1]{tofile}", "a slice, then numpy"),
        ("subscript-none-ellipsis", f"x[None, ...]{tofile}", "None and ... in an index"),
        ("subscript-mask", f"x[x > 0]{tofile}", "a boolean mask, then numpy"),
        ("F-result", f"F.relu(x){tofile}", "an allowed F function's result, then numpy"),
        ("tolist-write", f"open({path}, {w}).write(str(x.tolist()))", "tolist into a file"),
        ("namespace-fft", f"torch.fft.fftshift(x){tofile}", "a torch.fft function, then numpy"),
        ("namespace-fft-module", f"torch.fft.torch.save(x, {path})", "torch.fft's own torch"),
        ("namespace-masked", f"torch.masked.sum(x){tofile}", "a torch.masked function"),
        ("generated-method", f"x.sum_to_size(2){tofile}", "a method opened by OpInfo's data"),
        ("generated-method-form", f"x.msort(){tofile}", "a generated torch.X as a method"),
        ("einsum-string", f"torch.einsum('i->i', x){tofile}", "an einsum equation string"),
        ("einsum-list", f"torch.einsum('i,i->i', [x, x]){tofile}", "einsum's list of tensors"),
        (
            "generated-choice",
            f"torch.meshgrid(x, x, indexing='ij')[0]{tofile}",
            "a string choice measured from OpInfo, then a tuple index",
        ),
        ("tuple-index", f"torch.split(x, 1)[0]{tofile}", "a tuple of tensors, indexed"),
        ("tuple-as-list", f"torch.cat(torch.split(x, 1)){tofile}", "a tuple passed as a list"),
        ("constructor-dtype", f"torch.ones(2, dtype=torch.float64){tofile}", "dtype="),
        ("list-keyword", f"torch.gradient(x, spacing=[2.0])[0]{tofile}", "a keyword's list"),
        (
            "list-keyword-tensors",
            f"torch.gradient(x, spacing=[x])[0]{tofile}",
            "a keyword's list of tensors",
        ),
        (
            "tensors-or-list",
            f"torch.meshgrid([x, x], indexing='ij')[0]{tofile}",
            "a list where torch also takes tensors one by one",
        ),
        ("nested-dims", f"torch.tensordot(x, x, dims=([0], [0])){tofile}", "nested dims lists"),
        (
            "constructor-requires-grad",
            f"torch.ones(2, requires_grad=True).detach(){tofile}",
            "requires_grad= on a constructor",
        ),
    ]
    return [make(f"attr-{id}", text, f"[ATTR] {why}", "attributes") for id, text, why in routes]
