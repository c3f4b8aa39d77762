"""Story clusters and dedup indexes (owned by the dedup domain).

Every lookup on the dedup hot path is an index range scan bounded by a time window and a LIMIT:
title keys, token postings (for TF-IDF candidates), MinHash/anchor buckets and Google News
related-coverage keys are WITHOUT ROWID tables keyed ``(key, published_at, article_id)``.
Document frequencies live in ``dedup_df``; the document count in ``dedup_stats``. Index rows go
with their article (``ON DELETE CASCADE``, with an ``article_id`` index so the cascade is cheap).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from sqlite_utils import Database, Migrations

from bot.pipeline.store.articles import articles_changed
from bot.pipeline.store.schema import register

migrations = register(Migrations("newsbot.dedup"))

_KEYED_TABLES = ("dedup_title_keys", "dedup_postings", "dedup_lsh", "dedup_related")


@migrations()
def m001_dedup_indexes(db: Database) -> None:
    for table in _KEYED_TABLES:
        db.execute(
            f"""
            CREATE TABLE {table} (
                key INTEGER NOT NULL,
                published_at REAL NOT NULL,
                article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
                PRIMARY KEY (key, published_at, article_id)
            ) WITHOUT ROWID
            """
        )
        db.execute(f"CREATE INDEX idx_{table}_article ON {table}(article_id)")
    db.execute("CREATE TABLE dedup_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID")
    db.execute("CREATE TABLE dedup_stats (name TEXT PRIMARY KEY, value REAL NOT NULL) WITHOUT ROWID")
    db.execute(
        """
        CREATE TABLE dedup_cluster_sources (
            cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
            source_key TEXT NOT NULL,
            PRIMARY KEY (cluster_id, source_key)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        "CREATE TABLE dedup_gn_sources (source_key TEXT PRIMARY KEY, seen INTEGER NOT NULL) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX idx_clusters_size ON clusters(size, last_seen)")


@migrations()
def m002_cluster_profiles(db: Database) -> None:
    # Which cluster each posted article belongs to (term -> recent clusters in one range scan),
    # per-cluster stemmed term counts (the centroid) and its squared norm.
    db.execute("ALTER TABLE dedup_postings ADD COLUMN cluster_id INTEGER")
    db.execute("ALTER TABLE clusters ADD COLUMN term_norm2 REAL NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE clusters ADD COLUMN norm_docs INTEGER NOT NULL DEFAULT 0")
    db.execute(
        """
        CREATE TABLE dedup_cluster_terms (
            cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
            term TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (cluster_id, term)
        ) WITHOUT ROWID
        """
    )


@migrations()
def m003_story_decisions(db: Database) -> None:
    # Issue 11: stories are compared through their most recent originals as well as their
    # centroid (no merges), and each decision is recorded for `newsbot clusters --explain`.
    db.execute("CREATE INDEX idx_articles_cluster_time ON articles(cluster_id, published_at)")
    db.execute(
        """
        CREATE TABLE dedup_decisions (
            article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
            layer TEXT NOT NULL,
            compared INTEGER,
            score REAL,
            features TEXT
        )
        """
    )


# -- keyed index tables -------------------------------------------------------------------------


def add_keys(db: Database, table: str, keys: Iterable[int], published_at: float, article_id: int) -> None:
    assert table in _KEYED_TABLES
    db.conn.executemany(
        f"INSERT OR IGNORE INTO {table} (key, published_at, article_id) VALUES (?, ?, ?)",
        [(k, published_at, article_id) for k in set(keys)],
    )


def find_keys(
    db: Database, table: str, keys: Sequence[int], lo: float, hi: float, *, per_key: int = 20
) -> list[tuple[int, int]]:
    """(key, article_id) for each key, the ``per_key`` most recent within [lo, hi]."""
    assert table in _KEYED_TABLES
    return [(k, aid) for k, aid, _ in _per_key(db, table, "NULL", keys, lo, hi, per_key)]


