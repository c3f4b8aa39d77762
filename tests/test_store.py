"""The SQLite store: real database files, migrations, idempotent article saving, retention."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.config import FeedConfig
from bot.errors import StorageError
from bot.models import Article
from bot.pipeline.store import open_database
from bot.pipeline.store.articles import article_tags, prune_articles, save_articles
from bot.pipeline.store.feeds import feed_state, sync_feeds


def make_article(
    guid: str, title: str = "Title", summary: str = "Summary", fetched: float = 1000.0
) -> Article:
    return Article(
        guid=guid, link=f"https://example.org/{guid}", canonical_url=f"https://example.org/{guid}",
        title=title, source="Example", published_at=fetched, fetched_at=fetched, summary=summary,
        tags={"russia": "Russie"},
    )


@pytest.fixture
def db(tmp_path: Path):
    database = open_database(tmp_path / "news.db")
    sync_feeds(database, [FeedConfig(name="f", url="https://example.org/rss", interval=600)], 0.0)
    return database


def feed_id(db) -> int:
    return feed_state(db, "f")["id"]


def test_database_is_wal_with_foreign_keys(db) -> None:
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert {"feeds", "articles", "clusters", "article_tags", "articles_fts"} <= set(db.table_names())


def test_reopening_applies_no_migration_twice(tmp_path: Path) -> None:
    open_database(tmp_path / "a.db").conn.close()
    db = open_database(tmp_path / "a.db")
    names = [r[0] for r in db.execute("SELECT name FROM _sqlite_migrations")]
    assert len(names) == len(set(names))


def test_unusable_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError):
        open_database(path)


def test_article_seen_again_is_not_inserted_twice(db) -> None:
    fid = feed_id(db)
    new, updated, unchanged = save_articles(db, fid, [make_article("a"), make_article("b")], 1000)
    assert len(new) == 2 and not updated and unchanged == 0
    new, updated, unchanged = save_articles(db, fid, [make_article("a"), make_article("b")], 2000)
    assert not new and not updated and unchanged == 2
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 2


def test_changed_title_updates_the_row(db) -> None:
    fid = feed_id(db)
    (first,), _, _ = save_articles(db, fid, [make_article("a", title="Old title")], 1000)
    new, updated, _ = save_articles(db, fid, [make_article("a", title="New title")], 2000)
    assert not new and updated == [first]
    row = db.execute("SELECT title, fetched_at, updated_at FROM articles WHERE id = ?", (first,)).fetchone()
    assert row == ("New title", 1000.0, 2000.0)
    hits = db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'new'").fetchall()
    assert hits == [(first,)]


def test_setting_the_cluster_leaves_the_full_text_index_alone(db) -> None:
    """Dedup sets every new article's cluster: that update must not re-index its text (the
    trigger sqlite-utils made fired on any column), while a changed title still is."""
    fid = feed_id(db)
    (aid,), _, _ = save_articles(db, fid, [make_article("a", title="Kharkiv strike")], 1000)
    cid = db.execute("INSERT INTO clusters (first_seen, last_seen, updated_at) VALUES (0, 0, 0)").lastrowid
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    db.execute("UPDATE articles SET cluster_id = ? WHERE id = ?", (cid, aid))
    db.conn.set_trace_callback(None)
    assert not [s for s in statements if "articles_fts" in s]
    db.execute("UPDATE articles SET title = 'Odesa strike' WHERE id = ?", (aid,))
    match = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
    assert db.execute(match, ("odesa",)).fetchall() == [(aid,)]
    assert db.execute(match, ("kharkiv",)).fetchall() == []


def test_tags_saved_with_matched_text(db) -> None:
    (aid,), _, _ = save_articles(db, feed_id(db), [make_article("a")], 1000)
    assert article_tags(db, aid) == {"russia": "Russie"}


def test_same_guid_in_two_feeds_are_two_articles(db) -> None:
    sync_feeds(db, [FeedConfig(name="f", url="https://example.org/rss", interval=600),
                    FeedConfig(name="g", url="https://other.example/rss", interval=600)], 0.0)
    save_articles(db, feed_id(db), [make_article("a")], 1000)
    save_articles(db, feed_state(db, "g")["id"], [make_article("a")], 1000)
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 2


def test_retention_prunes_articles_tags_and_empty_clusters(db) -> None:
    fid = feed_id(db)
    (old,), _, _ = save_articles(db, fid, [make_article("old", fetched=100.0)], 100)
    (new,), _, _ = save_articles(db, fid, [make_article("new", fetched=5000.0)], 5000)
    db.execute("INSERT INTO clusters (id, title, first_seen, last_seen, size, updated_at) "
               "VALUES (1, 't', 100, 100, 1, 100), (2, 't', 5000, 5000, 1, 5000)")
    db.execute("UPDATE articles SET cluster_id = 1 WHERE id = ?", (old,))
    db.execute("UPDATE articles SET cluster_id = 2 WHERE id = ?", (new,))
    assert prune_articles(db, older_than=1000.0) == 1
    assert [r[0] for r in db.execute("SELECT id FROM articles")] == [new]
    assert [r[0] for r in db.execute("SELECT id FROM clusters")] == [2]
    assert db.execute("SELECT count(*) FROM article_tags WHERE article_id = ?", (old,)).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == 1


def test_sync_feeds_disables_removed_and_resets_changed_url(db) -> None:
    db.execute("UPDATE feeds SET etag = 'x', error_count = 3 WHERE name = 'f'")
    sync_feeds(db, [FeedConfig(name="f", url="https://example.org/new-rss", interval=600)], 10.0)
    state = feed_state(db, "f")
    assert state["etag"] is None and state["error_count"] == 0 and state["enabled"] == 1
    sync_feeds(db, [FeedConfig(name="g", url="https://example.org/g", interval=600)], 10.0)
    assert feed_state(db, "f")["enabled"] == 0


def test_foreign_keys_enforced(db) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO article_tags (article_id, tag) VALUES (999, 'x')")


def test_apply_retention_prunes_and_repairs_clusters(db) -> None:
    from bot.pipeline import dedup
    from bot.pipeline.store.retention import apply_retention

    fid = feed_id(db)
    old = make_article("old", title="Storm hits the northern coast of Luzon", fetched=100.0)
    new = make_article("new", title="Storm hits the northern coast of Luzon", fetched=5000.0)
    new.canonical_url = old.canonical_url          # the same article again: a duplicate
    ids, _, _ = save_articles(db, fid, [old], 100)
    dedup.process_articles(db, ids, 100)
    ids2, _, _ = save_articles(db, fid, [new], 5000)
    dedup.process_articles(db, ids2, 5000)
    cluster = db.execute("SELECT cluster_id FROM articles WHERE id = ?", (ids2[0],)).fetchone()[0]
    assert cluster is not None
    assert apply_retention(db, older_than=1000.0) == 1
    rep, size = db.execute("SELECT representative_id, size FROM clusters WHERE id = ?", (cluster,)).fetchone()
    assert rep == ids2[0] and size == 1
    leftovers = db.execute("SELECT count(*) FROM dedup_title_keys WHERE article_id = ?", (ids[0],)).fetchone()
    assert leftovers == (0,)


# -- canonical URLs stored before issue 11 (urlsplit only) ---------------------------------------

# (link, the key the urlsplit-only canonical_url stored for it)
OLD_KEYS = [
    ("https://ex.com/caf%c3%a9", "https://ex.com/caf%c3%a9"),
    ("https://ex.com/a/../b/./c", "https://ex.com/a/../b/./c"),
    ("https://bücher.de/x", "https://bücher.de/x"),
    ("https://ex.com/s?id=1&amp;utm_source=rss", "https://ex.com/s?amp;utm_source=rss&id=1"),
    ("https://ex.com/same?x=1", "https://ex.com/same?x=1"),          # the same in both forms
    ("", ""),
]


def _old_store(path: Path) -> None:
    """A store as a pre-issue-11 newsbot left it: old keys, decided by dedup, migration m003 not
    yet applied."""
    from bot.pipeline.dedup import process_articles

    db = open_database(path)
    sync_feeds(db, [FeedConfig(name="old", url="https://example.org/old", interval=600),
                    FeedConfig(name="new", url="https://example.org/new", interval=600)], 0.0)
    old_feed = feed_state(db, "old")["id"]
    articles = [Article(guid=f"o{i}", link=link, canonical_url=key, title=f"Old story number {i}",
                        source="Old", published_at=1000.0, fetched_at=1000.0)
                for i, (link, key) in enumerate(OLD_KEYS)]
    with db.atomic():
        new_ids, _, _ = save_articles(db, old_feed, articles, 1000.0)
        process_articles(db, new_ids, 1000.0)
    db.execute("DELETE FROM _sqlite_migrations WHERE migration_set = 'newsbot.core' "
               "AND name = 'm003_recanonicalise_urls'")
    db.conn.close()


def test_upgrade_rewrites_stored_canonical_urls(tmp_path: Path) -> None:
    """Opening a pre-issue-11 store rewrites its keys, so the URL duplicate layer (an exact match
    on articles.canonical_url) still finds an old article when a new spelling of its link comes."""
    from bot.pipeline.parse.normalize import canonical_url

    _old_store(tmp_path / "news.db")
    db = open_database(tmp_path / "news.db")
    stored = dict(db.execute("SELECT link, canonical_url FROM articles").fetchall())
    assert stored == {link: canonical_url(link) if link else "" for link, _ in OLD_KEYS}
    for spelling in ("https://ex.com/caf%C3%A9", "https://ex.com/café", "https://ex.com/b/c",
                     "https://xn--bcher-kva.de/x", "https://ex.com/s?id=1"):
        assert canonical_url(spelling) in stored.values(), spelling


def test_a_new_spelling_of_an_old_link_is_its_duplicate_after_the_upgrade(tmp_path: Path) -> None:
    """End to end through dedup: the article stored with the old key, the same link again from
    another feed with the escapes in upper case and another title (so only the URL layer can
    tell): a duplicate of the old one."""
    from bot.pipeline.dedup import process_articles
    from bot.pipeline.parse.normalize import canonical_url

    _old_store(tmp_path / "news.db")
    db = open_database(tmp_path / "news.db")
    old_id = db.execute("SELECT id FROM articles WHERE link = ?", ("https://ex.com/caf%c3%a9",)).fetchone()[0]
    link = "https://ex.com/caf%C3%A9"
    again = Article(guid="n1", link=link, canonical_url=canonical_url(link),
                    title="Completely different wording of the headline", source="New",
                    published_at=1200.0, fetched_at=1200.0)
    with db.atomic():
        new_ids, _, _ = save_articles(db, feed_state(db, "new")["id"], [again], 1200.0)
        process_articles(db, new_ids, 1200.0)
    assert db.execute("SELECT duplicate_of FROM articles WHERE id = ?", new_ids).fetchone()[0] == old_id
