"""Versioned migrations, one set per domain so each can evolve on its own.

Migrations are applied in the order of ``MIGRATION_SETS``; within a set, in the order they are
defined. Never edit an applied migration: add a new one.
"""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database, Migrations

from bot.pipeline.parse.normalize import canonical_url

core = Migrations("newsbot.core")


@core()
def m001_feeds_articles_clusters(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE feeds (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            url TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            title TEXT,
            created_at REAL NOT NULL,
            etag TEXT,
            last_modified TEXT,
            last_attempt_at REAL,
            last_success_at REAL,
            last_status INTEGER,
            error_count INTEGER NOT NULL DEFAULT 0,
            first_error_at REAL,
            last_error TEXT,
            next_due_at REAL NOT NULL DEFAULT 0,
            dead INTEGER NOT NULL DEFAULT 0,
            permanent_url TEXT,
            ttl_seconds REAL,
            bozo TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_feeds_due ON feeds(enabled, next_due_at)")
    db.execute(
        """
        CREATE TABLE clusters (
            id INTEGER PRIMARY KEY,
            representative_id INTEGER,
            title TEXT NOT NULL DEFAULT '',
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL,
            size INTEGER NOT NULL DEFAULT 0,
            source_count INTEGER NOT NULL DEFAULT 0,
            updated_at REAL NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_clusters_updated ON clusters(updated_at)")
    db.execute("CREATE INDEX idx_clusters_last_seen ON clusters(last_seen)")
    db.execute(
        """
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
            guid TEXT NOT NULL,
            link TEXT NOT NULL DEFAULT '',
            canonical_url TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            source_url TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL DEFAULT '',
            published_at REAL NOT NULL,
            fetched_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            language TEXT NOT NULL DEFAULT '',
            summary TEXT NOT NULL DEFAULT '',
            summary_raw TEXT NOT NULL DEFAULT '',
            is_google_news INTEGER NOT NULL DEFAULT 0,
            related_json TEXT NOT NULL DEFAULT '[]',
            content_hash TEXT NOT NULL DEFAULT '',
            duplicate_of INTEGER REFERENCES articles(id) ON DELETE SET NULL,
            cluster_id INTEGER REFERENCES clusters(id) ON DELETE SET NULL,
            UNIQUE(feed_id, guid)
        )
        """
    )
    db.execute("CREATE INDEX idx_articles_canonical ON articles(canonical_url)")
    db.execute("CREATE INDEX idx_articles_published ON articles(published_at)")
    db.execute("CREATE INDEX idx_articles_fetched ON articles(fetched_at)")
    db.execute("CREATE INDEX idx_articles_cluster ON articles(cluster_id)")
    db.execute("CREATE INDEX idx_articles_duplicate ON articles(duplicate_of)")
    db.execute(
        """
        CREATE TABLE article_tags (
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            matched TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (article_id, tag)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX idx_article_tags_tag ON article_tags(tag, article_id)")
    db["articles"].enable_fts(
        ["title", "summary"],
        fts_version="FTS5",
        create_triggers=True,
        tokenize="unicode61 remove_diacritics 2",
    )


@core()
def m002_publisher_names(db: Database) -> None:
    """Articles stored before publisher names (bot/pipeline/parse/publisher.py) carry their feed's
    raw title as source ("NYT > World News"): name them as a poll would now ("NYT"). Only
    ordinary feeds' articles whose source is the feed's title; a configured ``source`` and Google
    News publishers are left alone. One pass at upgrade; a no-op on a new database."""
    from bot.pipeline.parse.publisher import publisher_name

    pairs = db.execute(
        """
        SELECT a.feed_id, a.source, a.source_url, f.url
        FROM articles a JOIN feeds f ON f.id = a.feed_id
        WHERE a.is_google_news = 0 AND a.source <> '' AND a.source = f.title
        GROUP BY a.feed_id, a.source, a.source_url
        """
    ).fetchall()
    for feed_id, title, source_url, feed_url in pairs:
        name = publisher_name(title, source_url or feed_url)
        if name and name != title:
            db.execute(
                "UPDATE articles SET source = ? WHERE feed_id = ? AND is_google_news = 0 AND source = ? "
                "AND source_url = ?",
                (name, feed_id, title, source_url),
            )


@core()
def m003_recanonicalise_urls(db: Database) -> None:
    # Issue 11: canonical_url moved onto w3lib (dot segments, percent-encoding case, punycode
    # hosts, "&amp;" separators, query re-encoded). The URL duplicate layer compares a new
    # article's key with the stored ones, so stored keys are rewritten in the new form.
    recanonicalise_urls(db.conn)


@core()
def m004_fts_on_text_updates(db: Database) -> None:
    # sqlite-utils' update trigger re-indexed an article's title and summary in the full-text
    # index on *any* update, so setting its cluster (once per article, by dedup) deleted and
    # re-inserted its text: 16 of the ~87 statements per stored article. Only a change of the
    # indexed text needs it.
    db.execute("DROP TRIGGER IF EXISTS articles_au")
    db.execute(
        """
        CREATE TRIGGER articles_au AFTER UPDATE OF title, summary ON articles BEGIN
          INSERT INTO articles_fts (articles_fts, rowid, title, summary)
            VALUES ('delete', old.rowid, old.title, old.summary);
          INSERT INTO articles_fts (rowid, title, summary) VALUES (new.rowid, new.title, new.summary);
        END
        """
    )


def recanonicalise_urls(conn: sqlite3.Connection, batch: int = 5_000) -> int:
    """Set every article's ``canonical_url`` to ``canonical_url(link)`` where it differs (in id
    batches, so memory stays flat on a large store); returns the number of rows rewritten."""
    rewritten, last = 0, 0
    sql = "SELECT id, link, canonical_url FROM articles WHERE id > ? ORDER BY id LIMIT ?"
    while rows := conn.execute(sql, (last, batch)).fetchall():
        last = rows[-1][0]
        fresh = [(canonical_url(link) if link else "", aid, old) for aid, link, old in rows]
        updates = [(new, aid) for new, aid, old in fresh if new != old]
        conn.executemany("UPDATE articles SET canonical_url = ? WHERE id = ?", updates)
        rewritten += len(updates)
    return rewritten


# Later domains register their own sets here (see bot/pipeline/store/*.py); db.py applies them in order.
MIGRATION_SETS: list[Migrations] = [core]


def register(migrations: Migrations) -> Migrations:
    """Add a domain's migration set after the core one (idempotent)."""
    if migrations not in MIGRATION_SETS:
        MIGRATION_SETS.append(migrations)
    return migrations
