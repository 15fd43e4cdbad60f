"""Hostile spec, optimizer and loss texts: every one refused with one line and its place.

Each payload of :mod:`tests.security.model_corpus` goes to the parser of its field, to
:class:`ops.model.Trainer` (the field hostile, the rest a model that trains), and through
``gradtui model`` (in process for all of them, and a sample through real subprocesses:
exit 2, one ``error:`` line on stderr, no traceback). Each must raise
:class:`InputError` naming its field and a column inside the text, and the canary must
not exist afterwards. ``test_the_model_corpus_is_live`` is the control: every payload
marked live writes its canary when a naive tool hands it to Python.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gradtui.ops.errors import InputError
from gradtui.ops.model import ModelConfig, Trainer
from gradtui.ops.model_spec import parse_layers, parse_loss, parse_optimizer
from gradtui.tui.cli import main
from tests.helpers import gradtui_many
from tests.security.control import live_under_python
from tests.security.model_corpus import NAIVE, for_control, payloads

_CORPUS = payloads(Path("/CANARY"))
_PARSERS = {"spec": parse_layers, "optimizer": parse_optimizer, "loss": parse_loss}
_FINE = {"spec": "Linear(2, 1)", "data": "[[1., 2.]]", "target": "[[1.]]"}


def _config(field: str, text: str) -> ModelConfig:
    return ModelConfig(**{**_FINE, field: text})


def _args(field: str, text: str) -> list[str]:
    args = ["model", _FINE["spec"], "--data", _FINE["data"], "--target", _FINE["target"]]
    args += ["--timeout", "300"]  # a refusal is not a race against a loaded machine
    if field == "spec":
        args[1] = text
    else:
        args += [f"--{field}={text}"]  # '=' so a text starting with '-' is not an option
    return args


def test_the_model_corpus_is_large_and_covers_each_field() -> None:
    assert len({p.id for p in _CORPUS}) == len(_CORPUS)
    fields = {f: [p for p in _CORPUS if p.field == f] for f in _PARSERS}
    assert len(fields["spec"]) >= 60 and len(fields["optimizer"]) >= 30
    assert len(fields["loss"]) >= 25
    for p in _CORPUS:
        assert p.source.startswith("["), p.id
        assert not p.live or "/CANARY" in p.text, p.id
    categories = {p.category for p in _CORPUS if p.field == "spec"}
    assert categories >= {
        "import",
        "nested-call",
        "eval",
        "getattr",
        "dunder",
        "lambda",
        "comprehension",
        "fstring",
        "starred",
        "arrow",
        "characters",
        "names",
        "bombs",
    }


@pytest.mark.parametrize("index", range(len(_CORPUS)), ids=[p.id for p in _CORPUS])
def test_payload_is_refused_with_its_place(index: int, tmp_path: Path) -> None:
    canary = tmp_path / "CANARY"
    payload = payloads(canary)[index]
    for attempt in (
        lambda: _PARSERS[payload.field](payload.text),
        lambda: Trainer(_config(payload.field, payload.text)),
    ):
        with pytest.raises(InputError) as caught:
            attempt()
        err = caught.value
        assert err.field == payload.field, (payload.id, str(err))
        assert err.position is not None and 0 <= err.position <= len(payload.text), str(err)
        assert "\n" not in str(err) and "\r" not in str(err), payload.id
        assert len(str(err)) < 600, payload.id
        if payload.category == "characters":  # the place is the character itself
            ch = payload.text[err.position]
            assert not (ch.isascii() and ch.isprintable()), (payload.id, err.position)
    assert not canary.exists(), f"the canary was written by {payload.id}"


def test_every_payload_through_the_cli_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``gradtui model`` (its ``main``), every payload: status 2, one ``error:`` line naming
    the field and a column, nothing on stdout, no traceback, no canary."""
    for i, payload in enumerate(payloads(tmp_path / "CANARY")):
        code = main(_args(payload.field, payload.text))
        out, err = capsys.readouterr()
        where = (payload.id, code, out[-300:], err[-300:])
        assert code == 2 and out == "", where
        assert err.startswith(f"error: {payload.field}: ") and err.count("\n") == 1, where
        assert "(at column " in err and "Traceback" not in err, where
        assert not (tmp_path / "CANARY").exists(), payload.id
        del i


