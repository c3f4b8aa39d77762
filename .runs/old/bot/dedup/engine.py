"""Decide each new article once, using only what is stored, and persist the decision.

Layers, cheapest first, stopping at the first match:

1. canonical URL (index on articles.canonical_url);
2. normalised title key within ``DUP_WINDOW`` (dedup_title_keys);
3. fuzzy title: IDF-weighted, names and numbers must match (candidates from dedup_postings);
4. near-duplicate summary text: MinHash LSH bands + containment anchors (dedup_lsh).

A duplicate keeps its row, points at the first-seen article of its group (``duplicate_of``) and
joins that article's cluster. Anything else joins the best-scoring recent cluster
(:mod:`bot.dedup.clusters`) or starts a new one. Every lookup is an index range scan bounded by
a time window and a LIMIT, so the cost per article does not grow with the store.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter, defaultdict
from functools import lru_cache

from sqlite_utils import Database

from bot.dedup import minhash
from bot.dedup.clusters import (
    MERGE_COS,
    MERGE_TERMS,
    bridged,
    centroid_cosine,
    cluster_scores,
    pick,
    subjects_disagree,
)
from bot.dedup.keys import hash64, title_key, url_key
from bot.dedup.representative import prefer
from bot.dedup.similarity import Doc, DocCache, Idf, same_headline
from bot.dedup.text import TOPIC_NAMES, stem
from bot.normalize import canonical_url
from bot.store import clusters as store
from bot.store.articles import undecided_article_ids

log = logging.getLogger(__name__)

DAY = 86400.0
DUP_WINDOW = 3 * DAY
CLUSTER_WINDOW = 3 * DAY
POSTINGS_PER_TERM = 20
MAX_CANDIDATES = 12
CANDIDATE_FLOOR = 0.3       # of the best candidate's overlap
MAX_CLUSTERS = 8
MAX_RELATED = 12
MAX_SUMMARY_ENTITIES = 8

# Derived text features of recently seen articles (bounded; never changes a decision).
DOCS = DocCache()


def process_articles(db: Database, article_ids: list[int], now: float) -> None:
    """Assign ``duplicate_of``/``cluster_id`` to new articles and maintain their clusters.

    Runs inside the caller's transaction. Articles already decided are skipped, so calling it
    twice (or after a restart) changes nothing.
    """
    # Inside the caller's transaction the store changes only through our own writes, so document
    # frequencies read for one article stay valid for the next (kept up to date as we count).
    frequencies = Frequencies(db) if db.conn.in_transaction else None
    for article_id in sorted(set(article_ids)):
        row = store.load_articles(db, [article_id]).get(article_id)
        if row is None or row["cluster_id"] is not None:
            continue
        doc = DOCS.adopt(Doc.from_row(row))
        try:
            with db.atomic():                      # a savepoint: a failure undoes this article only
                process_one(db, doc, now, frequencies)
        except sqlite3.DatabaseError:
            raise                                  # the store itself is in trouble: let the poll fail
        except Exception:
            if frequencies is not None:
                frequencies.forget()               # the savepoint's writes were undone
            # A bug or an input we did not foresee must not block the feed's other articles:
            # the article is kept, alone in its own cluster, and the error is logged.
            log.exception("dedup failed for article %s; kept as its own story", article_id)
            cluster_id = store.create_cluster(db, doc.id, doc.title, now)
            store.mark_article(db, doc.id, cluster_id, None)
            _join(db, cluster_id, doc, now)


def reindex_articles(db: Database, article_ids: list[int]) -> None:
    """Refresh the copy-finding indexes (title key, text buckets, related coverage) of articles
    whose title or summary changed, so later copies of the new text are found. Their cluster
    and duplicate decisions stay as they were (decided once, on arrival)."""
    for article_id in sorted(set(article_ids)):
        row = store.load_articles(db, [article_id]).get(article_id)
        if row is None or row["cluster_id"] is None:
            continue
        doc = DOCS.adopt(Doc.from_row(row))
        store.drop_copy_keys(db, article_id)
        _index(db, doc, _idf(db, doc), row["cluster_id"], clustering=False)


def process_one(db: Database, doc: Doc, now: float, frequencies: Frequencies | None = None) -> int:
    """Decide one article; returns its cluster id.

    ``frequencies``: document frequencies already read in this transaction (None: read afresh).
    """
    frequencies = frequencies or Frequencies(db)
    idf = _idf(db, doc, frequencies)
    near = _Neighbourhood(db, doc, idf)
    original = find_duplicate(db, doc, idf, near)
    if original is not None and original.cluster_id is not None:
        store.mark_article(db, doc.id, original.cluster_id, original.id)
        _join(db, original.cluster_id, doc, now)
        _index(db, doc, idf, original.cluster_id, clustering=False)
        return original.cluster_id
    # Countries too: a cluster's own subjects veto articles about others (subject_conflict).
    profile_terms = sorted(doc.title_stems | TOPIC_NAMES)
    profiles = store.cluster_profiles(db, near.top_clusters(MAX_CLUSTERS), profile_terms)
    scores = cluster_scores(doc, idf, near.members, profiles, near.term_clusters, _related_votes(db, doc))
    cluster_id, _score = pick(scores)
    if cluster_id is None:
        cluster_id = store.create_cluster(db, doc.id, doc.title, now)
    store.mark_article(db, doc.id, cluster_id, None)
    _join(db, cluster_id, doc, now)
    _index(db, doc, idf, cluster_id, clustering=True)
    frequencies.counted(doc.text_stems)
    return _merge_bridged(db, doc, idf, cluster_id, bridged(scores, cluster_id), now, frequencies)


MAX_MERGES = 2
YOUNG = 1           # a cluster this small is re-decided whole when an article bridges it
YOUNG_TRIES = 2     # re-decisions per article at most (each is one bounded candidate search)


def _merge_bridged(
    db: Database, doc: Doc, idf: Idf, cluster_id: int, others: list[int], now: float,
    frequencies: Frequencies,
) -> int:
    """Merge the article's cluster with clusters it could have joined as well: one story that
    started in two pieces. Two established clusters merge when their centroids agree; a young
    one (its first article alone) when that article, decided again now, would join the other.
    Returns the article's cluster id."""
    merged = tries = 0
    for other in others:
        if merged >= MAX_MERGES:
            break
        a, b = store.get_cluster(db, cluster_id), store.get_cluster(db, other)
        if a is None or b is None:
            continue
        # The larger keeps its id (ties: the older), so fewer articles and links change.
        keep, gone = sorted((a, b), key=lambda c: (-c["size"], c["id"]))
        same = _centroids_agree(db, idf, cluster_id, other)
        if not same and gone["size"] <= YOUNG and tries < YOUNG_TRIES:
            tries += 1
            same = _young_members_join(db, doc, gone["id"], keep["id"], frequencies)
        if not same:
            continue
        store.merge_clusters(db, keep["id"], gone["id"], now)
        reps = _load(db, [r for r in (keep["representative_id"], gone["representative_id"]) if r])
        if len(reps) == 2 and reps[1].id != reps[0].id and _better_representative(db, reps[1], reps[0]):
            store.set_representative(db, keep["id"], reps[1].id, reps[1].title)
        log.debug("dedup: cluster %s merged into %s", gone["id"], keep["id"])
        cluster_id = keep["id"]
        merged += 1
    return cluster_id


