"""``newsbot clusters --explain ID``: why each article of a cluster is in it (pure formatting).

For every article, in the order it was decided: the layer that put it there (a copy found by
URL, title key, fuzzy title or summary text, with the original it copies; or a story decision),
the story it was compared with, the features and the score of that comparison, and the
threshold the score had to reach (:mod:`bot.pipeline.dedup.story`).
"""

from __future__ import annotations

import json
import time
from typing import Any

from bot.pipeline.dedup.story import FEATURES, MODEL

_COPY = {"url": "same canonical URL", "title": "same title key", "fuzzy": "fuzzy title",
         "text": "near-duplicate summary"}


def format_explain(cluster: dict[str, Any] | None, rows: list[dict[str, Any]]) -> str:
    """The explanation of one cluster (``rows``: ``bot.pipeline.store.clusters.cluster_decisions``)."""
    if cluster is None:
        return "no such cluster"
    lines = [f"cluster {cluster['id']}: {cluster['title']} ({len(rows)} articles; "
             f"join threshold {MODEL.threshold:.2f})"]
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(r["published_at"] or 0))
        lines.append(f"#{r['id']} {when} UTC [{r['source']}] {r['title']}")
        lines.append("    " + _verdict(r, cluster["id"]))
        if r["features"]:
            values = json.loads(r["features"])
            lines.append("    features: " + ", ".join(
                f"{name} {value:.2f}" for name, value in zip(FEATURES, values, strict=False)))
    return "\n".join(lines)


def _verdict(r: dict[str, Any], cluster_id: int) -> str:
    layer, compared, score = r["layer"], r["compared"], r["score"]
    if layer in _COPY:
        return f"copy ({_COPY[layer]}) of article #{compared}"
    if layer == "story":
        return f"joined story {compared}: score {score:.3f} >= {MODEL.threshold:.2f}"
    if layer == "new" and compared is not None:
        return (f"started the story: best candidate story {compared} scored {score:.3f} "
                f"< {MODEL.threshold:.2f}")
    if layer == "new":
        return "started the story: no open candidate story shared its words"
    if layer == "error":
        return "started the story: its decision failed (see the log)"
    return "decided before decisions were recorded"
