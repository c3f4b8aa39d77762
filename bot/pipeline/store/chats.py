"""Subscribers, their schedules and the delivery journal (owned by the Telegram domain).

Tables (migration set ``newsbot.telegram``):

- ``chats``: one row per subscribed chat (private, group, supergroup, channel) with its state
  ('active' | 'paused' | 'blocked'), language, timezone and digest cursor.
- ``chat_tags`` / ``chat_times``: followed tags and "HH:MM" digest times. A chat follows either
  everything (no ``chat_tags`` row: every story, untagged ones and tags added later included) or
  the listed tags only; there is no third state, so a chat's first follow means "only this".
- ``chat_mutes``: muted tags: a story carrying one is never sent to the chat, whatever else it
  matches (digests and priority alerts alike).
- ``chats.language_chosen``: 1 once the chat picked its language with ``/lang`` (then it wins
  over the Telegram client's language).
- ``digest_pages``: the stories a digest had to cut (``digest.max_stories``), in rank order, for
  its "More" button and for the chat's next ``/digest``; kept in SQLite so a button still works
  after a restart.
- ``cluster_changes``: a change log of story clusters filled by triggers on ``clusters``. Each
  insert or growth of a cluster gets a new, strictly increasing ``seq``; a chat's digest cursor is
  the last ``seq`` it has seen. Unlike timestamps this cannot miss a cluster written with an
  earlier clock value but committed after a digest was planned.
- ``digest_runs`` / ``digest_parts``: the delivery journal. A planned digest (or priority alert)
  is written with all its rendered parts in one transaction, then each part is marked sent as it
  goes out; unsent parts of unfinished runs are sent again after a crash or restart.
- ``sent_clusters``: which cluster went to which chat (never sent twice to the same chat).

Journal queries live in :mod:`bot.pipeline.store.deliveries`; this module holds the chat records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlite_utils import Database, Migrations

from bot.config.models import ChannelConfig, DigestConfig
from bot.pipeline.digest import pick_link
from bot.pipeline.store.schema import register

migrations = register(Migrations("newsbot.telegram"))

STATES = ("active", "paused", "blocked")
# ASCII digits only: "\d" alone also matches "٣", "𝟎"... and "7:3٠" would be stored beside "07:30".
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$", re.ASCII)


@migrations()
def m001_chats_and_journal(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE chats (
            chat_id INTEGER PRIMARY KEY,
            address TEXT,
            type TEXT NOT NULL DEFAULT 'private',
            title TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL DEFAULT 'fr',
            state TEXT NOT NULL DEFAULT 'active',
            timezone TEXT NOT NULL DEFAULT 'Europe/Paris',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            last_digest_at REAL,
            first_digest_done INTEGER NOT NULL DEFAULT 0,
            cursor_seq INTEGER NOT NULL DEFAULT 0,
            blocked_reason TEXT NOT NULL DEFAULT '',
            from_config INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX idx_chats_address ON chats(address) WHERE address IS NOT NULL")
    db.execute(
        "CREATE TABLE chat_tags (chat_id INTEGER NOT NULL, tag TEXT NOT NULL, "
        "PRIMARY KEY (chat_id, tag)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE chat_times (chat_id INTEGER NOT NULL, time TEXT NOT NULL, "
        "PRIMARY KEY (chat_id, time)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE cluster_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
        "cluster_id INTEGER NOT NULL UNIQUE)"
    )
    ensure_change_triggers(db)
    db.execute(
        "INSERT INTO cluster_changes (cluster_id) SELECT id FROM clusters ORDER BY updated_at, id"
    )
    db.execute(
        """
        CREATE TABLE digest_runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id INTEGER NOT NULL,
            kind TEXT NOT NULL DEFAULT 'digest',
            reason TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            stories INTEGER NOT NULL DEFAULT 0,
            more INTEGER NOT NULL DEFAULT 0,
            finished_at REAL,
            error TEXT NOT NULL DEFAULT ''
        )
        """
    )
    db.execute("CREATE INDEX idx_digest_runs_status ON digest_runs(status, chat_id)")
    db.execute("CREATE INDEX idx_digest_runs_chat ON digest_runs(chat_id, created_at)")
    db.execute(
        """
        CREATE TABLE digest_parts (
            run_id INTEGER NOT NULL REFERENCES digest_runs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            text TEXT NOT NULL,
            sent_at REAL,
            message_id INTEGER,
            PRIMARY KEY (run_id, seq)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE sent_clusters (
            chat_id INTEGER NOT NULL,
            cluster_id INTEGER NOT NULL,
            run_id INTEGER NOT NULL,
            kind TEXT NOT NULL DEFAULT 'digest',
            sent_at REAL NOT NULL,
            PRIMARY KEY (chat_id, cluster_id)
        ) WITHOUT ROWID
        """
    )


@migrations()
def m002_part_status(db: Database) -> None:
    db.execute("ALTER TABLE digest_parts ADD COLUMN status TEXT NOT NULL DEFAULT 'pending'")
    db.execute("ALTER TABLE digest_parts ADD COLUMN error TEXT NOT NULL DEFAULT ''")
    db.execute("CREATE INDEX idx_sent_clusters_cluster ON sent_clusters(cluster_id)")


@migrations()
def m003_growth_only_trigger(db: Database) -> None:
    db.execute("DROP TRIGGER IF EXISTS trg_cluster_changes_update")
    ensure_change_triggers(db)


@migrations()
def m004_mutes_language_pages(db: Database) -> None:
    # Follows need no data migration: "no chat_tags row" already meant everything, and a chat
    # with rows follows exactly those tags (an old all-but-one list stays that list).
    db.execute(
        "CREATE TABLE chat_mutes (chat_id INTEGER NOT NULL, tag TEXT NOT NULL, "
        "PRIMARY KEY (chat_id, tag)) WITHOUT ROWID"
    )
    db.execute("ALTER TABLE chats ADD COLUMN language_chosen INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE digest_parts ADD COLUMN reply_markup TEXT NOT NULL DEFAULT ''")
    db.execute(
        """
        CREATE TABLE digest_pages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id INTEGER NOT NULL,
            created_at REAL NOT NULL,
            cluster_ids TEXT NOT NULL,
            shown INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE INDEX idx_digest_pages_chat ON digest_pages(chat_id, created_at)")


_TRIGGERS = {
    "trg_cluster_changes_insert": (
        "CREATE TRIGGER IF NOT EXISTS trg_cluster_changes_insert AFTER INSERT ON clusters BEGIN "
        "INSERT OR REPLACE INTO cluster_changes (cluster_id) VALUES (NEW.id); END"
    ),
    # Growth only: a cluster shrunk by retention repair is not news and must not come back.
    "trg_cluster_growth": (
        "CREATE TRIGGER IF NOT EXISTS trg_cluster_growth AFTER UPDATE ON clusters "
        "WHEN NEW.updated_at > OLD.updated_at OR NEW.size > OLD.size "
        "OR NEW.source_count > OLD.source_count BEGIN "
        "INSERT OR REPLACE INTO cluster_changes (cluster_id) VALUES (NEW.id); END"
    ),
    "trg_cluster_changes_delete": (
        "CREATE TRIGGER IF NOT EXISTS trg_cluster_changes_delete AFTER DELETE ON clusters BEGIN "
        "DELETE FROM cluster_changes WHERE cluster_id = OLD.id; END"
    ),
}


def ensure_change_triggers(db: Database) -> None:
    """(Re)create the cluster change-log triggers.

    Called by the migration and again before planning digests: a later migration of another
    domain that rebuilds ``clusters`` (sqlite-utils ``transform``) would silently drop them.
    """
    present = {
        row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    }
    for name, sql in _TRIGGERS.items():
        if name not in present:
            db.execute(sql)


# -- records -------------------------------------------------------------------------------------


def _rows(cursor: Any) -> list[dict[str, Any]]:
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, row, strict=True)) for row in cursor.fetchall()]


