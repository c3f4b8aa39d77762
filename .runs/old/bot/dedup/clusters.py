"""Story clustering decisions (pure): does a new article belong to an existing story?

A new, non-duplicate article is scored against a bounded set of recent candidate clusters
(found through the token postings index, within a time window). Two views of a cluster are
combined, and the better one decides:

* the centroid: IDF-weighted cosine between the article's stemmed title terms and the summed
  term counts of every article in the cluster, plus a bonus per "keyword" the article shares
  with the cluster (a term that, in the recent window, belongs mostly to this one cluster and
  appears in a good share of its articles: "Sbarro", "Gox", "Kursk" during that story);
* the best pair with a cluster member: title cosine, title + summary cosine when both have a
  summary, shared rare terms, shared tags, time apart.

A naming conflict vetoes a pair: each title names a place or person the other article never
mentions, and the titles share fewer than two specific names ("Russian strike on Kharkiv kills
5" / "... on Odesa kills 5"). Countries alone do not conflict ("la Corée du Sud" vs "Séoul"),
except in a templated sibling: titles this similar that differ by any name, a country included
("... shakes southern Japan" / "... Peru"). A cluster is vetoed when every member compared
conflicts or its closest member is a templated sibling. Two cluster-level vetoes stop
single-link chaining through generic words ("talks in Geneva" joining the Iran nuclear talks and
the Russia-Ukraine talks): the cluster's dominant countries are absent from an article whose
title names other ones (:func:`subject_conflict`, checked against the centroid, not one member),
and summaries that plainly tell other stories (best title + summary cosine with the members
under ``TEXT_FLOOR``) veto a title-only match. A report on one market (oil, metals, currencies,
Wall Street...) stays out of a cluster whose one-market reports are mostly about other markets
(:func:`market_minority`). A keyword may stand alone only when the story owns
it (rare in the store, or most of its articles are in the cluster): "Sbarro", not "Dies".
Google News related coverage (Google's own grouping of the story) lowers the bar and overrides
the vetoes, which cannot see that two headlines in two languages tell one story. A word the
cluster's members write in lower case ("create" in "Chiquita and Fyffes to create ...") is no
lone keyword either, however much one story uses it.

Clusters merge after the fact: when an article could join two clusters (:func:`bridged`) and
their centroids agree (:func:`centroid_cosine` of their most frequent terms, IDF-weighted) without
naming different countries (:func:`subjects_disagree`), they were one story found in two pieces.

Thresholds and weights were set by measurement (bench/dedup_quality.py, docs/BENCHMARKS.md).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.dedup.similarity import Doc, Idf, weighted_cosine
from bot.dedup.text import (
    TOPIC_NAMES,
    WORD_NAMES,
    acronyms,
    capitalised,
    is_title_case,
    lowercase_words,
    stem,
)

PAIR_THRESHOLD = 0.7
CENTROID_THRESHOLD = 0.2
CENTROID_MIN_SHARED = 2   # title terms in common with the centroid, unless a keyword is shared
KEYWORD_BONUS = 0.3
KEYWORD_SHARE = 0.6       # of the term's recent postings that are in this cluster
KEYWORD_COVERAGE = 0.4    # of the cluster's articles that have the term
KEYWORD_MIN_SIZE = 3
KEYWORD_OWNED = 0.5       # of the term's articles ever stored that are in this cluster
RELATED_FACTOR = 0.4      # Google News grouped them: the bar drops to 40 %
TEMPLATE_COS = 0.3       # a conflicting closest member this similar is a templated sibling
TEXT_FLOOR = 0.1          # best title+summary cosine with the cluster's members below this: vetoed
SUBJECT_SHARE = 0.5      # a country in this share of a cluster's titles is one of its subjects
SUBJECT_MIN_SIZE = 3     # a cluster this big that never names a country is not about it
MARKET_SHARE = 0.34      # a one-market report's market in under this share of a cluster's...
MARKET_REPORTS = 2        # ...one-market reports (at least this many compared): another story
TIME_DECAY = 0.05        # score lost per log-step of hours between an article and the story
HOURS = 3600.0
MERGE_BRIDGE = 1.0        # an article joinable to two clusters (normalised score) bridges them...
MERGE_COS = 0.28          # ...and they merge when their centroids agree this much
MERGE_TERMS = 64          # a centroid is summarised by its most frequent terms

Profile = tuple[int, float, dict[str, int]]   # size, squared centroid norm, term counts


@dataclass(frozen=True)
class PairFeatures:
    title_cos: float
    text_cos: float | None
    shared_rare: float        # summed IDF of rare title terms both share
    conflict: bool            # each title names something rare the other text lacks
    templated: bool           # a templated sibling: same wording, another place or person
    tags: float               # Jaccard of tag sets (0 when either has none)
    hours_apart: float


def _title_names(a: Doc, idf: Idf) -> tuple[frozenset[str], frozenset[str]]:
    """Stems of the distinctive names in ``a``'s title: (all of them, the ones inside the title).

    A headline's capitalised first word may be a name ("Doliprane : ...") or just a word
    ("Guerre en Ukraine : ..."): it counts as a name both titles share, never as a conflict.
    """
    inside = capitalised(a.title)
    first = set() if is_title_case(a.title) else a.title_terms - lowercase_words(a.title)

    def keep(terms: set[str] | frozenset[str]) -> frozenset[str]:
        return frozenset(stem(t) for t in terms & a.title_terms
                         if not t[:1].isdigit() and idf.distinctive(stem(t)))

    return keep(inside | first), keep(inside)


NamesOf = Callable[[Doc, Idf], tuple[frozenset[str], frozenset[str]]]


def _conflict(a: Doc, b: Doc, idf: Idf, *, countries: bool, names_of: NamesOf = _title_names) -> bool:
    """Each title names something the other article never mentions, and the titles share fewer
    than two specific names: "Kharkiv" vs "Odesa" conflict; "Doliprane, Opella, Sanofi" vs
    "Doliprane, Opella, Bpifrance" do not. With ``countries=False`` a country alone does not
    make a conflict ("la Corée du Sud hausse le ton" vs "affirme Séoul" tell one story)."""
    (names_a, inside_a), (names_b, inside_b) = names_of(a, idf), names_of(b, idf)
    ignore = frozenset() if countries else TOPIC_NAMES | WORD_NAMES
    # An acronym and the name it abbreviates are one name ("AA" / "American Airlines").
    acr_a, acr_b = acronyms(a.title), acronyms(b.title)
    spelled_b = frozenset().union(*[acr_b[t] for t in inside_a if t in acr_b])
    spelled_a = frozenset().union(*[acr_a[t] for t in inside_b if t in acr_a])
    only_a = {t for t in inside_a if t not in b.text_stems and t not in ignore
              and t not in acr_b and t not in spelled_a}
    only_b = {t for t in inside_b if t not in a.text_stems and t not in ignore
              and t not in acr_a and t not in spelled_b}
    if not only_a or not only_b:
        return False
    shared = {t for t in names_a & names_b if t not in TOPIC_NAMES}
    return len(shared) < 2


def features(a: Doc, b: Doc, idf: Idf, *, names: bool = True) -> PairFeatures:
    """Pair features; ``names=False`` skips the (costlier) naming-conflict checks."""
    title_cos = weighted_cosine(a.title_stems, b.title_stems, idf)
    text_cos = None
    if a.summary_words >= 12 and b.summary_words >= 12:
        text_cos = weighted_cosine(a.text_stems, b.text_stems, idf)
    shared = a.title_stems & b.title_stems
    shared_rare = sum(idf(t) for t in sorted(shared) if idf.rare(t))   # sorted: see Idf.sum_squared
    conflict = names and _conflict(a, b, idf, countries=False)
    # Same wording, other place (even a country): "... shakes southern Japan" / "... Peru".
    templated = names and title_cos >= TEMPLATE_COS and _conflict(a, b, idf, countries=True)
    tags = 0.0
    if a.tags and b.tags:
        tags = len(a.tags & b.tags) / len(a.tags | b.tags)
    return PairFeatures(
        title_cos=title_cos,
        text_cos=text_cos,
        shared_rare=shared_rare,
        conflict=conflict,
        templated=templated,
        tags=tags,
        hours_apart=abs(a.published_at - b.published_at) / HOURS,
    )


def pair_score(f: PairFeatures) -> float:
    """One number per pair; >= JOIN_THRESHOLD means "same story"."""
    if f.conflict or f.templated:
        return 0.0
    score = f.title_cos if f.text_cos is None else 0.45 * f.title_cos + 0.55 * f.text_cos
    score += 0.04 * min(f.shared_rare, 10.0)
    score += 0.1 * f.tags
    score -= TIME_DECAY * math.log1p(f.hours_apart / 12.0)
    return score


def centroid_score(
    doc: Doc, idf: Idf, profile: Profile, term_clusters: dict[str, Counter[int]], cluster_id: int,
    words: frozenset[str] = frozenset(),
) -> float:
    """Cosine with the cluster centroid plus the keyword bonus."""
    size, norm2, counts = profile
    terms = doc.title_stems
    if not terms or norm2 <= 0:
        return 0.0
    terms = sorted(terms)        # float sums in a fixed order, whatever the hash seed
    shared = [t for t in terms if counts.get(t)]
    # Countries alone ("Ukraine", "Russie") are shared by every story of a war: at least one
    # other word must be shared too.
    specific = any(t not in TOPIC_NAMES for t in shared)
    common_words = set() if is_title_case(doc.title) else {stem(w) for w in lowercase_words(doc.title)}
    norm_a = idf.norm(doc.title_stems)
    sq = idf.squared
    dot = sum([sq(t) * counts.get(t, 0) for t in terms])
    score = dot / (norm_a * math.sqrt(norm2))
    keywords = names_only = owned = 0
    if size >= KEYWORD_MIN_SIZE:
        for t in terms:
            if t[:1].isdigit() or len(t) < 3 or t in common_words:
                continue      # a keyword names something, it is no lower-case word ("morts")
            recent = term_clusters.get(t)
            if not recent:
                continue
            share = recent[cluster_id] / sum(recent.values())
            if share >= KEYWORD_SHARE and counts.get(t, 0) / size >= KEYWORD_COVERAGE:
                keywords += 1
                names_only += t in TOPIC_NAMES
                owned += t not in TOPIC_NAMES and t not in words and _owned(t, counts.get(t, 0), idf)
    # One shared word is a topic, not a story; a story keyword may stand alone ("Sbarro"), but
    # not a country ("Korea" while one Korea story dominates the window) nor an ordinary word
    # that one story happens to use a lot ("Markets", "Americans", "Growth").
    if (len(shared) < CENTROID_MIN_SHARED or not specific) and not owned:
        return 0.0
    return score + KEYWORD_BONUS * min(keywords, 2)


def _owned(term: str, count: int, idf: Idf) -> bool:
    """The term is rare in the whole store, or most articles that ever used it are in this
    cluster: a story's own name ("Sbarro", "Titanfall"), not an everyday word."""
    return idf.rare(term) or count >= KEYWORD_OWNED * idf.df_of(term)


