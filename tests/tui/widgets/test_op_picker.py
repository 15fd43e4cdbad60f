"""The op picker alone: the opening op until the catalog comes, filtering, and the choice it posts."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Input, OptionList

from gradtui.tui.widgets.op_picker import EXPRESSION_ID, OpPicker, fuzzy_score
from tests.helpers import screen_text

GROUPS = [
    ("elementwise", [("exp", "e to the power x"), ("sin", "sine"), ("abs", "absolute value")]),
    (
        "loss",
        [
            ("binary_cross_entropy", "BCE on probabilities"),
            ("binary_cross_entropy_with_logits", "BCE on logits"),
        ],
    ),
]
ALL = [
    EXPRESSION_ID,
    "exp",
    "sin",
    "abs",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]


class PickerApp(App[None]):
    """The picker on its own; every op it reports chosen is kept in :attr:`chosen`."""

    def __init__(self, current: str = "exp") -> None:
        super().__init__()
        self.current = current
        self.chosen: list[str] = []

    def compose(self) -> ComposeResult:
        yield OpPicker(self.current)

    def on_op_picker_selected(self, message: OpPicker.Selected) -> None:
        self.chosen.append(message.name)


def _highlighted(app: App) -> str | None:
    option = app.query_one("#op-list", OptionList).highlighted_option
    return None if option is None else option.id


async def test_until_the_catalog_comes_it_offers_the_opening_op() -> None:
    app = PickerApp("sin")
    async with app.run_test(size=(40, 12)):
        picker = app.query_one(OpPicker)
        assert picker.matches() == [EXPRESSION_ID, "sin"]
        assert _highlighted(app) == "sin"
        text = screen_text(app)
        assert "custom expression" in text and " sin" in text and "loading torch…" in text


async def test_the_catalog_lists_every_op_under_its_category_with_the_current_one_highlighted() -> (
    None
):
    app = PickerApp("exp")
    async with app.run_test(size=(40, 16)) as pilot:
        picker = app.query_one(OpPicker)
        picker.set_catalog(GROUPS)
        await pilot.pause()
        assert picker.matches() == ALL
        assert _highlighted(app) == "exp"
        text = screen_text(app)
        assert "loading torch…" not in text
        assert text.index("elementwise") < text.index(" sin") < text.index("loss")
        picker.set_current("abs")
        await pilot.pause()
        assert _highlighted(app) == "abs"
        assert app.chosen == []  # showing an op is not choosing one


async def test_the_filter_matches_names_categories_and_summaries() -> None:
    app = PickerApp()
    async with app.run_test(size=(40, 16)) as pilot:
        picker = app.query_one(OpPicker)
        picker.set_catalog(GROUPS)
        app.query_one("#op-filter", Input).focus()
        await pilot.press(*"logi")
        assert picker.matches() == ["binary_cross_entropy_with_logits"]  # in the name
        picker.query_one("#op-filter", Input).value = "sine"
        await pilot.pause()
        assert picker.matches() == ["sin"]  # in the summary
        picker.query_one("#op-filter", Input).value = "LOSS"
        await pilot.pause()
        assert picker.matches() == ["binary_cross_entropy", "binary_cross_entropy_with_logits"]
        picker.query_one("#op-filter", Input).value = "zzz"
        await pilot.pause()
        assert picker.matches() == []
        assert "no op matches" in screen_text(app)


async def test_enter_in_the_filter_chooses_the_exact_match_and_clears_the_filter() -> None:
    """``exp`` also matches "custom expression", listed first; the exact name wins."""
    app = PickerApp("sin")
    async with app.run_test(size=(40, 16)) as pilot:
        picker = app.query_one(OpPicker)
        picker.set_catalog(GROUPS)
        app.query_one("#op-filter", Input).focus()
        await pilot.press(*"exp")
        assert picker.matches() == [EXPRESSION_ID, "exp"]
        assert _highlighted(app) == "exp"
        await pilot.press("enter")
        await pilot.pause()
        assert app.chosen == ["exp"]
        assert picker.filter_text == ""
        assert picker.matches() == ALL  # the whole catalog is back
        assert _highlighted(app) == "exp"


async def test_down_from_the_filter_moves_into_the_list_where_enter_chooses() -> None:
    app = PickerApp("exp")
    async with app.run_test(size=(40, 16)) as pilot:
        app.query_one(OpPicker).set_catalog(GROUPS)
        app.query_one("#op-filter", Input).focus()
        await pilot.press("down")
        option_list = app.query_one("#op-list", OptionList)
        assert app.focused is option_list
        await pilot.press("down", "enter")  # exp -> sin
        await pilot.pause()
        assert app.chosen == ["sin"]


async def test_choosing_the_custom_expression_posts_its_id() -> None:
    app = PickerApp("exp")
    async with app.run_test(size=(40, 16)) as pilot:
        app.query_one(OpPicker).set_catalog(GROUPS)
        app.query_one("#op-list", OptionList).focus()
        await pilot.press("home", "enter")
        await pilot.pause()
        assert app.chosen == [EXPRESSION_ID]


async def test_long_names_that_share_a_start_stay_apart_when_narrow() -> None:
    app = PickerApp("exp")
    async with app.run_test(size=(16, 16)) as pilot:
        app.query_one(OpPicker).set_catalog(GROUPS)
        await pilot.pause()
        rows = [line.strip() for line in screen_text(app).splitlines()]
        bce = [row for row in rows if row.startswith("binary")]
        assert len(bce) == 2 and bce[0] != bce[1], bce
        assert all("…" in row for row in bce)  # cut in the middle: both ends are kept
        assert bce[1].endswith("logits"), bce


LINALG = [
    ("elementwise", [("exp", "e to the power x"), ("sin", "sine")]),
    (
        "linalg",
        [
            ("linalg.slogdet", "Sign and log of the absolute determinant."),
            ("linalg.svdvals", "Singular values of a matrix."),
            ("linalg.svd", "Computes the singular value decomposition (SVD) of a matrix."),
        ],
    ),
    ("torch · pointwise, one input", [("special.sinc", "Computes the normalized sinc.")]),
]
SIGNATURES = {
    "linalg.svd": "torch.linalg.svd(A, full_matrices=True, *, driver=None, out=None)",
    "exp": "exp(x)",
}


def test_fuzzy_score_is_a_subsequence_match_ranking_exact_prefix_part_and_scattered() -> None:
    assert fuzzy_score("lsvd", "linalg.svd") is not None
    assert fuzzy_score("dvsl", "linalg.svd") is None  # order matters
    assert fuzzy_score("SVD", "linalg.svd") == fuzzy_score("svd", "linalg.svd")  # case ignored
    ranked = sorted(
        ["linalg.svdvals", "linalg.svd", "svd", "linalg.slogdet"],
        key=lambda name: -(fuzzy_score("svd", name) or -(10**9)),
    )
    assert ranked[:3] == ["svd", "linalg.svd", "linalg.svdvals"]  # exact, part, longer part
    assert fuzzy_score("lsvd", "linalg.svd") > fuzzy_score("lsvd", "linalg.svdvals")
    assert fuzzy_score("sm", "softmax") is not None and fuzzy_score("xq", "softmax") is None


async def test_the_filter_is_fuzzy_and_puts_the_best_match_first() -> None:
    app = PickerApp("exp")
    async with app.run_test(size=(60, 20)) as pilot:
        picker = app.query_one(OpPicker)
        picker.set_catalog(LINALG, SIGNATURES)
        app.query_one("#op-filter", Input).focus()
        await pilot.press(*"lsvd")
        assert picker.matches()[:2] == ["linalg.svd", "linalg.svdvals"]
        assert "linalg.slogdet" not in picker.matches()  # no v after its s
        assert _highlighted(app) == "linalg.svd"
        await pilot.press("enter")
        await pilot.pause()
        assert app.chosen == ["linalg.svd"]
        assert picker.matches()[:3] == [EXPRESSION_ID, "exp", "sin"]  # the seed's ops first


async def test_the_highlighted_ops_signature_and_summary_show_under_the_filter() -> None:
    app = PickerApp("exp")
    async with app.run_test(size=(90, 20)) as pilot:
        picker = app.query_one(OpPicker)
        picker.set_catalog(LINALG, SIGNATURES)
        await pilot.pause()
        assert picker.info_text == "exp(x)\ne to the power x"
        app.query_one("#op-filter", Input).focus()
        await pilot.press(*"lsvd")
        await pilot.pause()
        assert picker.info_text.splitlines() == [
            SIGNATURES["linalg.svd"],
            "Computes the singular value decomposition (SVD) of a matrix.",
        ]
        assert "torch.linalg.svd(A, full_matrices=True" in screen_text(app)
        await pilot.press("down", "down")  # into the list, onto linalg.svdvals
        await pilot.pause()
        assert _highlighted(app) == "linalg.svdvals"
        assert picker.info_text == "linalg.svdvals\nSingular values of a matrix."  # no signature


async def test_the_app_s_groups_come_hand_written_first_then_generated_in_namespace_order() -> None:
    """The picker shows the app's catalog in the order documented in ``catalog.all_ops``:
    the seed's ops, the other hand-written groups, then the generated groups by namespace
    (torch, nn.functional, linalg, special, fft, masked, Tensor methods), the one without a
    topic before its topics, topics alphabetically, and each group's ops by name."""
    from gradtui.ops.catalog import SEED_CATEGORY, by_category
    from gradtui.tui.compute import load_engine

    catalog = load_engine()
    app = PickerApp()
    async with app.run_test(size=(60, 20)):
        picker = app.query_one(OpPicker)
        picker.set_catalog(catalog.groups)
        shown = [category for category, _ in picker._groups]
    hand = [category for category, _ in by_category()]
    assert shown[0] == SEED_CATEGORY and shown[: len(hand)] == hand
    generated = shown[len(hand) :]
    assert generated and all(c.startswith("generated: ") for c in generated)
    namespaces = ["torch", "nn.functional", "linalg", "special", "fft", "masked", "Tensor methods"]
    keys = []
    for category in generated:
        namespace, _, topic = category.removeprefix("generated: ").partition(" · ")
        keys.append((namespaces.index(namespace), topic))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for category, ops in catalog.groups[len(hand) :]:
        names = [name for name, _ in ops]
        assert names == sorted(names), category