def normalize_time(value: str) -> str:
    """"7:30" → "07:30"; ValueError for anything that is not a time of day."""
    value = value.strip()
    match = _TIME.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a time of day like \"07:30\"")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def get_chat(db: Database, chat_id: int) -> dict[str, Any] | None:
    rows = _rows(db.execute("SELECT * FROM chats WHERE chat_id = ?", (chat_id,)))
    return rows[0] if rows else None


def get_chat_by_address(db: Database, address: str) -> dict[str, Any] | None:
    rows = _rows(db.execute("SELECT * FROM chats WHERE address = ?", (address,)))
    return rows[0] if rows else None


def list_chats(db: Database, state: str | None = None) -> list[dict[str, Any]]:
    if state is None:
        return _rows(db.execute("SELECT * FROM chats ORDER BY chat_id"))
    return _rows(db.execute("SELECT * FROM chats WHERE state = ? ORDER BY chat_id", (state,)))


def upsert_chat(
    db: Database,
    chat_id: int,
    *,
    type: str,  # noqa: A002 - the contract's name, mirrors Telegram's Chat.type
    title: str,
    language: str,
    times: list[str],
    timezone: str,
    now: float,
) -> dict[str, Any]:
    """Create a chat (state active, given times and timezone, no tags = everything) or reactivate it.

    An existing chat keeps its tags, times and timezone (``/start`` after ``/stop`` resumes it);
    its type, title and language are refreshed.
    """
    with db.atomic():
        if get_chat(db, chat_id) is None:
            db.execute(
                "INSERT INTO chats (chat_id, type, title, language, state, timezone, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, 'active', ?, ?, ?)",
                (chat_id, type, title, language, timezone, now, now),
            )
            _write_times(db, chat_id, times)
        else:
            db.execute(
                "UPDATE chats SET type = ?, title = ?, language = ?, state = 'active', "
                "blocked_reason = '', updated_at = ? WHERE chat_id = ?",
                (type, title, language, now, chat_id),
            )
    row = get_chat(db, chat_id)
    assert row is not None
    return row


