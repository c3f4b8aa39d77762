"""Decide each new article once, using only what is stored, and persist the decision.

One read, one pure decision, one write per article:

* read: the article's document frequencies, its index terms' recent postings (one bounded
  range scan per term: the articles and clusters sharing its words), the candidate stories'
  most recent originals, Google News related-coverage links;
* decide: the duplicate layers, cheapest first, stopping at the first match — canonical URL,
  normalised title key within ``DUP_WINDOW``, fuzzy title (names and numbers must match), near
  duplicate summary text (MinHash LSH bands + containment anchors); otherwise
  :func:`bot.pipeline.dedup.story.decide` (pure, ``now`` passed in) picks the story or says "new";
* write: the article's cluster and ``duplicate_of``, the cluster's size/sources/representative,
  the indexes, and the decision itself (``dedup_decisions``, for ``newsbot clusters --explain``).

A duplicate keeps its row, points at the first-seen article of its group (``duplicate_of``) and
joins that article's cluster. Every lookup is an index range scan bounded by a time window and a
LIMIT, so the cost per article does not grow with the store. Decisions are final: no cluster is
merged or re-decided afterwards (that let chains form on long-running events).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import Counter
from functools import lru_cache

from sqlite_utils import Database

from bot.pipeline.dedup import minhash
from bot.pipeline.dedup.keys import hash64, title_key, url_key
from bot.pipeline.dedup.representative import prefer
from bot.pipeline.dedup.similarity import Doc, Idf, same_headline
from bot.pipeline.dedup.story import (
    MAX_STORIES,
    POOL,
    WINDOW,
    Decision,
    Story,
    article_time,
    candidate_clusters,
    decide,
    index_terms,
)
from bot.pipeline.dedup.text import stem
from bot.pipeline.dedup.view import StoreView, view_of
from bot.pipeline.parse.normalize import canonical_url
from bot.pipeline.store import clusters as store
from bot.pipeline.store.articles import undecided_article_ids

log = logging.getLogger(__name__)

DAY = 86400.0
DUP_WINDOW = 3 * DAY
POSTINGS_PER_TERM = 20
MAX_CANDIDATES = 12
CANDIDATE_FLOOR = 0.3       # of the best candidate's overlap
MAX_RELATED = 12


def process_articles(db: Database, article_ids: list[int], now: float) -> None:
    """Assign ``duplicate_of``/``cluster_id`` to new articles and maintain their clusters.

    Runs inside the caller's transaction. Articles already decided are skipped, so calling it
    twice (or after a restart) changes nothing.
    """
    ids = sorted(set(article_ids))
    rows = store.load_articles(db, ids)
    for article_id in ids:
        row = rows.get(article_id)
        if row is None or row["cluster_id"] is not None:
            continue
        view = view_of(db)
        doc = Doc.from_row(row)
        try:
            with db.atomic():                      # a savepoint: a failure undoes this article only
                process_one(db, doc, now, view)
        except sqlite3.DatabaseError:
            view.drop()
            raise                                  # the store itself is in trouble: let the poll fail
        except Exception:
            view.drop()                            # the savepoint's writes were undone
            # A bug or an input we did not foresee must not block the feed's other articles:
            # the article is kept, alone in its own cluster, and the error is logged.
            log.exception("dedup failed for article %s; kept as its own story", article_id)
            view = view_of(db)
            doc = Doc.from_row(row)
            _join(view, _new_cluster(view, doc, now), doc, now)
            store.record_decision(db, doc.id, "error", None, None, None)


def reindex_articles(db: Database, article_ids: list[int]) -> None:
    """Refresh the copy-finding indexes (title key, text buckets, related coverage) of articles
    whose title or summary changed, so later copies of the new text are found. Their cluster
    and duplicate decisions stay as they were (decided once, on arrival)."""
    ids = sorted(set(article_ids))
    rows = store.load_articles(db, ids)
    for article_id in ids:
        row = rows.get(article_id)
        if row is None or row["cluster_id"] is None:
            continue
        view = view_of(db)
        doc = Doc.from_row(row)
        view.remember(doc)
        store.drop_copy_keys(db, article_id)
        _index(view, doc, _idf(view, doc), row["cluster_id"], clustering=False)


def process_one(db: Database, doc: Doc, now: float, view: StoreView | None = None) -> int:
    """Decide one article (read, decide, write); returns its cluster id.

    ``view``: the connection's in-memory view of the store (None: :func:`view_of`).
    """
    view = view or view_of(db)
    idf = _idf(view, doc)
    near = Neighbourhood(view, doc, idf, now)
    copy = find_duplicate(view, doc, idf, near)
    if copy is not None and copy[0].cluster_id is not None:
        original, layer = copy
        _mark(view, doc, original.cluster_id, original.id)
        _join(view, original.cluster_id, doc, now)
        _index(view, doc, idf, original.cluster_id, clustering=False)
        store.record_decision(db, doc.id, layer, original.id, None, None)
        return original.cluster_id
    decision = decide(doc, near.stories(view, _related_votes(view, doc)), idf, now)
    return _write(view, doc, idf, decision, now)


def _write(view: StoreView, doc: Doc, idf: Idf, decision: Decision, now: float) -> int:
    """Persist a story decision: the article's cluster, the cluster, the indexes, the why."""
    cluster_id = decision.cluster_id
    if cluster_id is None:
        cluster_id = _new_cluster(view, doc, now)
    else:
        _mark(view, doc, cluster_id, None)
    _join(view, cluster_id, doc, now)
    _index(view, doc, idf, cluster_id, clustering=True)
    store.record_decision(
        view.db, doc.id, "story" if decision.cluster_id is not None else "new", decision.compared,
        decision.score if decision.compared is not None else None,
        json.dumps([round(x, 4) for x in decision.features]) if decision.features else None,
    )
    return cluster_id