def _centroids_agree(db: Database, idf: Idf, a: int, b: int) -> bool:
    mine, theirs = (store.top_cluster_terms(db, c, MERGE_TERMS) for c in (a, b))
    idf.prefetch(mine.keys() | theirs.keys())
    if not mine or not theirs or centroid_cosine(mine, theirs, idf) < MERGE_COS:
        return False
    subjects = store.cluster_profiles(db, [a, b], sorted(TOPIC_NAMES))
    return len(subjects) == 2 and not subjects_disagree(subjects[a], subjects[b])


def _young_members_join(db: Database, doc: Doc, young: int, target: int, frequencies: Frequencies) -> bool:
    """Re-decide a young cluster's first members (but the bridging article) against ``target``:
    merge only if each would join it now. The bridge alone is no proof (a round-up touches
    two stories); its partners joining on their own are."""
    ids = [aid for aid in store.cluster_originals(db, young, YOUNG + 1) if aid != doc.id]
    if not ids or len(ids) > YOUNG:
        return False
    for member in _load(db, ids):
        idf = _idf(db, member, frequencies)
        near = _Neighbourhood(db, member, idf)
        candidates = [m for m in near.members if m.cluster_id == target and m.id != doc.id]
        profiles = store.cluster_profiles(db, [target], sorted(member.title_stems | TOPIC_NAMES))
        if target in profiles and _in_cluster(db, doc.id, target):
            profiles[target] = _without(profiles[target], doc)
        votes = {c: n for c, n in _related_votes(db, member).items() if c == target}
        if cluster_scores(member, idf, candidates, profiles, near.term_clusters, votes).get(target, 0) < 1.0:
            return False
    return True


def _in_cluster(db: Database, article_id: int, cluster_id: int) -> bool:
    row = db.execute("SELECT cluster_id FROM articles WHERE id = ?", (article_id,)).fetchone()
    return row is not None and row[0] == cluster_id