def _per_key(
    db: Database, table: str, extra: str, keys: Sequence[int], lo: float, hi: float, per_key: int
) -> list[tuple[int, int, Any]]:
    """(key, article_id, ``extra`` column) rows: each key's ``per_key`` most recent in [lo, hi],
    keys in the order given. One statement per 100 keys (a UNION ALL of bounded index range
    scans) instead of one per key: an article looks up to ~90 keys."""
    out: list[tuple[int, int, Any]] = []
    unique = list(dict.fromkeys(keys))
    execute = db.conn.execute      # the hot path: straight to sqlite3, fetched in one call
    for i in range(0, len(unique), 100):
        chunk = unique[i:i + 100]
        params: list[Any] = []
        for key in chunk:
            params += [key, key, lo, hi, per_key]
        out.extend(execute(_per_key_sql(table, extra, len(chunk)), params).fetchall())
    return out


@lru_cache(maxsize=512)
def _per_key_sql(table: str, extra: str, n: int) -> str:
    one = (f"SELECT * FROM (SELECT ? AS k, article_id, {extra} FROM {table} WHERE key = ? "
           "AND published_at BETWEEN ? AND ? ORDER BY published_at DESC LIMIT ?)")
    return " UNION ALL ".join([one] * n)


def add_postings(
    db: Database, keys: Iterable[int], published_at: float, article_id: int, cluster_id: int
) -> None:
    db.conn.executemany(
        "INSERT OR IGNORE INTO dedup_postings (key, published_at, article_id, cluster_id) "
        "VALUES (?, ?, ?, ?)",
        [(k, published_at, article_id, cluster_id) for k in set(keys)],
    )


def find_postings(
    db: Database, keys: Sequence[int], lo: float, hi: float, *, per_key: int
) -> list[tuple[int, int, int]]:
    """(key, article_id, cluster_id): the ``per_key`` most recent postings of each key in [lo, hi]."""
    return _per_key(db, "dedup_postings", "cluster_id", keys, lo, hi, per_key)


def cluster_profiles(
    db: Database, cluster_ids: Sequence[int], terms: Sequence[str]
) -> dict[int, tuple[int, float, dict[str, int]]]:
    """cluster id -> (size, squared centroid norm, counts of the given terms in the cluster)."""
    if not cluster_ids:
        return {}
    cmarks = ", ".join("?" * len(cluster_ids))
    out: dict[int, tuple[int, float, dict[str, int]]] = {}
    docs = doc_count(db)
    for cid, size, norm2, norm_docs in db.execute(
        f"SELECT id, size, term_norm2, norm_docs FROM clusters WHERE id IN ({cmarks})", list(cluster_ids)
    ):
        if docs > 1.25 * norm_docs + 20:
            norm2 = refresh_norm(db, cid, docs)
        out[cid] = (int(size), float(norm2), {})
    if terms:
        tmarks = ", ".join("?" * len(terms))
        for cid, term, count in db.execute(
            f"SELECT cluster_id, term, count FROM dedup_cluster_terms WHERE cluster_id IN ({cmarks}) "
            f"AND term IN ({tmarks})",
            [*cluster_ids, *terms],
        ):
            if cid in out:
                out[cid][2][term] = int(count)
    return out


def refresh_norm(db: Database, cluster_id: int, docs: int) -> float:
    """Recompute a centroid's squared norm with today's IDF (amortised: only once the document
    count has grown by a quarter since the last time, so rarely once the store is large)."""
    rows = db.execute(
        "SELECT term, count FROM dedup_cluster_terms WHERE cluster_id = ?", (cluster_id,)
    ).fetchall()
    df = get_df(db, [t for t, _ in rows])
    norm2 = sum((c * (math.log((docs + 1) / (df.get(t, 0) + 1)) + 1.0)) ** 2 for t, c in rows)
    db.execute(
        "UPDATE clusters SET term_norm2 = ?, norm_docs = ? WHERE id = ?", (norm2, docs, cluster_id)
    )
    return norm2