def set_state(db: Database, chat_id: int, state: str, reason: str = "") -> None:
    if state not in STATES:
        raise ValueError(f"unknown chat state {state!r} (expected one of {', '.join(STATES)})")
    db.execute(
        "UPDATE chats SET state = ?, blocked_reason = ? WHERE chat_id = ?", (state, reason, chat_id)
    )


def set_language(db: Database, chat_id: int, language: str, *, chosen: bool = False) -> None:
    """The chat's language; ``chosen`` (``/lang``) makes it win over the Telegram client's."""
    db.execute(
        "UPDATE chats SET language = ?, language_chosen = MAX(language_chosen, ?) WHERE chat_id = ?",
        (language, int(chosen), chat_id),
    )


def migrate_chat(db: Database, old_id: int, new_id: int) -> None:
    """A group became a supergroup: move its subscription, schedule and journal to ``new_id``.

    If a row for ``new_id`` already exists (someone used the new supergroup first), the old
    chat's settings win: they are what the members chose.
    """
    if old_id == new_id:
        return
    with db.atomic():
        old = get_chat(db, old_id)
        if old is None:
            return
        db.execute("DELETE FROM chats WHERE chat_id = ?", (new_id,))
        db.execute("DELETE FROM chat_tags WHERE chat_id = ?", (new_id,))
        db.execute("DELETE FROM chat_times WHERE chat_id = ?", (new_id,))
        db.execute("DELETE FROM chat_mutes WHERE chat_id = ?", (new_id,))
        db.execute(
            "UPDATE chats SET chat_id = ?, type = CASE WHEN type = 'group' THEN 'supergroup' "
            "ELSE type END WHERE chat_id = ?",
            (new_id, old_id),
        )
        for table in ("chat_tags", "chat_times", "chat_mutes", "digest_runs", "digest_pages"):
            db.execute(f"UPDATE {table} SET chat_id = ? WHERE chat_id = ?", (new_id, old_id))
        db.execute("UPDATE OR IGNORE sent_clusters SET chat_id = ? WHERE chat_id = ?", (new_id, old_id))
        db.execute("DELETE FROM sent_clusters WHERE chat_id = ?", (old_id,))


def chat_tags(db: Database, chat_id: int) -> set[str]:
    rows = db.execute("SELECT tag FROM chat_tags WHERE chat_id = ?", (chat_id,)).fetchall()
    return {row[0] for row in rows}


def set_chat_tags(db: Database, chat_id: int, tags: Iterable[str]) -> None:
    with db.atomic():
        db.execute("DELETE FROM chat_tags WHERE chat_id = ?", (chat_id,))
        for tag in sorted(set(tags)):
            db.execute("INSERT INTO chat_tags (chat_id, tag) VALUES (?, ?)", (chat_id, tag))


def toggle_chat_tag(db: Database, chat_id: int, tag: str) -> bool:
    """Follow ``tag`` if not followed, else unfollow it. True = now followed."""
    with db.atomic():
        deleted = db.execute(
            "DELETE FROM chat_tags WHERE chat_id = ? AND tag = ?", (chat_id, tag)
        ).rowcount
        if deleted:
            return False
        db.execute("INSERT INTO chat_tags (chat_id, tag) VALUES (?, ?)", (chat_id, tag))
        return True