def _without(profile: tuple[int, float, dict[str, int]], doc: Doc) -> tuple[int, float, dict[str, int]]:
    """A cluster profile as it was before ``doc`` joined (its terms taken out of the counts)."""
    size, norm2, counts = profile
    return size - 1, norm2, {t: c - (t in doc.title_stems) for t, c in counts.items()}


# -- duplicates -----------------------------------------------------------------------------------


def find_duplicate(db: Database, doc: Doc, idf: Idf, near: _Neighbourhood) -> Doc | None:
    """The first-seen article ``doc`` is a copy of, or None."""
    lo, hi = doc.published_at - DUP_WINDOW, doc.published_at + DUP_WINDOW
    other = store.find_by_canonical_url(db, doc.canonical_url, doc.id)
    if other is not None:
        return _root(db, other)
    if doc.title_key is not None:
        ids = [aid for _, aid in store.find_keys(db, "dedup_title_keys", [doc.title_key], lo, hi)]
        for cand in _load(db, sorted(ids)):
            if cand.id != doc.id and not _texts_disagree(doc, cand):
                return _root(db, cand.id)
    for cand in near.members:
        if abs(cand.published_at - doc.published_at) > DUP_WINDOW:
            continue
        if same_headline(doc, cand, idf) and not _texts_disagree(doc, cand):
            return _root(db, cand.id)
    keys = doc.lsh_keys
    if keys:
        hits = Counter(aid for _, aid in store.find_keys(db, "dedup_lsh", keys, lo, hi, per_key=8))
        hits.pop(doc.id, None)
        ranked = [aid for aid, _ in hits.most_common(MAX_CANDIDATES)]
        for cand in sorted(_load(db, ranked), key=lambda c: c.id):
            if minhash.near_duplicate(doc.shingles, cand.shingles):
                return _root(db, cand.id)
    return None


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


def _root(db: Database, article_id: int) -> Doc | None:
    docs = _load(db, [article_id])
    if not docs:
        return None
    doc = docs[0]
    if doc.duplicate_of is not None:
        parent = _load(db, [doc.duplicate_of])
        if parent:
            return parent[0]
    return doc


# -- clusters -------------------------------------------------------------------------------------


def _join(db: Database, cluster_id: int, doc: Doc, now: float) -> None:
    store.grow_cluster(db, cluster_id, doc.source_key or doc.source, now)
    cluster = store.get_cluster(db, cluster_id)
    if cluster is None:
        return
    current = _load(db, [cluster["representative_id"]]) if cluster["representative_id"] else []
    if not current or current[0].id == doc.id or _better_representative(db, doc, current[0]):
        store.set_representative(db, cluster_id, doc.id, doc.title)


def _better_representative(db: Database, new: Doc, current: Doc) -> bool:
    return prefer(
        new, current,
        new_known=store.is_known_publisher(db, new.source_key),
        current_known=store.is_known_publisher(db, current.source_key),
    )


def _related_votes(db: Database, doc: Doc) -> dict[int, int]:
    """Clusters Google News groups with ``doc``, either way round, with a vote count: items
    stored earlier whose related coverage names ``doc`` (by title or link), and stored articles
    that ``doc``'s own related coverage names."""
    lo, hi = doc.published_at - CLUSTER_WINDOW, doc.published_at + CLUSTER_WINDOW
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
    for cand in _load(db, ids):
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


def _index_terms(doc: Doc, idf: Idf) -> set[str]:
    """Stems posted for candidate search: the title's, plus the rarest names of the summary."""
    extra = {stem(e) for e in doc.entities} - doc.title_stems
    ranked = sorted(extra, key=lambda t: (-idf(t), t))
    return set(doc.title_stems) | set(ranked[:MAX_SUMMARY_ENTITIES])


