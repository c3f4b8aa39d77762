"""Geopolitics tagging: normalise title + summary once, match every tag's keywords in one pass.

``Tagger.from_config(config.tags)`` compiles the taxonomy (one Aho-Corasick automaton);
``tagger.tag(title, summary)`` returns ``{tag id: matched text}``. Pure: no I/O here; the
store-side re-tagging lives in :mod:`bot.pipeline.tagging.retag`.
"""

from __future__ import annotations

from bot.pipeline.tagging.matcher import Match, Tagger, tag_problems
from bot.pipeline.tagging.normalize import normalize_article

__all__ = ["Match", "Tagger", "add_feed_tags", "normalize_article", "tag_problems"]


def add_feed_tags(tags: dict[str, str], feed_name: str, feed_tags: tuple[str, ...]) -> dict[str, str]:
    """``tags`` plus the feed's own tags (matched text ``feed:<name>``); keyword matches are kept
    when a tag came both ways, since they say more in ``newsbot explain``."""
    merged = dict(tags)
    for tag in feed_tags:
        merged.setdefault(tag, f"feed:{feed_name}")
    return merged