def chat_mutes(db: Database, chat_id: int) -> set[str]:
    rows = db.execute("SELECT tag FROM chat_mutes WHERE chat_id = ?", (chat_id,)).fetchall()
    return {row[0] for row in rows}


def set_tag_choice(db: Database, chat_id: int, *, follows: Iterable[str], mutes: Iterable[str]) -> None:
    """Replace the chat's followed tags (empty = everything) and muted tags in one transaction.

    A tag is never both: a muted tag is dropped from the followed ones.
    """
    muted = set(mutes)
    with db.atomic():
        set_chat_tags(db, chat_id, set(follows) - muted)
        db.execute("DELETE FROM chat_mutes WHERE chat_id = ?", (chat_id,))
        db.conn.executemany(
            "INSERT INTO chat_mutes (chat_id, tag) VALUES (?, ?)", [(chat_id, tag) for tag in sorted(muted)]
        )


def chat_times(db: Database, chat_id: int) -> list[str]:
    rows = db.execute(
        "SELECT time FROM chat_times WHERE chat_id = ? ORDER BY time", (chat_id,)
    ).fetchall()
    return [row[0] for row in rows]


def _write_times(db: Database, chat_id: int, times: Iterable[str]) -> None:
    normalized = sorted({normalize_time(t) for t in times})
    db.execute("DELETE FROM chat_times WHERE chat_id = ?", (chat_id,))
    for value in normalized:
        db.execute("INSERT INTO chat_times (chat_id, time) VALUES (?, ?)", (chat_id, value))


def set_chat_times(db: Database, chat_id: int, times: list[str]) -> None:
    """Replace the chat's digest times. ValueError (nothing changed) if one is not HH:MM."""
    for value in times:
        normalize_time(value)
    with db.atomic():
        _write_times(db, chat_id, times)


def set_timezone(db: Database, chat_id: int, tz: str) -> None:
    """ValueError (nothing changed) if ``tz`` is not a known IANA time zone."""
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{tz!r} is not a known time zone (like \"Europe/Paris\")") from exc
    db.execute("UPDATE chats SET timezone = ? WHERE chat_id = ?", (tz, chat_id))


# -- configured channels -------------------------------------------------------------------------


def _channel_key(chat: str | int) -> tuple[int | None, str | None]:
    """A channel from the config is a numeric id or an "@name" address."""
    if isinstance(chat, int):
        return chat, None
    text = str(chat).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text), None
    return None, text


def _placeholder_id(db: Database) -> int:
    """A chat id for an "@name" channel whose numeric id is not known yet.

    Below any real Telegram id; the first message sent there returns the real id and the row is
    moved with :func:`migrate_chat`.
    """
    row = db.execute("SELECT MIN(chat_id) FROM chats").fetchone()
    floor = -9_000_000_000_000_000
    return min(floor, int(row[0] or 0)) - 1


def sync_config_channels(
    db: Database, channels: tuple[ChannelConfig, ...], digest: DigestConfig, now: float, *,
    language: str = "fr",
) -> None:
    """Make the configured channels subscribers with their tags and times.

    Their tags and times follow the config on every sync (the config is their settings page);
    a channel removed from the config is paused, not deleted.
    """
    with db.atomic():
        kept: list[int] = []
        for channel in channels:
            chat_id, address = _channel_key(channel.chat)
            row = get_chat(db, chat_id) if chat_id is not None else get_chat_by_address(db, address or "")
            times = list(channel.times or digest.times)
            if row is None:
                chat_id = chat_id if chat_id is not None else _placeholder_id(db)
                db.execute(
                    "INSERT INTO chats (chat_id, address, type, title, language, state, timezone, "
                    "created_at, updated_at, from_config) "
                    "VALUES (?, ?, 'channel', ?, ?, 'active', ?, ?, ?, 1)",
                    (chat_id, address, address or str(chat_id), language, digest.timezone, now, now),
                )
            else:
                chat_id = int(row["chat_id"])
                state = "blocked" if row["state"] == "blocked" else "active"
                db.execute(
                    "UPDATE chats SET from_config = 1, state = ?, updated_at = ? WHERE chat_id = ?",
                    (state, now, chat_id),
                )
            _write_times(db, chat_id, times)
            db.execute("DELETE FROM chat_tags WHERE chat_id = ?", (chat_id,))
            for tag in sorted(set(channel.tags)):
                db.execute("INSERT INTO chat_tags (chat_id, tag) VALUES (?, ?)", (chat_id, tag))
            kept.append(chat_id)
        keep = f"AND chat_id NOT IN ({', '.join('?' * len(kept))})" if kept else ""
        db.execute(
            "UPDATE chats SET state = 'paused', blocked_reason = 'removed from the config' "
            f"WHERE from_config = 1 AND state = 'active' {keep}",
            kept,
        )


