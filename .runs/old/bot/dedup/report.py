"""Text report of story clusters for ``newsbot clusters`` (pure)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from bot.dedup.keys import source_key


def distinct_sources(names: Iterable[str]) -> list[str]:
    """One name per publisher ("Le Monde" and "Le Monde.fr - International" are one), shortest kept."""
    chosen: dict[str, str] = {}
    for name in names:
        key = source_key(name) or name
        if key not in chosen or len(name) < len(chosen[key]):
            chosen[key] = name
    return list(chosen.values())


def format_clusters(clusters: list[dict[str, Any]]) -> str:
    """One block per cluster: size and sources count, first seen (UTC), title, then sources."""
    if not clusters:
        return "no cluster matches"
    lines = []
    for c in clusters:
        first = time.strftime("%Y-%m-%d %H:%M", time.gmtime(c["first_seen"]))
        sources = distinct_sources(c["sources"])
        lines.append(f"[{c['size']} articles, {c['source_count']} sources, first seen {first} UTC] "
                     f"{c['title']}")
        lines.append("    " + ", ".join(sources))
    return "\n".join(lines)
