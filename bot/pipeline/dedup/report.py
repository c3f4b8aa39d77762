"""Text report of story clusters for ``newsbot clusters`` (pure)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from bot.pipeline.dedup.keys import source_key


def distinct_sources(names: Iterable[str]) -> list[str]:
    """One name per publisher ("Le Monde" and "Le Monde.fr - International" are one), shortest kept."""
    chosen: dict[str, str] = {}
    for name in names:
        key = source_key(name) or name
        if key not in chosen or len(name) < len(chosen[key]):
            chosen[key] = name
    return list(chosen.values())


MAX_LISTED_IDS = 20


def plural(count: int, word: str) -> str:
    """"1 article", "2 articles" (English nouns with a plain -s plural)."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _ids(ids: list[int]) -> str:
    shown = ", ".join(map(str, ids[:MAX_LISTED_IDS]))
    left = len(ids) - MAX_LISTED_IDS
    return shown + (f" … (+{left} more: newsbot export)" if left > 0 else "")


def format_cluster(c: dict[str, Any], tags: Iterable[str] = ()) -> list[str]:
    """One cluster's block: its id and title, counts and first seen (UTC), its sources, the ids
    of its articles (for ``newsbot explain``), then ``#tags`` when given."""
    first = time.strftime("%Y-%m-%d %H:%M", time.gmtime(c["first_seen"]))
    lines = [
        f"cluster {c['id']}: {c['title']}",
        f"    {plural(c['size'], 'article')} from {plural(c['source_count'], 'source')}, "
        f"first seen {first} UTC",
        "    sources: " + ", ".join(distinct_sources(c["sources"])),
        "    articles: " + _ids(c["article_ids"]),
    ]
    hashtags = " ".join(f"#{t}" for t in sorted(tags))
    if hashtags:
        lines.append("    " + hashtags)
    return lines


def format_clusters(clusters: list[dict[str, Any]]) -> str:
    """Every cluster's block (see :func:`format_cluster`), in the order given."""
    if not clusters:
        return "no cluster matches"
    return "\n".join(line for c in clusters for line in format_cluster(c))
