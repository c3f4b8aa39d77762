"""Subscriber records (bot/pipeline/store/chats.py): bad input, migrations, stats, search."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.pipeline.store import chats as c
from bot.pipeline.store import open_database, schema
from bot.pipeline.store.deliveries import pending_parts

NOW = 1_795_000_000.0


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_database(tmp_path / "news.db")


def subscribe(db: Database, chat_id: int, **kw: object) -> dict:
    args = {"type": "private", "title": "t", "language": "fr", "times": ["8:00", "19:00"],
            "timezone": "Europe/Paris", "now": NOW, **kw}
    return c.upsert_chat(db, chat_id, **args)  # type: ignore[arg-type]


def test_upsert_creates_then_resumes_keeping_settings(db) -> None:
    row = subscribe(db, 1)
    assert (row["state"], c.chat_times(db, 1), c.chat_tags(db, 1)) == ("active", ["08:00", "19:00"], set())
    c.set_chat_times(db, 1, ["7:05"])
    c.set_timezone(db, 1, "Asia/Tokyo")
    assert c.toggle_chat_tag(db, 1, "ukraine") is True
    c.set_state(db, 1, "paused")
    row = subscribe(db, 1, language="en", times=["09:00"])
    assert (row["state"], row["language"], row["timezone"]) == ("active", "en", "Asia/Tokyo")
    assert c.chat_times(db, 1) == ["07:05"] and c.chat_tags(db, 1) == {"ukraine"}
    assert c.toggle_chat_tag(db, 1, "ukraine") is False and c.chat_tags(db, 1) == set()


def test_bad_input_is_refused_and_changes_nothing(db) -> None:
    subscribe(db, 1)
    with pytest.raises(ValueError, match="time of day"):
        c.set_chat_times(db, 1, ["07:30", "25:00"])
    with pytest.raises(ValueError, match="time zone"):
        c.set_timezone(db, 1, "Mars/Olympus")
    with pytest.raises(ValueError, match="state"):
        c.set_state(db, 1, "deleted")
    row = c.get_chat(db, 1)
    assert c.chat_times(db, 1) == ["08:00", "19:00"] and row["timezone"] == "Europe/Paris"
    assert row["state"] == "active"


def test_migrate_keeps_old_settings_over_a_fresh_new_row(db) -> None:
    subscribe(db, -5, type="group")
    c.set_chat_tags(db, -5, ["ukraine"])
    subscribe(db, -1005, type="supergroup")           # someone used the new supergroup first
    c.migrate_chat(db, -5, -1005)
    assert c.get_chat(db, -5) is None and c.chat_tags(db, -1005) == {"ukraine"}
    assert [r["chat_id"] for r in c.list_chats(db)] == [-1005]
    c.migrate_chat(db, -404, -1006)                    # unknown: nothing happens
    assert len(c.list_chats(db)) == 1


def test_search_never_raises_on_fts_syntax_and_groups_by_cluster(db) -> None:
    db.execute("INSERT INTO feeds (id, name, url, created_at) VALUES (1, 'f', 'https://f/', 0)")
    db.execute("INSERT INTO clusters (id, title, first_seen, last_seen, size, source_count, updated_at) "
               "VALUES (1, 'Séoul summit', 1, 2, 2, 2, 2)")
    for i, (title, cluster) in enumerate([("Seoul summit opens", 1), ("Summit in Seoul ends", 1),
                                          ("Seoul weather", None)]):
        db.execute("INSERT INTO articles (feed_id, guid, title, link, published_at, fetched_at, updated_at, "
                   "cluster_id) VALUES (1, ?, ?, ?, ?, 0, 0, ?)",
                   (f"g{i}", title, f"https://x/{i}", i, cluster))
    for words in ['"', "AND OR NOT", "seoul*", "(", "NEAR(", "a:b", "", "   ", "'; DROP TABLE chats; --"]:
        c.search_stories(db, words)
    rows = c.search_stories(db, "seoul")
    assert [r["cluster_id"] for r in rows] == [None, 1] and rows[1]["title"] == "Séoul summit"
    assert c.search_stories(db, "SEOUL summit", limit=1)[0]["cluster_id"] == 1


def test_stats_counts(db) -> None:
    subscribe(db, 1)
    subscribe(db, 2)
    c.set_state(db, 2, "blocked", "bot was blocked by the user")
    db.execute("INSERT INTO feeds (name, url, created_at, error_count, dead, last_attempt_at) VALUES "
               "('a', 'u', 0, 0, 0, 5), ('b', 'u', 0, 3, 0, 7), ('c', 'u', 0, 9, 1, 6)")
    s = c.stats(db, NOW)
    assert (s["feeds_ok"], s["feeds_failing"], s["feeds_dead"], s["last_poll_at"]) == (1, 1, 1, 7)
    assert (s["chats_active"], s["chats_paused"], s["chats_blocked"]) == (1, 0, 1)
    assert s["last_digest_at"] is None and s["pending_digests"] == 0


def test_chats_of_an_older_database_keep_what_they_follow(tmp_path: Path) -> None:
    """A database migrated up to before m004 (what main shipped): a chat with no tag still gets
    everything, a chat with tags exactly those; nothing muted, no language chosen, pending parts
    still sendable (no keyboard)."""
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(str(path), isolation_level=None))
    for migrations in schema.MIGRATION_SETS:
        migrations.apply(old, stop_before="m004_mutes_language_pages" if migrations is c.migrations else None)
    for chat_id in (1, 2):
        old.execute("INSERT INTO chats (chat_id, created_at, updated_at) VALUES (?, ?, ?)",
                    (chat_id, NOW, NOW))
    old.execute("INSERT INTO chat_tags (chat_id, tag) VALUES (2, 'russia'), (2, 'ukraine')")
    old.execute("INSERT INTO digest_runs (chat_id, created_at) VALUES (1, ?)", (NOW,))
    old.execute("INSERT INTO digest_parts (run_id, seq, text) VALUES (1, 0, 'hello')")
    old.conn.close()

    db = open_database(path)
    assert c.chat_tags(db, 1) == set() and c.chat_tags(db, 2) == {"russia", "ukraine"}
    assert c.chat_mutes(db, 1) == c.chat_mutes(db, 2) == set()
    assert [c.get_chat(db, i)["language_chosen"] for i in (1, 2)] == [0, 0]
    (part,) = pending_parts(db, 1)
    assert part.text == "hello" and part.reply_markup == ""
    c.set_tag_choice(db, 2, follows={"russia", "usa"}, mutes={"usa"})      # never both
    assert c.chat_tags(db, 2) == {"russia"} and c.chat_mutes(db, 2) == {"usa"}
