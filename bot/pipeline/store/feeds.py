"""Feeds and their polling state (one row per configured feed, keyed by name)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from bot.config import FeedConfig
from bot.pipeline.schedule.backoff import FailureDecision


def sync_feeds(db: Database, feeds: Iterable[FeedConfig], now: float) -> dict[str, int]:
    """Make the feeds table match the config; returns name → id of the configured feeds.

    New feeds are due at once. A feed whose URL changed starts afresh (no ETag, no errors).
    Feeds gone from the config are disabled, not deleted: their articles stay until retention.
    """
    ids: dict[str, int] = {}
    with db.atomic():
        for feed in feeds:
            row = db.execute("SELECT id, url FROM feeds WHERE name = ?", (feed.name,)).fetchone()
            if row is None:
                cursor = db.execute(
                    "INSERT INTO feeds (name, url, enabled, created_at, next_due_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (feed.name, feed.url, int(feed.enabled), now, now),
                )
                ids[feed.name] = int(cursor.lastrowid)
                continue
            feed_id, url = int(row[0]), row[1]
            if url != feed.url:
                db.execute(
                    "UPDATE feeds SET url = ?, etag = NULL, last_modified = NULL, error_count = 0, "
                    "first_error_at = NULL, last_error = NULL, dead = 0, permanent_url = NULL, "
                    "next_due_at = ? WHERE id = ?",
                    (feed.url, now, feed_id),
                )
            db.execute("UPDATE feeds SET enabled = ? WHERE id = ?", (int(feed.enabled), feed_id))
            ids[feed.name] = feed_id
        names = list(ids)
        db.execute(
            f"UPDATE feeds SET enabled = 0 WHERE name NOT IN ({', '.join('?' * len(names))})",
            names,
        )
    return ids


def feed_state(db: Database, name: str) -> dict[str, Any] | None:
    cursor = db.execute("SELECT * FROM feeds WHERE name = ?", (name,))
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def all_feed_states(db: Database) -> list[dict[str, Any]]:
    cursor = db.execute("SELECT * FROM feeds ORDER BY name")
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, row, strict=True)) for row in cursor.fetchall()]


def record_success(
    db: Database,
    feed_id: int,
    *,
    now: float,
    status: int,
    next_due_at: float,
    etag: str | None,
    last_modified: str | None,
    title: str | None = None,
    ttl_seconds: float | None = None,
    bozo: str | None = None,
    permanent_url: str | None = None,
) -> None:
    """A poll worked (200 or 304): clear the error state and remember validators."""
    db.execute(
        """
        UPDATE feeds SET last_attempt_at = :now, last_success_at = :now, last_status = :status,
            error_count = 0, first_error_at = NULL, last_error = NULL, dead = 0,
            next_due_at = :due,
            etag = COALESCE(:etag, etag), last_modified = COALESCE(:lm, last_modified),
            title = COALESCE(:title, title), ttl_seconds = COALESCE(:ttl, ttl_seconds),
            bozo = CASE WHEN :status = 304 THEN bozo ELSE :bozo END,
            permanent_url = COALESCE(:perm, permanent_url)
        WHERE id = :id
        """,
        {
            "now": now, "status": status, "due": next_due_at, "etag": etag, "lm": last_modified,
            "title": title, "ttl": ttl_seconds, "bozo": bozo, "perm": permanent_url, "id": feed_id,
        },
    )


def record_failure(
    db: Database,
    feed_id: int,
    *,
    now: float,
    status: int | None,
    error: str,
    decision: FailureDecision,
) -> None:
    db.execute(
        """
        UPDATE feeds SET last_attempt_at = ?, last_status = ?, last_error = ?, error_count = ?,
            first_error_at = ?, next_due_at = ?, dead = ?
        WHERE id = ?
        """,
        (now, status, error[:1000], decision.error_count, decision.first_error_at,
         decision.next_due_at, int(decision.dead), feed_id),
    )