class _Neighbourhood:
    """Recent articles sharing terms with ``doc`` (one bounded range scan per term).

    ``members``: the best-overlapping candidate articles, loaded; ``term_clusters``: for each
    term, how its recent postings spread over clusters.
    """

    def __init__(self, db: Database, doc: Doc, idf: Idf):
        lo, hi = doc.published_at - CLUSTER_WINDOW, doc.published_at + CLUSTER_WINDOW
        # Sorted: postings are summed (floats) and ties ranked in this order, which must not
        # follow string hashing.
        terms = sorted(_index_terms(doc, idf))
        keys = {term_key(t): t for t in terms}
        overlap: Counter[int] = Counter()
        self.cluster_overlap: Counter[int] = Counter()
        self.term_clusters: dict[str, Counter[int]] = defaultdict(Counter)
        weights = {key: idf.squared(term) for key, term in keys.items()}
        # ``c[k] = c.get(k, 0) + w`` is ``c[k] += w`` without Counter.__missing__ (a Python call
        # per new key): the same values in the same insertion order.
        doc_id, term_clusters, cluster_overlap = doc.id, self.term_clusters, self.cluster_overlap
        overlap_get, cluster_get = overlap.get, cluster_overlap.get
        for key, aid, cid in store.find_postings(db, list(keys), lo, hi, per_key=POSTINGS_PER_TERM):
            if aid == doc_id:
                continue
            weight = weights[key]
            overlap[aid] = overlap_get(aid, 0) + weight
            if cid is not None:
                spread = term_clusters[keys[key]]
                spread[cid] = spread.get(cid, 0) + 1
                cluster_overlap[cid] = cluster_get(cid, 0) + weight
        ranked = overlap.most_common(MAX_CANDIDATES)
        # Only candidates sharing a real part of the best overlap: in a big store many articles
        # share one common word, and scoring them all would make the cost grow with the store.
        floor = ranked[0][1] * CANDIDATE_FLOOR if ranked else 0.0
        self.members = _load(db, [aid for aid, weight in ranked if weight >= floor])
        idf.prefetch(frozenset().union(*[d.text_stems for d in self.members]))

    def top_clusters(self, n: int) -> list[int]:
        return [cid for cid, _ in self.cluster_overlap.most_common(n)]


@lru_cache(maxsize=8192)
def _term_key(term: str) -> int:
    return hash64("w:" + term)


def term_key(term: str) -> int:
    """The postings key of a stemmed term (stems are short: cached, bounded in bytes)."""
    return _term_key(term) if len(term) <= 32 else hash64("w:" + term)


def _index(db: Database, doc: Doc, idf: Idf, cluster_id: int, *, clustering: bool) -> None:
    """Record ``doc`` in the dedup indexes (after its decision, so it never matches itself).

    Duplicates go into the copy-finding indexes only: counting them in document frequencies
    or centroids would let one article republished ten times outweigh ten outlets.
    """
    p = doc.published_at
    if doc.title_key is not None:
        store.add_keys(db, "dedup_title_keys", [doc.title_key], p, doc.id)
    lsh = doc.lsh_keys
    if lsh:
        store.add_keys(db, "dedup_lsh", lsh, p, doc.id)
    if doc.is_google_news:
        store.note_google_news_source(db, doc.source_key)
        keys = _related_keys(doc)
        if keys:
            store.add_keys(db, "dedup_related", keys, p, doc.id)
    if clustering:
        store.add_postings(db, [term_key(t) for t in _index_terms(doc, idf)], p, doc.id, cluster_id)
        store.add_cluster_terms(db, cluster_id, {t: idf(t) for t in doc.title_stems})
        store.add_document(db, doc.text_stems)


class Frequencies:
    """Document frequencies read from ``dedup_df`` during one transaction, kept equal to the
    table: :meth:`counted` mirrors each ``add_document``, :meth:`forget` follows a rollback."""

    def __init__(self, db: Database):
        self._db = db
        self._df: dict[str, int] = {}

    def lookup(self, terms: list[str]) -> dict[str, int]:
        known = self._df
        missing = [t for t in terms if t not in known]
        if missing:
            found = store.get_df(self._db, missing)
            for t in missing:
                known[t] = found.get(t, 0)
        return {t: known[t] for t in terms}

    def counted(self, terms: frozenset[str]) -> None:
        """One more document holds each of ``terms`` (after ``store.add_document``)."""
        known = self._df
        for t in terms:
            if t in known:
                known[t] += 1

    def forget(self) -> None:
        self._df.clear()


def _idf(db: Database, doc: Doc, frequencies: Frequencies | None = None) -> Idf:
    lookup = (frequencies or Frequencies(db)).lookup
    idf = Idf({}, store.doc_count(db), lookup)
    idf.prefetch(doc.text_stems | {stem(e) for e in doc.entities})
    return idf


def _load(db: Database, ids: list[int]) -> list[Doc]:
    rows = store.load_articles(db, ids)
    return [DOCS.adopt(Doc.from_row(rows[i])) for i in ids if i in rows]


# -- the backlog ----------------------------------------------------------------------------------


def decide_pending(db: Database, now: float, limit: int) -> int:
    """Decide up to ``limit`` stored articles that have no cluster yet, oldest first, in one
    transaction; returns how many were taken (0: nothing left). See :mod:`bot.dedup_worker`."""
    ids = undecided_article_ids(db, limit)
    if ids:
        with db.atomic():
            process_articles(db, ids, now)
    return len(ids)
