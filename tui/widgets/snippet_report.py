"""The snippet screen's report: each statement marked ran, raised or not reached.

Under each statement: what it printed (``>``), its claims (the trailing comment) marked
as holding, failing or not checked, and, on the line that raised, the exception's type,
torch's own message and the plain-words ``why``. Marks are words and symbols (``✓ ran``,
``✗ RAISED``, ``· not reached``), so the report reads the same under ``NO_COLOR``; the
words are the ``gradtui snippet`` report's (:mod:`tui.report`). Everything shown comes
from the :class:`~ops.results.SnippetResult` handed in; nothing is computed here.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from gradtui.ops.results import Claim, SnippetResult, SnippetStatement
from gradtui.tui.report import STATUS_MARK, visible
from gradtui.tui.widgets.line_view import LineView

MARKS = {
    "ran": ("✓ " + STATUS_MARK["ran"], "green"),
    "raised": ("✗ " + STATUS_MARK["raised"], "bold red"),
    "not reached": ("· " + STATUS_MARK["not reached"], "dim"),
    "refused": ("✗ REFUSED", "bold red"),
}
"""Each statement status: its mark (symbol and word) and its style."""
MARK_WIDTH = max(len(mark) for mark, _ in MARKS.values())


def statement_mark(statement: SnippetStatement) -> str:
    """The mark of ``statement``: ``"ran"``, ``"raised"``, ``"not reached"`` or ``"refused"``
    (gradtui refused a value only known at run time)."""
    if statement.error is not None and statement.error.type == "refused":
        return "refused"
    return statement.status


def claim_verdict(claim: Claim) -> str:
    """``"holds"``, ``"FAILS"`` or ``"not checked"``: what the report says of ``claim``."""
    if claim.holds is None:
        return "not checked"
    return "holds" if claim.holds else "FAILS"


Row = tuple[Text, Text]
"""One row of the report: its gutter (line number and mark) and its content."""


def _claim(claim: Claim, indent: str) -> list[Text]:
    row = Text(indent)
    row.append("claim ", style="bold")
    row.append(visible(claim.text), style="italic")
    verdict = Text(indent + "  ")
    if claim.holds is None:
        verdict.append("? not checked", style="yellow")
        verdict.append(f": {claim.why}", style="dim")
    elif claim.holds:
        verdict.append("✓ holds", style="bold green")
    else:
        verdict.append("✗ FAILS", style="bold red")
        if claim.why.startswith("printed "):
            verdict.append(": the line printed what is shown after >")
        else:
            verdict.append(f": {visible(claim.why)}")
    return [row, verdict]


def report_rows(result: SnippetResult) -> list[Row]:
    """The report of ``result``, one statement after another (a pure function)."""
    rows: list[Row] = []
    width = len(str(max((s.end_line for s in result.all_statements()), default=1)))
    blank = Text(" " * (width + 1 + MARK_WIDTH))

    def statement(s: SnippetStatement, depth: int) -> None:
        indent = "  " * depth
        mark, style = MARKS[statement_mark(s)]
        source = s.source.splitlines() or [""]
        for i, text in enumerate(source if not s.body else source[:1]):
            gutter = Text(f"{s.line + i:>{width}} ", style="dim")
            gutter.append(f"{mark if i == 0 else '':<{MARK_WIDTH}}", style=style if i == 0 else "")
            code = Text(indent + visible(text), style="bold" if s.status == "raised" else "")
            rows.append((gutter, code))
        for b in s.body:
            statement(b, depth + 1)
        if s.body:
            return
        details: list[Text] = []
        for printed in s.printed:
            for j, line in enumerate(printed.split("\n")):
                details.append(Text(f"{indent}{'>' if j == 0 else ' '} {visible(line)}"))
        for claim in s.claims:
            details.extend(_claim(claim, indent))
        if s.error is not None:
            message = visible(s.error.message).split("\n")
            head = Text(indent)
            head.append(f"{s.error.type}: ", style="bold red")
            head.append(message[0])
            details.append(head)
            details.extend(Text(f"{indent}  {line}") for line in message[1:] if line.strip())
            if s.error.why:
                why = Text(indent)
                why.append("why: ", style="bold")
                why.append(s.error.why)
                details.append(why)
        for warning in s.warnings:
            warned = f"{indent}warning: {visible(warning).splitlines()[0]}"
            details.append(Text(warned, style="yellow"))
        rows.extend((blank, d) for d in details)

    for s in result.statements:
        statement(s, 0)
    return rows


def report_table(rows: list[Row]) -> Table:
    """The rows as a two-column grid: content wraps under itself, never under the gutter."""
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    for gutter, content in rows:
        table.add_row(gutter, content)
    return table


def report_plain(rows: list[Row]) -> str:
    """The rows as plain text, one line each (for tests and the demo)."""
    return "\n".join(f"{g.plain} {c.plain}".rstrip() for g, c in rows)


def summary(result: SnippetResult) -> str:
    """One line: where the run stopped, the claims counted, the backward passes."""
    claims = [c for s in result.all_statements() if not s.body for c in s.claims]
    held = sum(c.holds is True for c in claims)
    failed = sum(c.holds is False for c in claims)
    unchecked = sum(c.holds is None for c in claims)
    if result.refused is not None:
        line, col, message = result.refused
        where = f"refused at line {line}:{col}: {message}"
    elif result.stopped_at is not None:
        where = f"stopped at line {result.stopped_at}"
    else:
        where = "ran to the end"
    passes = len(result.backwards)
    backward = f"{passes} backward pass" + ("" if passes == 1 else "es")
    return f"{where} · claims {held} hold, {failed} fail, {unchecked} unchecked · {backward}"


class SnippetReport(LineView):
    """The report of the last run, or why there is none."""

    DEFAULT_CSS = """
    SnippetReport { height: 1fr; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            Text("ctrl+r or F5 runs the snippet; paste one with your terminal's paste.", "dim"),
            id=id,
        )
        self.plain = ""
        """The report as plain text (for tests and the demo)."""

    def show_result(self, result: SnippetResult) -> None:
        """Show the report of ``result``, scrolled to the line that raised (if one did)."""
        rows = report_rows(result)
        self.plain = report_plain(rows)
        self.update(report_table(rows))
        self.scroll_home(animate=False, immediate=True)
        self.call_after_refresh(self._scroll_to_stop)

    def _scroll_to_stop(self) -> None:
        """Bring the line that raised (or was refused) into view, with a line above it."""
        marks = ("✗ RAISED", "✗ REFUSED")
        stop = next((k for k, s in enumerate(self.lines) if any(m in s.text for m in marks)), None)
        if stop is not None and stop >= self.scrollable_content_region.height - 1:
            self.scroll_to(y=max(stop - 1, 0), animate=False, immediate=True)

    def show_message(self, text: Text) -> None:
        """Show ``text`` in place of a report (a refusal, a run given up)."""
        self.plain = text.plain
        self.update(text)
        self.scroll_home(animate=False, immediate=True)