def market_minority(doc: Doc, members: list[Doc]) -> bool:
    """A report on one market ("Oil sinks on weak China data") and a cluster whose one-market
    reports are mostly about other markets ("Wall St. edges lower...", "Copper falls..."): two
    stories of the same day for the same reason, like strikes on two cities. Round-ups naming
    several markets ("World stocks, copper, oil dip") and headlines naming none neither veto nor
    count: only the compared members that report on one market do (``MARKET_REPORTS`` of them
    at least)."""
    if len(doc.markets) != 1:
        return False
    (mine,) = doc.markets
    reports = [m.markets for m in members if len(m.markets) == 1]
    if len(reports) < MARKET_REPORTS:
        return False
    return sum(1 for r in reports if mine in r) < MARKET_SHARE * len(reports)


def subject_conflict(doc: Doc, profile: Profile) -> bool:
    """The article's title names countries, the cluster's titles mostly name others, and the
    article never mentions those (or, for a cluster of ``SUBJECT_MIN_SIZE``, the article names a
    country the cluster never does and shares fewer than two other words with it): another
    story sharing only generic words ("talks in Geneva":
    the Iran nuclear talks vs the Russia-Ukraine talks). Checked against the centroid, not one
    member, so a round-up ("... crises with Iran, Ukraine and Gaza") absorbed by one story
    cannot bridge it to another.

    ``profile`` counts must include :data:`TOPIC_NAMES` (the caller asks for them).
    """
    size, _norm2, counts = profile
    own = doc.title_stems & TOPIC_NAMES
    if not own or size <= 0:
        return False
    theirs = {t for t in TOPIC_NAMES if counts.get(t, 0) >= SUBJECT_SHARE * size}
    if theirs and not theirs & doc.text_stems:
        return True
    # The other way round: the article names a country none of an established cluster's
    # titles name, and shares at most one ordinary word with it ("EU delays talks on Russian
    # pipeline" is no news about the EU banking-union "talks").
    if size >= SUBJECT_MIN_SIZE and any(not counts.get(t) for t in sorted(own)):
        shared = sum(1 for t in doc.title_stems if t not in TOPIC_NAMES and counts.get(t))
        return shared < CENTROID_MIN_SHARED
    return False


