"""The help screen (``?`` or ``F1``): keys, the input language and what the panels mean.

The key table is built from the app's own bindings, so it cannot drift from them.
This module is imported only when help is first opened, keeping start-up light.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

LANGUAGE = """\
## The input language

Each field takes a small, safe language (it is parsed, never run as Python):

- numbers and nested lists: `2.5`, `[1., 2., 3.]`, `[[1, 2], [3, 4]]` (integers make an integer tensor);
- constructors: `zeros(3)`, `ones(2, 3)`, `arange(5)`, `linspace(-2, 2, 5)`, `randn(3)` (seeded), …;
- arithmetic and calls on names: `x * exp(-x)`, `sin(x) + y ** 2`, `where(x > 0, log(x), 0)`;
- `nan` and `inf` are numbers too: `[0., nan, inf]`.

`v` is the upstream gradient fed to `backward` (empty: ones shaped like the output).
A **custom expression** (top of the op list) is any expression in the language; its free
names become inputs.
"""

SNIPPETS = """\
## Snippets

The snippet editor runs PyTorch code pasted from a Q&A page, a blog or a chat answer.
Open it from the command palette (**snippet: new**, or one of the seed page's snippets)
or from the op list's seed group (`snippet: lt`, ...). Paste code with your terminal's
paste; `ctrl+r` runs it with the real torch, statement by statement, in gradtui's own
interpreter (never Python's `exec`): each line is marked *ran*, *RAISED* or *not
reached*, a trailing `# comment` on a printing line is checked against what it printed,
the raising line shows torch's message and why, and the backward passes it ran can be
stepped through. A statement the snippet language refuses is named with its line and
column, and the cursor goes there; nothing runs and your text stays.
"""

MODEL = """\
## Model mode

Open it from the op list's seed group or the palette (**model: new**, or a preset such as
`model: 2-3-1 tanh`). The form takes a spec of `torch.nn` layers joined by `->`
(`Linear(2, 3) -> Tanh() -> Linear(3, 1)`), the data and target in the input language, a
`torch.nn.functional` loss, an optimizer as torch spells it (`SGD(lr=0.1, momentum=0.9)`,
`Adam(lr=0.01)`), an L1 λ and a seed. Enter builds a fresh model (seeded as a script
would) and takes one step, recorded in detail: **forward** shows each layer's output as a
heat map (blue < 0 < red), **backward** what each module receives and sends back (`n`/`p`),
node by node on `d` (`BackwardHookFunctionBackward` nodes are gradtui's own module hooks;
a plain script has none), **update** each parameter before and after `optimizer.step()`
with the optimizer's state. `t` trains a fresh model for `steps` lean steps with a live
loss curve and gradient-norm bars (log scale); space pauses, Esc stops; then one more step
is recorded in detail and shown as step N+1, with the run's diagnoses.
"""

PANELS = """\
## The panels

- **ops** — the catalog by category (the page's own questions first). `/` filters; Enter picks.
- **inputs** — one field per input, plus `v`. An error appears under its field; your text
  stays, and the rest of the screen keeps the last good result, marked *stale*.
- **backward** — the nodes the autograd engine actually ran, in its order (recorded with
  hooks on the real graph). For the current node: the gradient flowing in, the gradients it
  sends on and where, the tensors it saved, its rule, and each leaf's `.grad` so far.
  `g` draws the same steps as the graph torch built: a box per node, edges following
  `next_functions`, a shared node (a leaf used twice) once with a line from each parent;
  the current node reversed, those already run dim with ✓. Arrows pan, a click on a node
  makes its step current. `h` shows the backward of the backward instead (H·u with u =
  ones: the second backward pass of `create_graph=True`, step by step; the panel's title
  says so); `h` again, an edit or another op goes back to the op's own backward.
- **Jacobian** (`j`) — J of the op as a heat map (red > 0 > blue), a row per output
  element and a column per input element, `v` beside the rows; the rows `v` combines are
  marked ▸, and under them `.grad` from torch's backward beside vᵀJ worked out from J.
  Without colour (`NO_COLOR`) a shade ░▒▓█ of each entry's size follows it. Arrows and
  page keys scroll a large J; Esc, `q` or `j` goes back.
- **plot** — f and f′ along one input (◆ kinks: where torch picks one side's slope; ✕ where
  a float64 numeric derivative disagrees with autograd; ● your input points).
- **status line** — whether a gradient exists, and if not, torch's own reason.
"""


def keys_table(bindings: Iterable[Binding], title: str = "Keys", *, tail: bool = True) -> str:
    """A Markdown table of the bindings, merging keys bound to the same action
    (``tail``: with the keys every screen has, and the palette's commands)."""
    rows: dict[str, list[str]] = {}
    help_text: dict[str, str] = {}
    for b in bindings:
        if not b.description and not b.tooltip:
            continue
        label = b.key_display or b.key
        rows.setdefault(b.action, []).append(label)
        help_text.setdefault(b.action, b.tooltip or b.description)
    lines = [f"## {title}", "", "| key | what it does |", "|---|---|"]
    for action, keys in rows.items():
        lines.append(f"| {' / '.join(f'`{k}`' for k in keys)} | {help_text[action]} |")
    if not tail:
        return "\n".join(lines)
    lines.append("| `tab` / `shift+tab` | move between panels and fields |")
    lines.append("| `ctrl+p` | command palette: every op, every toggle, themes, screenshot |")
    lines.append("")
    lines.append(
        "**save screenshot** (palette) writes an SVG into `$GRADTUI_SCREENSHOT_DIR`, or the "
        "current directory when that is unset, and says the full path. **Maximize** "
        "(palette) fills the screen with the focused panel; `escape` restores it."
    )
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    """A scrollable help text over the app; any of ``escape``/``q``/``?``/``F1`` closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 100; height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    BINDINGS: list[BindingType] = [
        Binding("escape", "dismiss", "Close", tooltip="Close the help screen.", id="help.close"),
        Binding("q", "dismiss", "Close", show=False, tooltip="Close the help.", id="help.close_q"),
        Binding(
            "question_mark", "dismiss", show=False, tooltip="Close the help.", id="help.close_qm"
        ),
        Binding("f1", "dismiss", show=False, tooltip="Close the help.", id="help.close_f1"),
    ]

    def __init__(
        self,
        bindings: Iterable[Binding],
        snippet_bindings: Iterable[Binding] = (),
        model_bindings: Iterable[Binding] = (),
    ) -> None:
        """Create the help for an app with ``bindings`` (and its snippet and model screens')."""
        super().__init__()
        self._app_bindings = list(bindings)
        self._snippet_bindings = list(snippet_bindings)
        self._model_bindings = list(model_bindings)

    def compose(self) -> ComposeResult:
        """The help text."""
        text = "\n\n".join(
            [
                "# gradtui — help",
                "Pick an op, edit its inputs, and step through the backward pass PyTorch "
                "really runs. Everything shown is measured from the installed torch.",
                keys_table(self._app_bindings),
                PANELS,
                *(
                    [
                        keys_table(self._snippet_bindings, "The snippet editor's keys", tail=False),
                        SNIPPETS,
                    ]
                    if self._snippet_bindings
                    else []
                ),
                *(
                    [keys_table(self._model_bindings, "The model screen's keys", tail=False), MODEL]
                    if self._model_bindings
                    else []
                ),
                LANGUAGE,
            ]
        )
        with VerticalScroll(id="help-scroll"):
            yield Markdown(text, id="help-text")

    def on_mount(self) -> None:
        """Scroll with the keyboard straight away."""
        self.query_one("#help-scroll").focus()