def add_cluster_terms(db: Database, cluster_id: int, weights: dict[str, float]) -> None:
    """Add one article's stemmed terms to the cluster centroid; ``weights`` = term -> IDF now.

    The squared norm is kept incrementally: (c + 1)^2 - c^2 = 2c + 1 per term, weighted by the
    term's IDF at the time (IDF drifts slowly; the norm is a ranking aid, not an exact value).
    """
    if not weights:
        return
    terms = list(weights)
    marks = ", ".join("?" * len(terms))
    counts = dict(db.execute(
        f"SELECT term, count FROM dedup_cluster_terms WHERE cluster_id = ? AND term IN ({marks})",
        [cluster_id, *terms],
    ).fetchall())
    delta = sum((2 * counts.get(t, 0) + 1) * weights[t] * weights[t] for t in sorted(weights))  # fixed order
    db.conn.executemany(
        "INSERT INTO dedup_cluster_terms (cluster_id, term, count) VALUES (?, ?, 1) "
        "ON CONFLICT(cluster_id, term) DO UPDATE SET count = count + 1",
        [(cluster_id, t) for t in terms],
    )
    db.execute("UPDATE clusters SET term_norm2 = term_norm2 + ? WHERE id = ?", (delta, cluster_id))


def recent_originals(db: Database, cluster_ids: Sequence[int], limit: int) -> dict[int, list[int]]:
    """cluster id -> ids of its ``limit`` most recent original (non-duplicate) articles, newest
    first (ties: the higher id): what a story is about now. One statement, a bounded index
    range scan per cluster (``idx_articles_cluster_time``), however big the cluster."""
    ids = list(dict.fromkeys(cluster_ids))
    out: dict[int, list[int]] = {cid: [] for cid in ids}
    if not ids:
        return out
    one = ("SELECT * FROM (SELECT ? AS c, id FROM articles WHERE cluster_id = ? AND duplicate_of IS NULL "
           "ORDER BY published_at DESC, id DESC LIMIT ?)")
    params: list[Any] = []
    for cid in ids:
        params += [cid, cid, limit]
    for cid, aid in db.conn.execute(" UNION ALL ".join([one] * len(ids)), params).fetchall():
        out[cid].append(aid)
    return out


def record_decision(
    db: Database, article_id: int, layer: str, compared: int | None, score: float | None,
    features: str | None,
) -> None:
    """Why an article went where it went (``newsbot clusters --explain``): the layer that
    decided ("url", "title", "fuzzy", "text": a copy of article ``compared``; "story": joined
    cluster ``compared``; "new": its best candidate cluster ``compared`` scored too low, or there
    was none; "error"), the score and the features (JSON, in ``bot.pipeline.dedup.story.FEATURES`` order)."""
    db.execute(
        "INSERT OR REPLACE INTO dedup_decisions (article_id, layer, compared, score, features) "
        "VALUES (?, ?, ?, ?, ?)",
        (article_id, layer, compared, score, features),
    )


def cluster_decisions(db: Database, cluster_id: int) -> list[dict[str, Any]]:
    """A cluster's articles in the order they were decided, each with its recorded decision."""
    cols = ("id", "title", "source", "published_at", "duplicate_of", "layer", "compared", "score",
            "features")
    rows = db.execute(
        "SELECT a.id, a.title, a.source, a.published_at, a.duplicate_of, d.layer, d.compared, "
        "d.score, d.features FROM articles a LEFT JOIN dedup_decisions d ON d.article_id = a.id "
        "WHERE a.cluster_id = ? ORDER BY a.id", (cluster_id,),
    ).fetchall()
    return [dict(zip(cols, row, strict=True)) for row in rows]


def drop_copy_keys(db: Database, article_id: int) -> None:
    """Forget an article's title key, text buckets and related-coverage keys (before reindexing)."""
    for table in ("dedup_title_keys", "dedup_lsh", "dedup_related"):
        db.execute(f"DELETE FROM {table} WHERE article_id = ?", (article_id,))


def find_by_canonical_url(db: Database, url: str, exclude_id: int) -> int | None:
    """The first-stored other article with this canonical URL that dedup has decided (index
    lookup). Undecided articles (stored, waiting in the backlog) are not there yet as far as
    dedup is concerned: each article is decided from what was decided before it."""
    if not url:
        return None
    row = db.execute(
        "SELECT id FROM articles WHERE canonical_url = ? AND id != ? AND cluster_id IS NOT NULL "
        "ORDER BY id LIMIT 1",
        (url, exclude_id),
    ).fetchone()
    return None if row is None else int(row[0])