# -- duplicates -----------------------------------------------------------------------------------


def find_duplicate(view: StoreView, doc: Doc, idf: Idf, near: Neighbourhood) -> tuple[Doc, str] | None:
    """The first-seen article ``doc`` is a copy of and the layer that found it ("url",
    "title", "fuzzy", "text"), or None."""
    db = view.db
    lo, hi = doc.published_at - DUP_WINDOW, doc.published_at + DUP_WINDOW
    other = store.find_by_canonical_url(db, doc.canonical_url, doc.id)
    if other is not None:
        return _found(view, other, "url")
    if doc.title_key is not None:
        ids = [aid for _, aid in store.find_keys(db, "dedup_title_keys", [doc.title_key], lo, hi)]
        for cand in view.docs(sorted(ids)):
            if cand.id != doc.id and not _texts_disagree(doc, cand):
                return _found(view, cand.id, "title")
    for cand in near.members:
        if abs(cand.published_at - doc.published_at) > DUP_WINDOW:
            continue
        if same_headline(doc, cand, idf) and not _texts_disagree(doc, cand):
            return _found(view, cand.id, "fuzzy")
    keys = doc.lsh_keys
    if keys:
        hits = Counter(aid for _, aid in store.find_keys(db, "dedup_lsh", keys, lo, hi, per_key=8))
        hits.pop(doc.id, None)
        ranked = [aid for aid, _ in hits.most_common(MAX_CANDIDATES)]
        for cand in sorted(view.docs(ranked), key=lambda c: c.id):
            if minhash.near_duplicate(doc.shingles, cand.shingles):
                return _found(view, cand.id, "text")
    return None


def _found(view: StoreView, article_id: int, layer: str) -> tuple[Doc, str] | None:
    root = _root(view, article_id)
    return None if root is None else (root, layer)


def _texts_disagree(a: Doc, b: Doc) -> bool:
    """A recurring headline, not a copy: same outlet (or a short generic title) and plainly
    different texts ("Business Highlights" on two days). Across outlets a long identical
    headline is a copy even when the copier pasted other text under it."""
    if a.source_key != b.source_key and len(a.title_terms) > 6:
        return False
    sa, sb = a.shingles, b.shingles
    if not sa or not sb:
        return False
    jac, cont = minhash.compare(sa, sb)
    return cont < 0.3 and jac < 0.2


def _root(view: StoreView, article_id: int) -> Doc | None:
    docs = view.docs([article_id])
    if not docs:
        return None
    doc = docs[0]
    if doc.duplicate_of is not None:
        parent = view.docs([doc.duplicate_of])
        if parent:
            return parent[0]
    return doc