def test_a_sample_through_real_subprocesses(tmp_path: Path) -> None:
    """A few payloads through the console command, as a shell sees it (the in-process
    test above takes every one; a process costs seconds of torch import): one live
    payload per field and a character trick."""
    wanted = ("spec-subclasses", "optimizer-params", "loss-lambda", "spec-bidi")
    ids = [p.id for p in _CORPUS]
    picks = [ids.index(w) for w in wanted]
    runs = []
    for i in picks:
        folder = tmp_path / f"p{i}"
        folder.mkdir()
        payload = payloads(folder / "CANARY")[i]
        runs.append((payload, folder, _args(payload.field, payload.text)))
    outs = gradtui_many([r[2] for r in runs], tmp_path)
    for (payload, folder, _), out in zip(runs, outs, strict=True):
        where = (payload.id, out.returncode, out.stdout[-300:], out.stderr[-300:])
        assert out.returncode == 2 and out.stdout == "", where
        lines = out.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {payload.field}: "), where
        assert "Traceback" not in out.stderr and "(at column " in lines[0], where
        assert "\x1b" not in out.stderr, where
        assert not (folder / "CANARY").exists(), f"the canary was written by {payload.id}"


def test_the_model_corpus_is_live(tmp_path: Path) -> None:
    """Every payload marked live writes its canary under the naive tool (a throwaway
    subprocess that evals each layer, the optimizer and the loss as Python)."""
    live = [p for p in _CORPUS if p.live]
    result = live_under_python(NAIVE, live, for_control, tmp_path)
    dead = [p.id for p, ok in zip(live, result, strict=True) if not ok]
    print(f"model corpus: {len(_CORPUS)} payloads, {len(live)} live under a naive tool")
    assert dead == []
    assert len(live) >= 50


# ------------------------------------------------------------------------- size bounds


@pytest.mark.parametrize(
    ("spec", "data", "words"),
    [
        ("Linear(2, 500) -> Tanh() -> Linear(500, 1)", "torch.ones(20000, 2)", "10,000,000"),
        ("Linear(2, 1000) -> ReLU() -> Linear(1000, 1)", "torch.ones(1001, 2)", "1,001,000"),
        ("Linear(2, 3) -> Linear(3, 400)", "torch.ones(3000, 2)", "Linear(3, 400) would output"),
    ],
)
def test_wide_layers_times_many_rows_hit_the_output_bound(spec: str, data: str, words: str) -> None:
    """A layer's output over the element bound is refused before any number is computed,
    naming the layer and its column."""
    with pytest.raises(InputError) as caught:
        Trainer(ModelConfig(spec=spec, data=data, target="torch.ones(1)"))
    err = caught.value
    assert err.field == "spec" and words in err.message, str(err)
    assert err.position is not None and spec[err.position :].startswith(err.message.split()[0])


def test_a_huge_integer_for_a_float_keyword_is_refused_not_crashed() -> None:
    """An integer too big for a float (``lr=999...9``) is refused with the bound's words;
    it once reached ``math.isfinite`` and escaped as an OverflowError."""
    for text, at in (
        ("SGD(lr=" + "9" * 400 + ")", 7),
        ("Adam(betas=(0.9, " + "9" * 400 + "))", 11),
    ):
        with pytest.raises(InputError) as caught:
            parse_optimizer(text)
        assert "finite number of at most 1e12" in caught.value.message
        assert caught.value.position == at
    with pytest.raises(InputError) as caught:
        parse_layers("LeakyReLU(" + "9" * 400 + ")")
    assert caught.value.position == 10