def pick(scores: dict[int, float]) -> tuple[int | None, float]:
    """The best-scoring joinable cluster (ties: the lowest id) and its score, or (None, 0)."""
    best: tuple[int | None, float] = (None, 0.0)
    for cluster_id in sorted(scores):
        if scores[cluster_id] > best[1]:
            best = (cluster_id, scores[cluster_id])
    return best


def cluster_scores(
    doc: Doc,
    idf: Idf,
    members: list[Doc],
    profiles: dict[int, Profile],
    term_clusters: dict[str, Counter[int]],
    related_votes: dict[int, int],
) -> dict[int, float]:
    """Every candidate cluster ``doc`` could join (normalised score >= 1), with its score."""
    memo = _Memo(doc, idf)
    by_cluster: dict[int, list[Doc]] = defaultdict(list)
    for m in members:
        if m.cluster_id is not None and m.id != doc.id:
            by_cluster[m.cluster_id].append(m)
    out: dict[int, float] = {}
    for cluster_id in sorted(set(profiles) | set(by_cluster) | set(related_votes)):
        related = related_votes.get(cluster_id, 0)
        # An upper bound first, without the naming checks (they can only veto): most candidate
        # clusters stop here, which keeps the cost per article flat.
        if not related and _score(memo, cluster_id, by_cluster, profiles, term_clusters, False) < 1.0:
            continue
        score = _score(memo, cluster_id, by_cluster, profiles, term_clusters, True, related)
        if score >= 1.0:
            out[cluster_id] = score
    return out


