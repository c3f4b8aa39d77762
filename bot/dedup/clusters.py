"""Story clustering decisions (pure): does a new article belong to an existing story?

A new, non-duplicate article is compared with a bounded set of recent candidate articles (found
through the token postings index) and the best-scoring cluster wins if its score clears
``JOIN_THRESHOLD``. The score combines, per candidate article (single link, then the best
member of each cluster):

* IDF-weighted cosine of the titles (document frequencies stored in SQLite);
* IDF-weighted cosine of title + summary when both have a summary;
* shared rare tokens (names, places, companies: the story's anchor), and rare names that only
  one side has in its title (the other city of a templated "strike on X" headline);
* numbers in both titles, shared tags, time apart.

The weights were set by measurement on the labelled corpus and the UCI sample (see
docs/BENCHMARKS.md, "## Dedup"); ``bench/dedup_quality.py`` reproduces them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.dedup.similarity import Doc, Idf, weighted_cosine
from bot.dedup.text import capitalised, lowercase_words

JOIN_THRESHOLD = 0.5
RELATED_THRESHOLD = 0.15
HOURS = 3600.0


@dataclass(frozen=True)
class PairFeatures:
    title_cos: float
    text_cos: float | None
    shared_rare: float        # summed IDF of rare title terms both share
    conflict: bool            # each title names something rare the other text lacks
    tags: float               # Jaccard of tag sets (0 when either has none)
    hours_apart: float


def _distinct_names(a: Doc, b: Doc, idf: Idf) -> frozenset[str]:
    """Rare names in ``a``'s title that ``b`` never mentions (title or summary)."""
    names = (capitalised(a.title) | (a.title_terms - lowercase_words(a.title))) & a.title_terms
    return frozenset(t for t in names if idf.rare(t) and t not in b.text_terms and not t[:1].isdigit())


def features(a: Doc, b: Doc, idf: Idf) -> PairFeatures:
    title_cos = weighted_cosine(a.title_terms, b.title_terms, idf)
    text_cos = None
    if a.summary_words >= 12 and b.summary_words >= 12:
        text_cos = weighted_cosine(a.text_terms, b.text_terms, idf)
    shared = a.title_terms & b.title_terms
    shared_rare = sum(idf(t) for t in shared if idf.rare(t))
    conflict = bool(_distinct_names(a, b, idf)) and bool(_distinct_names(b, a, idf))
    tags = 0.0
    if a.tags and b.tags:
        tags = len(a.tags & b.tags) / len(a.tags | b.tags)
    return PairFeatures(
        title_cos=title_cos,
        text_cos=text_cos,
        shared_rare=shared_rare,
        conflict=conflict,
        tags=tags,
        hours_apart=abs(a.published_at - b.published_at) / HOURS,
    )


def pair_score(f: PairFeatures) -> float:
    """One number per pair; >= JOIN_THRESHOLD means "same story"."""
    if f.conflict:
        return 0.0
    score = f.title_cos if f.text_cos is None else 0.45 * f.title_cos + 0.55 * f.text_cos
    score += 0.04 * min(f.shared_rare, 10.0)
    score += 0.1 * f.tags
    score -= 0.05 * math.log1p(f.hours_apart / 12.0)
    return score


def best_cluster(
    doc: Doc, candidates: list[Doc], idf: Idf, related_votes: dict[int, int]
) -> tuple[int | None, float]:
    """The cluster ``doc`` should join (or None) and its score.

    ``related_votes`` counts, per cluster, Google News related-coverage links tying ``doc`` to
    it: Google's own grouping lowers the bar, but never past a naming conflict.
    """
    scores: dict[int, float] = {}
    for cand in candidates:
        if cand.cluster_id is None or cand.id == doc.id:
            continue
        s = pair_score(features(doc, cand, idf))
        if s > scores.get(cand.cluster_id, -1.0):
            scores[cand.cluster_id] = s
    best: tuple[int | None, float] = (None, 0.0)
    for cluster_id, s in scores.items():
        need = RELATED_THRESHOLD if related_votes.get(cluster_id) else JOIN_THRESHOLD
        if s >= need and s > best[1]:
            best = (cluster_id, s)
    if best[0] is None and related_votes:
        # Google grouped them but we share no words with any member we looked at.
        cluster_id = max(related_votes, key=lambda c: related_votes[c])
        if cluster_id not in scores:
            return cluster_id, 0.0
    return best
