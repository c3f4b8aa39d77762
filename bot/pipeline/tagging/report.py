"""Plain-text output of ``newsbot tags`` and ``newsbot explain`` (pure formatting), and the
:class:`Explanation` record that :func:`bot.pipeline.tagging.retag.explain_article` fills."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config.models import TagConfig


@dataclass(frozen=True)
class Explanation:
    """What ``newsbot explain`` prints for one article."""

    article_id: int
    title: str
    feed: str
    stored: dict[str, str]              # tag → matched text, as stored
    current: dict[str, str] | None      # what the given tagger says now (None: not asked)
    matches: list[tuple[str, str]]      # every (tag, matched text) occurrence, in text order

    @property
    def stale(self) -> bool:
        """True when the stored tags differ from what the current config would give."""
        return self.current is not None and self.current != self.stored


def tags_table(tags: tuple[TagConfig, ...], counts: dict[str, tuple[int, int]], language: str) -> str:
    """One line per configured tag: id, label, keyword count, articles over 24 h and 7 d.

    Tags still stored but no longer configured are listed after, marked as such.
    """
    rows = [("TAG", "LABEL", "KEYWORDS", "24H", "7D", "")]
    for tag in tags:
        day, week = counts.get(tag.id, (0, 0))
        flag = "priority" if tag.priority else ""
        rows.append((tag.id, tag.label(language), str(len(tag.keywords)), str(day), str(week), flag))
    configured = {t.id for t in tags}
    for tag_id in sorted(set(counts) - configured):
        day, week = counts[tag_id]
        rows.append((tag_id, "", "", str(day), str(week), "not configured"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.rjust(w) if i in (2, 3, 4) else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


def explanation_text(explanation: Explanation) -> str:
    """The stored tags of one article with the text that matched, then any difference with the
    current config and every keyword occurrence found."""
    lines = [f"article {explanation.article_id} ({explanation.feed}): {explanation.title}"]
    if not explanation.stored:
        lines.append("  no tags stored")
    for tag, matched in explanation.stored.items():
        lines.append(f"  {tag:<20} {matched}")
    if explanation.current is not None:
        if explanation.stale:
            lines.append("with the current config (run `newsbot retag` to store this):")
            if not explanation.current:
                lines.append("  no tags")
            for tag, matched in explanation.current.items():
                lines.append(f"  {tag:<20} {matched}")
        else:
            lines.append("(the current config gives the same tags)")
        if explanation.matches:
            lines.append("keyword occurrences:")
            for tag, matched in explanation.matches:
                lines.append(f"  {tag:<20} {matched}")
    return "\n".join(lines)