def centroid_cosine(a: dict[str, int], b: dict[str, int], idf: Idf) -> float:
    """Cosine of two clusters' centroids: term counts weighted by IDF (summed in term order)."""
    if not a or not b:
        return 0.0
    sq = idf.squared
    dot = sum([a[t] * b[t] * sq(t) for t in sorted(a.keys() & b.keys())])
    if not dot:
        return 0.0
    norm_a = math.sqrt(sum([(c * c) * sq(t) for t, c in sorted(a.items())]))
    norm_b = math.sqrt(sum([(c * c) * sq(t) for t, c in sorted(b.items())]))
    return dot / (norm_a * norm_b)


def subjects_disagree(a: Profile, b: Profile) -> bool:
    """One cluster's dominant countries (in half its titles) never appear in the other's:
    two stories about different places that share generic words ("bond", "asks")."""
    def dominant(p: Profile) -> set[str]:
        return {t for t in TOPIC_NAMES if p[2].get(t, 0) >= SUBJECT_SHARE * p[0]}

    return bool(dominant(a) - b[2].keys()) or bool(dominant(b) - a[2].keys())


def bridged(scores: dict[int, float], joined: int) -> list[int]:
    """Other clusters the article could have joined as well, best first: merge candidates."""
    others = [c for c, s in scores.items() if c != joined and s >= MERGE_BRIDGE]
    return sorted(others, key=lambda c: (-scores[c], c))