# -- document frequencies -----------------------------------------------------------------------


def doc_count(db: Database) -> int:
    row = db.execute("SELECT value FROM dedup_stats WHERE name = 'docs'").fetchone()
    return 0 if row is None else int(row[0])


def get_df(db: Database, terms: Iterable[str]) -> dict[str, int]:
    terms = list(dict.fromkeys(terms))
    out: dict[str, int] = {}
    for i in range(0, len(terms), 500):
        chunk = terms[i:i + 500]
        rows = db.execute(
            f"SELECT term, df FROM dedup_df WHERE term IN ({', '.join('?' * len(chunk))})", chunk
        )
        out.update({t: int(df) for t, df in rows})
    return out


def add_document(db: Database, terms: Iterable[str]) -> None:
    """Count one more document containing each of ``terms``."""
    db.conn.executemany(
        "INSERT INTO dedup_df (term, df) VALUES (?, 1) ON CONFLICT(term) DO UPDATE SET df = df + 1",
        [(t,) for t in set(terms)],
    )
    db.execute(
        "INSERT INTO dedup_stats (name, value) VALUES ('docs', 1) "
        "ON CONFLICT(name) DO UPDATE SET value = value + 1"
    )


# -- articles as dedup sees them ----------------------------------------------------------------

ARTICLE_COLUMNS = (
    "id", "feed_id", "canonical_url", "title", "source", "source_url", "summary", "published_at",
    "fetched_at", "language", "is_google_news", "related_json", "duplicate_of", "cluster_id",
)