# -- clusters -------------------------------------------------------------------------------------


def _mark(view: StoreView, doc: Doc, cluster_id: int, duplicate_of: int | None) -> None:
    """Store the article's decision; the view holds it, decided, from now on."""
    store.mark_article(view.db, doc.id, cluster_id, duplicate_of)
    doc.cluster_id, doc.duplicate_of = cluster_id, duplicate_of
    view.remember(doc)
    if duplicate_of is None:
        view.joined(cluster_id, doc, POOL)


def _new_cluster(view: StoreView, doc: Doc, now: float) -> int:
    """A new story with ``doc`` (an original) as its only article and representative."""
    cluster_id = store.create_cluster(view.db, doc.id, doc.title, now)
    view.new_cluster(cluster_id, doc)
    _mark(view, doc, cluster_id, None)
    return cluster_id


def _join(view: StoreView, cluster_id: int, doc: Doc, now: float) -> None:
    """Count ``doc`` in its cluster (size, sources) and make it the representative if it is a
    better one (a new cluster's is already ``doc``, set by ``create_cluster``)."""
    store.grow_cluster(view.db, cluster_id, doc.source_key or doc.source, now)
    rep = view.representative(cluster_id)
    if rep == doc.id:
        return
    current = view.docs([rep]) if rep else []
    if not current or _better_representative(view, doc, current[0]):
        view.set_representative(cluster_id, doc)


def _better_representative(view: StoreView, new: Doc, current: Doc) -> bool:
    return prefer(
        new, current,
        new_known=view.known_publisher(new.source_key),
        current_known=view.known_publisher(current.source_key),
    )


def _related_votes(view: StoreView, doc: Doc) -> dict[int, int]:
    """Clusters Google News groups with ``doc``, either way round, with a vote count: items
    stored earlier whose related coverage names ``doc`` (by title or link), and stored articles
    that ``doc``'s own related coverage names."""
    db = view.db
    lo, hi = doc.published_at - WINDOW, doc.published_at + WINDOW
    ids: list[int] = []
    own = [k for k in (doc.title_key, url_key(doc.canonical_url) if doc.canonical_url else None) if k]
    if own:
        ids += [aid for _, aid in store.find_keys(db, "dedup_related", own, lo, hi)]
    title_keys, urls = _related_refs(doc)
    if title_keys:
        ids += [aid for _, aid in store.find_keys(db, "dedup_title_keys", title_keys, lo, hi, per_key=5)]
    for url in urls:
        other = store.find_by_canonical_url(db, url, doc.id)
        if other is not None:
            ids.append(other)
    votes: Counter[int] = Counter()
    for cand in view.docs(ids):
        if cand.id != doc.id and cand.cluster_id is not None:
            votes[cand.cluster_id] += 1
    return dict(votes)


def _related_refs(doc: Doc) -> tuple[list[int], list[str]]:
    """Title keys and canonical URLs of the articles in ``doc``'s related coverage (bounded)."""
    keys: list[int] = []
    urls: list[str] = []
    for item in doc.related[:MAX_RELATED]:
        if not isinstance(item, dict):
            continue
        key = title_key(str(item.get("title", "")), str(item.get("source", "")))
        if key is not None:
            keys.append(key)
        url = canonical_url(str(item.get("url", "")))
        if url:
            urls.append(url)
    return keys, urls


def _related_keys(doc: Doc) -> list[int]:
    """What ``doc``'s related coverage is indexed under: the titles' keys and the links' keys."""
    keys, urls = _related_refs(doc)
    return keys + [url_key(u) for u in urls]


# -- candidates and indexes -----------------------------------------------------------------------