class _Memo:
    """One article's pair features, title names and centroid scores, computed once: the upper
    bound pass and the full pass of :func:`cluster_scores` need the same values (the full pass
    only adds the naming checks), and a member's names serve both of its naming checks."""

    def __init__(self, doc: Doc, idf: Idf):
        self.doc, self.idf = doc, idf
        self._pairs: dict[int, PairFeatures] = {}      # by id() of a member (alive meanwhile)
        self._names: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
        self._centroids: dict[int, float] = {}

    def names_of(self, d: Doc, idf: Idf) -> tuple[frozenset[str], frozenset[str]]:
        found = self._names.get(id(d))
        if found is None:
            found = self._names[id(d)] = _title_names(d, idf)
        return found

    def features(self, m: Doc, names: bool) -> PairFeatures:
        """``features(doc, m, idf, names=names)``."""
        base = self._pairs.get(id(m))
        if base is None:
            base = self._pairs[id(m)] = features(self.doc, m, self.idf, names=False)
        if not names:
            return base
        conflict = _conflict(self.doc, m, self.idf, countries=False, names_of=self.names_of)
        templated = base.title_cos >= TEMPLATE_COS and _conflict(
            self.doc, m, self.idf, countries=True, names_of=self.names_of
        )
        return replace(base, conflict=conflict, templated=templated)

    def centroid(
        self, profile: Profile, term_clusters: dict[str, Counter[int]], cluster_id: int,
        members: list[Doc] = (),
    ) -> float:
        """``centroid_score(doc, idf, profile, term_clusters, cluster_id, words)``."""
        found = self._centroids.get(cluster_id)
        if found is None:
            words = frozenset(stem(w) for m in members if not is_title_case(m.title)
                              for w in lowercase_words(m.title))
            found = self._centroids[cluster_id] = centroid_score(
                self.doc, self.idf, profile, term_clusters, cluster_id, words
            )
        return found


def _score(
    memo: _Memo, cluster_id: int, by_cluster: dict[int, list[Doc]], profiles: dict[int, Profile],
    term_clusters: dict[str, Counter[int]], names: bool, related: int = 0,
) -> float:
    """Normalised score of one cluster (>= 1 joins); 0 when a naming conflict vetoes it."""
    pair_best, closest, conflicts, compared, hours = 0.0, (-1.0, False), 0, 0, 0.0
    text_best: float | None = None
    for m in by_cluster.get(cluster_id, []):
        f = memo.features(m, names)
        if f.text_cos is not None:
            text_best = max(text_best or 0.0, f.text_cos)
        closest = max(closest, (f.title_cos, f.templated))
        pair_best = max(pair_best, pair_score(f))
        conflicts += f.conflict
        compared += 1
        hours = f.hours_apart if compared == 1 else min(hours, f.hours_apart)
    if names and not related and (closest[1] or (compared and conflicts == compared)):
        return 0.0
    if names and not related and market_minority(memo.doc, by_cluster.get(cluster_id, [])):
        return 0.0
    if names and not related and cluster_id in profiles and subject_conflict(memo.doc, profiles[cluster_id]):
        return 0.0
    # Title words alone (the centroid) must not override texts that plainly tell other stories.
    if names and not related and text_best is not None and text_best < TEXT_FLOOR:
        return 0.0
    cent = 0.0
    if cluster_id in profiles:
        cent = memo.centroid(profiles[cluster_id], term_clusters, cluster_id, by_cluster.get(cluster_id, []))
        cent -= TIME_DECAY * math.log1p(hours / 12.0)   # a day or two later: a follow-up story
    score = max(pair_best / PAIR_THRESHOLD, cent / CENTROID_THRESHOLD)
    if related:
        score = max(score / RELATED_FACTOR, 1.0)
    return score
