"""The OpInfo samples' outcomes and their report (:mod:`tests.ops.opinfo_samples` measures)."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter


@dataclasses.dataclass
class Outcome:
    """What became of one sample.

    ``status``: ``"unwritable"`` (the converter cannot write it; ``reason`` says why),
    ``"refused"`` (gradtui's language does not take the text; ``reason`` is the first line
    of its message), ``"agrees"`` or ``"disagrees"`` (``reason`` says where)."""

    op: str
    variant: str
    index: int
    status: str
    reason: str = ""
    command: str = ""
    rounded: bool = False


@dataclasses.dataclass
class Figures:
    ops: int
    outcomes: list[Outcome]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def expressible(self) -> int:
        return self.count("agrees") + self.count("disagrees")

    @property
    def agreeing(self) -> int:
        return self.count("agrees")

    def share(self) -> float:
        return self.expressible / self.total if self.total else 0.0

    def summary(self) -> str:
        return (
            f"{self.ops} ops opened; {self.total} small float64 OpInfo samples; "
            f"{self.expressible} expressible ({100 * self.share():.1f}%); "
            f"{self.agreeing} agreeing with torch"
        )

    def report(self, by_op: bool = False) -> str:
        """The figures, then every reason a sample is not expressible (grouped by the
        message with names and numbers blanked, and the ops it hit), then every sample
        that disagrees; ``by_op``: one line per op."""
        lines = [self.summary()]
        rounded = sum(o.rounded for o in self.outcomes if o.status in ("agrees", "disagrees"))
        lines.append(f"  of the expressible, written with rounded values: {rounded}")
        for status, title in (
            ("refused", "not expressible, gradtui's language refuses (its message's first line)"),
            ("unwritable", "not expressible, the converter cannot write it"),
        ):
            mine = [o for o in self.outcomes if o.status == status]
            lines.append(f"{title}: {len(mine)} samples")
            groups: dict[str, list[Outcome]] = {}
            for o in mine:
                groups.setdefault(pattern(o.reason), []).append(o)
            for reason, hits in sorted(groups.items(), key=lambda kv: -len(kv[1])):
                ops = sorted({o.op for o in hits})
                shown = ", ".join(ops[:5]) + (f", ... ({len(ops)} ops)" if len(ops) > 5 else "")
                lines.append(f"  {len(hits):6d}  {reason}  [{shown}]")
        wrong = [o for o in self.outcomes if o.status == "disagrees"]
        lines.append(f"disagreeing with torch: {len(wrong)} samples")
        for o in wrong:
            lines.append(f"  {o.op} [{o.variant}] #{o.index}: {o.reason}")
            lines.append(f"    {o.command if len(o.command) < 600 else o.command[:600] + '...'}")
        if by_op:
            lines.append("by op: agreeing / expressible / samples; the commonest reasons")
            for op in dict.fromkeys(o.op for o in self.outcomes):
                mine = [o for o in self.outcomes if o.op == op]
                ok = sum(o.status == "agrees" for o in mine)
                ex = sum(o.status in ("agrees", "disagrees") for o in mine)
                reasons = Counter(o.reason for o in mine if o.status in ("refused", "unwritable"))
                why = "; ".join(f"{n}x {r}" for r, n in reasons.most_common(3))
                lines.append(f"  {op}: {ok} / {ex} / {len(mine)}  {why}")
        return "\n".join(lines)


def pattern(reason: str) -> str:
    """A reason with quoted names and numbers blanked, and the suggestion dropped, so one
    kind of gap is one line (``'…' is not a function gradtui takes``)."""
    reason = reason.split("; did you mean")[0]
    reason = re.sub(r"'[^']*'", "'…'", reason)
    return re.sub(r"\b\d+\b", "N", reason)