def load_articles(db: Database, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Rows (with a ``tags`` list) for the given ids, by primary key."""
    out: dict[int, dict[str, Any]] = {}
    ids = list(dict.fromkeys(ids))
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        marks = ", ".join("?" * len(chunk))
        for row in db.execute(f"SELECT {', '.join(ARTICLE_COLUMNS)} FROM articles WHERE id IN ({marks})",
                              chunk):
            rec = dict(zip(ARTICLE_COLUMNS, row, strict=True))
            rec["tags"] = []
            out[rec["id"]] = rec
        for article_id, tag in db.execute(
            f"SELECT article_id, tag FROM article_tags WHERE article_id IN ({marks})", chunk
        ):
            out[article_id]["tags"].append(tag)
    return out


def mark_article(db: Database, article_id: int, cluster_id: int, duplicate_of: int | None) -> None:
    db.execute(
        "UPDATE articles SET cluster_id = ?, duplicate_of = ? WHERE id = ?",
        (cluster_id, duplicate_of, article_id),
    )


# -- clusters -----------------------------------------------------------------------------------


def create_cluster(db: Database, representative_id: int, title: str, now: float) -> int:
    cursor = db.execute(
        "INSERT INTO clusters (representative_id, title, first_seen, last_seen, size, source_count, "
        "updated_at) VALUES (?, ?, ?, ?, 0, 0, ?)",
        (representative_id, title, now, now, now),
    )
    return int(cursor.lastrowid)


def grow_cluster(db: Database, cluster_id: int, source_key: str, now: float) -> None:
    """One more article in the cluster: size, distinct sources, last seen and updated_at."""
    inserted = db.execute(
        "INSERT OR IGNORE INTO dedup_cluster_sources (cluster_id, source_key) VALUES (?, ?)",
        (cluster_id, source_key),
    ).rowcount
    db.execute(
        "UPDATE clusters SET size = size + 1, source_count = source_count + ?, "
        "last_seen = MAX(last_seen, ?), updated_at = ? WHERE id = ?",
        (1 if inserted else 0, now, now, cluster_id),
    )


def get_cluster(db: Database, cluster_id: int) -> dict[str, Any] | None:
    cols = ("id", "representative_id", "title", "first_seen", "last_seen", "size", "source_count",
            "updated_at")
    row = db.execute(f"SELECT {', '.join(cols)} FROM clusters WHERE id = ?", (cluster_id,)).fetchone()
    return None if row is None else dict(zip(cols, row, strict=True))


def set_representative(db: Database, cluster_id: int, article_id: int, title: str) -> None:
    db.execute(
        "UPDATE clusters SET representative_id = ?, title = ? WHERE id = ?", (article_id, title, cluster_id)
    )


def note_google_news_source(db: Database, source_key: str) -> None:
    """Remember a publisher Google News cites: evidence that it is a real outlet."""
    if source_key:
        db.execute(
            "INSERT INTO dedup_gn_sources (source_key, seen) VALUES (?, 1) "
            "ON CONFLICT(source_key) DO UPDATE SET seen = seen + 1",
            (source_key,),
        )


def is_known_publisher(db: Database, source_key: str) -> bool:
    return db.execute(
        "SELECT 1 FROM dedup_gn_sources WHERE source_key = ?", (source_key,)
    ).fetchone() is not None


def list_clusters(
    db: Database, since: float, min_sources: int = 1, limit: int = 30
) -> list[dict[str, Any]]:
    """Clusters that appeared or grew since ``since`` with at least ``min_sources`` sources,
    largest first, each with the names of its sources (in order of arrival) and its article ids."""
    cols = ("id", "title", "size", "source_count", "first_seen", "last_seen", "representative_id")
    rows = db.execute(
        f"SELECT {', '.join(cols)} FROM clusters WHERE updated_at >= ? AND source_count >= ? "
        "ORDER BY size DESC, source_count DESC, first_seen LIMIT ?",
        (since, min_sources, limit),
    ).fetchall()
    out = []
    for row in rows:
        rec = dict(zip(cols, row, strict=True))
        rec["sources"] = [s for (s,) in db.execute(
            "SELECT source FROM articles WHERE cluster_id = ? GROUP BY source ORDER BY MIN(id)", (rec["id"],)
        )]
        rec["article_ids"] = [i for (i,) in db.execute(
            "SELECT id FROM articles WHERE cluster_id = ? ORDER BY id", (rec["id"],)
        )]
        out.append(rec)
    return out


def cluster_tags(db: Database, cluster_id: int) -> set[str]:
    """The union of the tags of a cluster's articles."""
    return {tag for (tag,) in db.execute(
        "SELECT DISTINCT t.tag FROM articles a JOIN article_tags t ON t.article_id = a.id "
        "WHERE a.cluster_id = ?", (cluster_id,)
    )}


def repair_clusters(db: Database) -> int:
    """After retention pruning: clusters whose representative was deleted get a new one (the
    earliest original, not a Google News item), and their size and sources are recounted;
    clusters left empty are deleted. Returns how many clusters were repaired.

    A batch job (it scans clusters), never on the per-article path.
    """
    from bot.pipeline.dedup.keys import source_key

    broken = [cid for (cid,) in db.execute(
        "SELECT c.id FROM clusters c WHERE c.representative_id IS NULL OR NOT EXISTS "
        "(SELECT 1 FROM articles a WHERE a.id = c.representative_id)"
    )]
    if broken:
        articles_changed(db)
    with db.atomic():
        for cid in broken:
            members = db.execute(
                "SELECT id, title, source FROM articles WHERE cluster_id = ? "
                "ORDER BY is_google_news, duplicate_of IS NOT NULL, published_at, id", (cid,)
            ).fetchall()
            if not members:
                db.execute("DELETE FROM clusters WHERE id = ?", (cid,))
                continue
            sources = {source_key(m[2]) or m[2] for m in members}
            db.execute(
                "UPDATE clusters SET representative_id = ?, title = ?, size = ?, source_count = ? "
                "WHERE id = ?",
                (members[0][0], members[0][1], len(members), len(sources), cid),
            )
            db.execute("DELETE FROM dedup_cluster_sources WHERE cluster_id = ?", (cid,))
            db.conn.executemany(
                "INSERT INTO dedup_cluster_sources (cluster_id, source_key) VALUES (?, ?)",
                [(cid, k) for k in sources],
            )
    return len(broken)