# -- reports -------------------------------------------------------------------------------------


def stats(db: Database, now: float) -> dict[str, Any]:
    """Figures for /stats."""
    day = now - 86400
    feeds = db.execute(
        "SELECT COALESCE(SUM(dead = 0 AND error_count = 0), 0), "
        "COALESCE(SUM(dead = 0 AND error_count > 0), 0), COALESCE(SUM(dead = 1), 0), "
        "MAX(last_attempt_at) FROM feeds WHERE enabled = 1"
    ).fetchone()
    states = dict(db.execute("SELECT state, COUNT(*) FROM chats GROUP BY state").fetchall())
    last_digest = db.execute(
        "SELECT MAX(created_at) FROM digest_runs WHERE kind = 'digest'"
    ).fetchone()[0]
    return {
        "feeds_ok": int(feeds[0]),
        "feeds_failing": int(feeds[1]),
        "feeds_dead": int(feeds[2]),
        "last_poll_at": feeds[3],
        "articles_24h": db.execute(
            "SELECT COUNT(*) FROM articles WHERE fetched_at >= ?", (day,)
        ).fetchone()[0],
        "clusters_24h": db.execute(
            "SELECT COUNT(*) FROM clusters WHERE first_seen >= ?", (day,)
        ).fetchone()[0],
        "chats_active": int(states.get("active", 0)),
        "chats_paused": int(states.get("paused", 0)),
        "chats_blocked": int(states.get("blocked", 0)),
        "last_digest_at": last_digest,
        "pending_digests": db.execute(
            "SELECT COUNT(*) FROM digest_runs WHERE status = 'pending'"
        ).fetchone()[0],
    }


def fts_query(words: str) -> str:
    """User words → an FTS5 query that cannot be a syntax error: each word a quoted string."""
    terms = [w.replace('"', '""') for w in re.findall(r"\w+", words, flags=re.UNICODE)]
    return " ".join(f'"{t}"' for t in terms)


def _story_link(db: Database, cluster_id: int, representative_id: int | None) -> tuple[str, str] | None:
    """(link, source) a story shows: the publisher's own article when the cluster has one (not a
    Google News redirect), the representative first among equals; see
    :func:`bot.pipeline.digest.pick_link`."""
    rows = db.execute(
        "SELECT link, source FROM articles WHERE cluster_id = ? ORDER BY (id = ?) DESC, published_at, id",
        (cluster_id, representative_id),
    ).fetchall()
    index = pick_link([str(link or "") for link, _ in rows])
    return (rows[index][0], rows[index][1] or "") if index is not None else None


def search_stories(db: Database, words: str, limit: int = 10) -> list[dict[str, Any]]:
    """The ``limit`` most recent stories whose articles match ``words`` (FTS5), one per cluster.

    Rows: cluster_id (None for an article outside any cluster), article_id, title, link, source
    (of the article linked), published_at, source_count.
    """
    query = fts_query(words)
    if not query or limit <= 0:
        return []
    cursor = db.execute(
        """
        SELECT a.id AS article_id, a.cluster_id, a.title, a.link, a.source, a.published_at,
               c.title AS cluster_title, c.representative_id, c.source_count
        FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
        LEFT JOIN clusters c ON c.id = a.cluster_id
        WHERE articles_fts MATCH ?
        ORDER BY a.published_at DESC, a.id DESC
        LIMIT ?
        """,
        (query, limit * 20),
    )
    seen: set[int] = set()
    out: list[dict[str, Any]] = []
    for row in _rows(cursor):
        key = row["cluster_id"] if row["cluster_id"] is not None else -row["article_id"]
        if key in seen:
            continue
        seen.add(key)
        link, source = row["link"], row["source"]
        if row["cluster_id"] is not None:
            link, source = _story_link(db, row["cluster_id"], row["representative_id"]) or (link, source)
        out.append({
            "cluster_id": row["cluster_id"],
            "article_id": row["article_id"],
            "title": row["cluster_title"] or row["title"],
            "link": link,
            "source": source,
            "published_at": row["published_at"],
            "source_count": row["source_count"] or 1,
        })
        if len(out) >= limit:
            break
    return out