class Neighbourhood:
    """What the store holds near ``doc``, read in one pass (one bounded range scan per index
    term): ``members``, the recent articles sharing the most with it (fuzzy-title copies are
    looked for among them), and the candidate clusters sharing its words, whose recent
    originals :meth:`stories` loads."""

    def __init__(self, view: StoreView, doc: Doc, idf: Idf, now: float):
        at = article_time(doc, now)
        lo, hi = at - max(WINDOW, DUP_WINDOW), at + max(WINDOW, DUP_WINDOW)
        # Sorted: postings are summed (floats) and ties ranked in this order, which must not
        # follow string hashing.
        terms = sorted(index_terms(doc, idf))
        keys = {term_key(t): t for t in terms}
        weights = {key: idf.squared(term) for key, term in keys.items()}
        overlap: dict[int, float] = {}
        postings: list[tuple[str, int | None]] = []
        doc_id = doc.id
        for key, aid, cid in store.find_postings(view.db, list(keys), lo, hi, per_key=POSTINGS_PER_TERM):
            if aid == doc_id:
                continue
            overlap[aid] = overlap.get(aid, 0.0) + weights[key]
            postings.append((keys[key], cid))
        ranked = sorted(overlap, key=lambda a: (-overlap[a], a))[:MAX_CANDIDATES]
        # Only candidates sharing a real part of the best overlap: in a big store many articles
        # share one common word, and comparing them all would make the cost grow with the store.
        floor = overlap[ranked[0]] * CANDIDATE_FLOOR if ranked else 0.0
        self.members = view.docs([aid for aid in ranked if overlap[aid] >= floor])
        self.clusters = candidate_clusters(postings, idf, MAX_STORIES)
        self._idf, self._doc = idf, doc

    def stories(self, view: StoreView, related: dict[int, int]) -> list[Story]:
        """The candidate clusters (and those Google News ties to the article) with their
        :data:`POOL` most recent originals, loaded in one query each; their terms'
        frequencies are fetched in one batch."""
        ids = sorted(set(self.clusters) | set(related))
        recent = view.recent_originals(ids, POOL)
        docs = {d.id: d for d in view.docs(sorted({a for v in recent.values() for a in v}))}
        self._idf.prefetch(frozenset().union(*[d.text_stems for d in docs.values()]))
        profiles = store.cluster_profiles(view.db, ids, sorted(self._doc.title_stems))
        return [Story(cid, tuple(docs[a] for a in recent[cid] if a in docs), related.get(cid, 0),
                      profiles[cid][1:] if cid in profiles else None)
                for cid in ids if recent.get(cid)]


@lru_cache(maxsize=8192)
def _term_key(term: str) -> int:
    return hash64("w:" + term)


def term_key(term: str) -> int:
    """The postings key of a stemmed term (stems are short: cached, bounded in bytes)."""
    return _term_key(term) if len(term) <= 32 else hash64("w:" + term)


def _index(view: StoreView, doc: Doc, idf: Idf, cluster_id: int, *, clustering: bool) -> None:
    """Record ``doc`` in the dedup indexes (after its decision, so it never matches itself).

    Duplicates go into the copy-finding indexes only: counting them in document frequencies
    or centroids would let one article republished ten times outweigh ten outlets.
    """
    db, p = view.db, doc.published_at
    if doc.title_key is not None:
        store.add_keys(db, "dedup_title_keys", [doc.title_key], p, doc.id)
    lsh = doc.lsh_keys
    if lsh:
        store.add_keys(db, "dedup_lsh", lsh, p, doc.id)
    if doc.is_google_news:
        view.note_google_news_source(doc.source_key)
        keys = _related_keys(doc)
        if keys:
            store.add_keys(db, "dedup_related", keys, p, doc.id)
    if clustering:
        store.add_postings(db, [term_key(t) for t in index_terms(doc, idf)], p, doc.id, cluster_id)
        store.add_cluster_terms(db, cluster_id, {t: idf(t) for t in doc.title_stems})
        view.add_document(doc.text_stems)


def _idf(view: StoreView, doc: Doc) -> Idf:
    idf = Idf({}, view.documents(), view.frequencies)
    idf.prefetch(doc.text_stems | {stem(e) for e in doc.entities})
    return idf


# -- the backlog ----------------------------------------------------------------------------------


def decide_pending(db: Database, now: float, limit: int) -> int:
    """Decide up to ``limit`` stored articles that have no cluster yet, oldest first, in one
    transaction; returns how many were taken (0: nothing left). See :mod:`bot.pipeline.dedup.worker`."""
    ids = undecided_article_ids(db, limit)
    if ids:
        with db.atomic():
            process_articles(db, ids, now)
    return len(ids)
