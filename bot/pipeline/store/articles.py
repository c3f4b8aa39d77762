"""Articles: insert new ones, update changed ones, look them up, prune old ones."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from sqlite_utils import Database

from bot.models import Article


def articles_changed(db: Database) -> None:
    """Stored articles changed in a way a cached copy would miss (text, tags, deletions): bump
    the connection's generation (bot/pipeline/store/db.py) so in-memory views of the store are rebuilt."""
    db.generation = getattr(db, "generation", 0) + 1


def content_hash(article: Article) -> str:
    """What decides whether a stored article changed: title and summary."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(article.title.encode())
    digest.update(b"\0")
    digest.update(article.summary.encode())
    return digest.hexdigest()


def _row(feed_id: int, article: Article, now: float) -> dict[str, Any]:
    return {
        "feed_id": feed_id,
        "guid": article.guid,
        "link": article.link,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "source": article.source,
        "source_url": article.source_url,
        "author": article.author,
        "published_at": article.published_at,
        "fetched_at": article.fetched_at,
        "updated_at": now,
        "language": article.language,
        "summary": article.summary,
        "summary_raw": article.summary_raw,
        "is_google_news": int(article.is_google_news),
        "related_json": json.dumps([asdict(r) for r in article.related], ensure_ascii=False),
        "content_hash": content_hash(article),
    }


def save_articles(
    db: Database, feed_id: int, articles: list[Article], now: float
) -> tuple[list[int], list[int], int]:
    """Store one feed's articles: returns (new ids, updated ids, unchanged count).

    An article is identified by (feed, guid). Seen again unchanged, it is left alone; with a
    changed title or summary, the stored row is updated (its first fetch time is kept).
    Callers wrap this in a transaction.
    """
    new_ids: list[int] = []
    updated_ids: list[int] = []
    unchanged = 0
    for article in articles:
        row = _row(feed_id, article, now)
        existing = db.execute(
            "SELECT id, content_hash FROM articles WHERE feed_id = ? AND guid = ?",
            (feed_id, article.guid),
        ).fetchone()
        if existing is None:
            cursor = db.execute(
                f"INSERT INTO articles ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                tuple(row.values()),
            )
            article_id = int(cursor.lastrowid)
            new_ids.append(article_id)
        elif existing[1] != row["content_hash"]:
            article_id = int(existing[0])
            changed = {k: row[k] for k in ("title", "summary", "summary_raw", "link",
                                           "canonical_url", "content_hash", "updated_at",
                                           "related_json")}
            db.execute(
                f"UPDATE articles SET {', '.join(f'{k} = ?' for k in changed)} WHERE id = ?",
                (*changed.values(), article_id),
            )
            updated_ids.append(article_id)
            articles_changed(db)
        else:
            unchanged += 1
            continue
        save_tags(db, article_id, article.tags)
    return new_ids, updated_ids, unchanged


def save_tags(db: Database, article_id: int, tags: dict[str, str]) -> None:
    """Replace an article's tags (tag id → the text that matched)."""
    db.execute("DELETE FROM article_tags WHERE article_id = ?", (article_id,))
    if tags:
        db.conn.executemany(
            "INSERT INTO article_tags (article_id, tag, matched) VALUES (?, ?, ?)",
            [(article_id, tag, matched) for tag, matched in sorted(tags.items())],
        )


def article_tags(db: Database, article_id: int) -> dict[str, str]:
    return {
        tag: matched
        for tag, matched in db.execute(
            "SELECT tag, matched FROM article_tags WHERE article_id = ? ORDER BY tag", (article_id,)
        )
    }


def prune_articles(db: Database, older_than: float) -> int:
    """Delete articles fetched before ``older_than`` (epoch seconds) and what refers to them.

    Tags and FTS rows go by cascade and triggers; clusters left without articles are deleted,
    and clusters that lost their representative get a new one from the dedup domain's repair.
    """
    with db.atomic():
        cursor = db.execute("DELETE FROM articles WHERE fetched_at < ?", (older_than,))
        deleted = cursor.rowcount
        articles_changed(db)
        db.execute(
            "DELETE FROM clusters WHERE NOT EXISTS "
            "(SELECT 1 FROM articles a WHERE a.cluster_id = clusters.id)"
        )
    return deleted


def undecided_article_ids(db: Database, limit: int) -> list[int]:
    """The oldest ``limit`` stored articles that dedup has not decided yet (no cluster), by id,
    which is arrival order. An index range scan on ``idx_articles_cluster``."""
    return [
        int(row[0])
        for row in db.execute(
            "SELECT id FROM articles WHERE cluster_id IS NULL ORDER BY id LIMIT ?", (limit,)
        )
    ]


def count_undecided(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM articles WHERE cluster_id IS NULL").fetchone()[0])
