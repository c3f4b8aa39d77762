"""Digest selection and the delivery journal (tables created in :mod:`bot.pipeline.store.chats`).

Selection: the clusters that appeared or grew since a chat's last digest (``cluster_changes.seq``
above the chat's cursor; for a chat's first digest, ``updated_at`` within the first window),
plus, for ``/digest``, the stories earlier digests cut and the chat has not seen (its
``digest_pages``), matching its followed tags (none = everything), carrying none of its muted
tags, and not in ``sent_clusters`` for that chat.

Journal: :func:`journal_run` writes a run, its rendered parts, the clusters it carries and the
chat's new cursor in one transaction; :func:`mark_part_sent` records each part as it goes out.
A part is "pending" until Telegram answered with a message, so after a crash the unsent parts
(and only those) are sent again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from bot.pipeline.digest import Story, pick_link
from bot.pipeline.store.chats import chat_mutes, ensure_change_triggers
from bot.pipeline.store.clusters import cluster_tags


@dataclass(frozen=True)
class PendingPart:
    run_id: int
    seq: int
    chat_id: int
    text: str
    kind: str
    reply_markup: str = ""         # JSON of an inline keyboard ("More"), or ""


def _rows(cursor: Any) -> list[dict[str, Any]]:
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, row, strict=True)) for row in cursor.fetchall()]


# -- selection -----------------------------------------------------------------------------------


# When the story last moved, as readers understand it: its latest article's publication time,
# never later than when we saw it (feeds carry future and missing dates).
STORY_TIME = (
    "MIN(c.last_seen, COALESCE((SELECT MAX(x.published_at) FROM articles x WHERE x.cluster_id = c.id), "
    "c.last_seen))"
)
# When the story began: its first article's publication time, never later than we first saw it.
STORY_START = (
    "MIN(c.first_seen, COALESCE((SELECT MIN(x.published_at) FROM articles x WHERE x.cluster_id = c.id), "
    "c.first_seen))"
)


def current_seq(db: Database) -> int:
    row = db.execute("SELECT MAX(seq) FROM cluster_changes").fetchone()
    return int(row[0] or 0)


def _topic_filter(chat_id: int, follows: set[str], mutes: set[str]) -> tuple[str, list[Any]]:
    """SQL (on cluster ``c``) and parameters: carries a followed tag (if any) and no muted tag."""
    sql, params = "", []
    # CROSS JOIN keeps the cluster's articles as the outer loop: driven from the tag index
    # instead, SQLite walked every article with that tag for each candidate (3.8 s per digest
    # with 20,000 clusters; see docs/BENCHMARKS.md, "digest planning").
    has_tag = ("EXISTS (SELECT 1 FROM articles a CROSS JOIN article_tags t ON t.article_id = a.id "
               "WHERE a.cluster_id = c.id AND t.tag IN ({}))")
    if follows:
        sql += " AND " + has_tag.format(", ".join("?" * len(follows)))
        params.extend(sorted(follows))
    if mutes:
        sql += " AND NOT " + has_tag.format(", ".join("?" * len(mutes)))
        params.extend(sorted(mutes))
    return sql, params


def candidate_clusters(
    db: Database, chat: dict[str, Any], tags: set[str], *, now: float, first_window: float,
    upto_seq: int, backlog: bool = False, only: list[int] | None = None,
) -> list[dict[str, Any]]:
    """Cluster rows (id, title, last_seen, size, source_count) due to ``chat``, unranked.

    ``backlog`` adds the unseen stories the chat's digests of the first window cut; ``only``
    restricts the choice to those cluster ids (a "More" page) instead of what is new.
    """
    ensure_change_triggers(db)
    chat_id = chat["chat_id"]
    # The due ids first, in a subquery each index can answer (seq range, updated_at range,
    # a page's list), so SQLite drives from them instead of scanning every cluster.
    if only is not None:
        due, params = "SELECT CAST(value AS INTEGER) FROM json_each(?)", [json.dumps(only)]
    elif chat["first_digest_done"]:
        due = "SELECT cluster_id FROM cluster_changes WHERE seq > ? AND seq <= ?"
        params = [chat["cursor_seq"], upto_seq]
    else:
        due = "SELECT id FROM clusters WHERE updated_at >= ? AND updated_at <= ?"
        params = [now - first_window, now]
    if backlog and only is None:
        due += (" UNION SELECT CAST(j.value AS INTEGER) FROM digest_pages p, json_each(p.cluster_ids) j "
                "WHERE p.chat_id = ? AND p.created_at >= ?")
        params += [chat_id, now - first_window]
    topics, topic_params = _topic_filter(chat_id, tags, chat_mutes(db, chat_id))
    sql = f"""
        SELECT c.id, c.title, c.representative_id, c.first_seen, c.last_seen, c.size, c.source_count,
               {STORY_TIME} AS story_time
        FROM clusters c
        WHERE c.id IN ({due}) AND c.size > 0
          AND NOT EXISTS (SELECT 1 FROM sent_clusters s WHERE s.chat_id = ? AND s.cluster_id = c.id)
          {topics}
    """
    return _rows(db.execute(sql, [*params, chat_id, *topic_params]))


def cluster_story(db: Database, row: dict[str, Any], shown_tags: set[str] | None) -> Story:
    """A cluster row → Story: the link :func:`pick_link` chooses (the publisher's own article
    first, the representative first among those), sources (the linked article's first), tags.

    ``shown_tags`` limits the hashtags to the chat's tags (None = all the cluster's tags).
    """
    articles = _rows(db.execute(
        """
        SELECT a.id, a.title, a.link, a.published_at,
               COALESCE(NULLIF(a.source, ''), NULLIF(f.title, ''), f.name, '') AS source
        FROM articles a LEFT JOIN feeds f ON f.id = a.feed_id
        WHERE a.cluster_id = ?
        ORDER BY (a.id = ?) DESC, a.published_at, a.id
        """,
        (row["id"], row["representative_id"]),
    ))
    linked = pick_link([str(a["link"] or "") for a in articles])
    url = articles[linked]["link"] if linked is not None else ""
    if linked:                                  # the linked article's source is named first
        articles.insert(0, articles.pop(linked))
    title = row["title"] or (articles[0]["title"] if articles else "")
    tags = cluster_tags(db, row["id"])
    if shown_tags:
        tags &= shown_tags
    return Story(
        cluster_id=int(row["id"]),
        title=title,
        url=url,
        sources=list(dict.fromkeys(a["source"] for a in articles if a["source"])),
        tags=sorted(tags),
        time=float(row.get("story_time") or row["last_seen"]),
        source_count=int(row["source_count"] or 0),
        size=int(row["size"] or 0),
    )


def priority_candidates(
    db: Database, priority_tags: Iterable[str], *, min_sources: int, since: float
) -> list[dict[str, Any]]:
    """(chat_id, cluster row) pairs: active chats following a priority tag (or following
    everything: no tags chosen) that one of their clusters carries, with enough sources, updated
    since ``since``, that began after the chat subscribed (an old story is no alert for a new
    subscriber: their first digest has it), carrying none of the chat's muted tags, not yet
    sent to the chat."""
    tags = sorted(set(priority_tags))
    if not tags:
        return []
    marks = ", ".join("?" * len(tags))
    sql = f"""
        SELECT DISTINCT ch.chat_id, c.id, c.title, c.representative_id, c.first_seen, c.last_seen,
               c.size, c.source_count, {STORY_TIME} AS story_time
        FROM clusters c
        JOIN articles a ON a.cluster_id = c.id
        JOIN article_tags t ON t.article_id = a.id AND t.tag IN ({marks})
        JOIN chats ch ON ch.state = 'active'
        WHERE c.source_count >= ? AND c.updated_at >= ?
          AND {STORY_START} >= ch.created_at
          AND (EXISTS (SELECT 1 FROM chat_tags ct WHERE ct.chat_id = ch.chat_id AND ct.tag = t.tag)
               OR NOT EXISTS (SELECT 1 FROM chat_tags ct WHERE ct.chat_id = ch.chat_id))
          AND NOT EXISTS (SELECT 1 FROM articles m JOIN article_tags mt ON mt.article_id = m.id
                          JOIN chat_mutes cm ON cm.chat_id = ch.chat_id AND cm.tag = mt.tag
                          WHERE m.cluster_id = c.id)
          AND NOT EXISTS (SELECT 1 FROM sent_clusters s WHERE s.chat_id = ch.chat_id AND s.cluster_id = c.id)
        ORDER BY ch.chat_id, c.id
    """
    return _rows(db.execute(sql, (*tags, min_sources, since)))


# -- "More" pages --------------------------------------------------------------------------------


def save_page(db: Database, chat_id: int, cluster_ids: list[int], now: float, *, shown: int) -> int:
    """Keep the stories a digest cut (rank order) for its "More" button, with how many of that
    digest were shown before them (numbering goes on); returns the page id."""
    return int(db.execute(
        "INSERT INTO digest_pages (chat_id, created_at, cluster_ids, shown) VALUES (?, ?, ?, ?)",
        (chat_id, now, json.dumps(cluster_ids), shown),
    ).lastrowid)


def get_page(db: Database, chat_id: int, page_id: int) -> dict[str, Any] | None:
    """The page (id, cluster_ids list, shown) if it exists and belongs to ``chat_id``."""
    rows = _rows(db.execute(
        "SELECT id, cluster_ids, shown FROM digest_pages WHERE id = ? AND chat_id = ?", (page_id, chat_id)
    ))
    if not rows:
        return None
    page = rows[0]
    page["cluster_ids"] = [int(i) for i in json.loads(page["cluster_ids"])]
    return page


def update_page(db: Database, page_id: int, cluster_ids: list[int], shown: int) -> None:
    db.execute("UPDATE digest_pages SET cluster_ids = ?, shown = ? WHERE id = ?",
               (json.dumps(cluster_ids), shown, page_id))


# -- journal -------------------------------------------------------------------------------------


def journal_run(
    db: Database,
    chat_id: int,
    *,
    kind: str,
    reason: str,
    parts: list[str],
    cluster_ids: list[int],
    now: float,
    stories: int = 0,
    more: int = 0,
    cursor_seq: int | None = None,
    last_markup: str = "",
) -> int | None:
    """Write a run with its parts and clusters in one transaction; returns the run id.

    ``last_markup`` (an inline keyboard as JSON) goes with the last part ("More").

    With ``cursor_seq`` (a digest) the chat's cursor, last digest time and first-digest flag move
    in the same transaction. A run without parts only moves the cursor (returns None).
    """
    with db.atomic():
        if cursor_seq is not None:
            db.execute(
                "UPDATE chats SET cursor_seq = MAX(cursor_seq, ?), last_digest_at = ?, "
                "first_digest_done = 1 WHERE chat_id = ?",
                (cursor_seq, now, chat_id),
            )
        if not parts:
            return None
        run_id = int(db.execute(
            "INSERT INTO digest_runs (chat_id, kind, reason, created_at, status, stories, more) "
            "VALUES (?, ?, ?, ?, 'pending', ?, ?)",
            (chat_id, kind, reason, now, stories, more),
        ).lastrowid)
        last = len(parts) - 1
        db.conn.executemany(
            "INSERT INTO digest_parts (run_id, seq, text, reply_markup) VALUES (?, ?, ?, ?)",
            [(run_id, seq, text, last_markup if seq == last else "") for seq, text in enumerate(parts)],
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO sent_clusters (chat_id, cluster_id, run_id, kind, sent_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(chat_id, cid, run_id, kind, now) for cid in cluster_ids],
        )
    return run_id


def pending_parts(db: Database, chat_id: int | None = None) -> list[PendingPart]:
    """Unsent parts of unfinished runs, oldest run first, in part order."""
    sql = (
        "SELECT p.run_id, p.seq, r.chat_id, p.text, r.kind, p.reply_markup FROM digest_parts p "
        "JOIN digest_runs r ON r.id = p.run_id "
        "WHERE r.status = 'pending' AND p.status = 'pending'"
    )
    params: tuple[Any, ...] = ()
    if chat_id is not None:
        sql += " AND r.chat_id = ?"
        params = (chat_id,)
    sql += " ORDER BY r.id, p.seq"
    return [PendingPart(*row) for row in db.execute(sql, params).fetchall()]


def pending_chats(db: Database) -> list[int]:
    rows = db.execute(
        "SELECT DISTINCT chat_id FROM digest_runs WHERE status = 'pending' ORDER BY chat_id"
    ).fetchall()
    return [int(r[0]) for r in rows]


def _close_run_if_done(db: Database, run_id: int, now: float) -> None:
    left = db.execute(
        "SELECT COUNT(*) FROM digest_parts WHERE run_id = ? AND status = 'pending'", (run_id,)
    ).fetchone()[0]
    if not left:
        failed = db.execute(
            "SELECT COUNT(*) FROM digest_parts WHERE run_id = ? AND status = 'failed'", (run_id,)
        ).fetchone()[0]
        db.execute(
            "UPDATE digest_runs SET status = ?, finished_at = ? WHERE id = ?",
            ("failed" if failed else "done", now, run_id),
        )


def mark_part_sent(db: Database, run_id: int, seq: int, message_id: int | None, now: float) -> None:
    with db.atomic():
        db.execute(
            "UPDATE digest_parts SET status = 'sent', sent_at = ?, message_id = ? "
            "WHERE run_id = ? AND seq = ?",
            (now, message_id, run_id, seq),
        )
        _close_run_if_done(db, run_id, now)


def mark_part_failed(db: Database, run_id: int, seq: int, error: str, now: float) -> None:
    """Telegram refused this part for good (a 400 other than a migration): never retried."""
    with db.atomic():
        db.execute(
            "UPDATE digest_parts SET status = 'failed', error = ? WHERE run_id = ? AND seq = ?",
            (error[:500], run_id, seq),
        )
        _close_run_if_done(db, run_id, now)


def note_run_error(db: Database, run_id: int, error: str) -> None:
    """A transient failure: the run stays pending (resumed later) with the last error noted."""
    db.execute("UPDATE digest_runs SET error = ? WHERE id = ?", (error[:500], run_id))


def abandon_chat_runs(db: Database, chat_id: int, status: str, error: str, now: float) -> None:
    """The chat blocked the bot: its pending runs will never go out."""
    db.execute(
        "UPDATE digest_runs SET status = ?, error = ?, finished_at = ? "
        "WHERE chat_id = ? AND status = 'pending'",
        (status, error[:500], now, chat_id),
    )


def run_parts(db: Database, run_id: int) -> list[dict[str, Any]]:
    return _rows(db.execute(
        "SELECT seq, text, status, sent_at, message_id, error FROM digest_parts "
        "WHERE run_id = ? ORDER BY seq",
        (run_id,),
    ))


def chat_runs(db: Database, chat_id: int) -> list[dict[str, Any]]:
    return _rows(db.execute("SELECT * FROM digest_runs WHERE chat_id = ? ORDER BY id", (chat_id,)))


def subscriber_report(db: Database) -> list[dict[str, Any]]:
    """Chats with their tags, times and journal figures, for ``newsbot subscribers``."""
    rows = _rows(db.execute(
        """
        SELECT ch.chat_id, ch.address, ch.type, ch.title, ch.language, ch.state, ch.timezone,
               ch.last_digest_at, ch.blocked_reason, ch.from_config,
               (SELECT group_concat(tag, ' ') FROM (SELECT tag FROM chat_tags WHERE chat_id = ch.chat_id
                ORDER BY tag)) AS tags,
               (SELECT group_concat(tag, ' ') FROM (SELECT tag FROM chat_mutes WHERE chat_id = ch.chat_id
                ORDER BY tag)) AS mutes,
               (SELECT group_concat(time, ' ') FROM (SELECT time FROM chat_times WHERE chat_id = ch.chat_id
                ORDER BY time)) AS times,
               (SELECT COUNT(*) FROM sent_clusters s WHERE s.chat_id = ch.chat_id) AS stories_sent,
               (SELECT COUNT(*) FROM digest_runs r WHERE r.chat_id = ch.chat_id AND r.status = 'pending')
                   AS pending_runs
        FROM chats ch ORDER BY ch.state, ch.chat_id
        """
    ))
    return rows


def prune_journal(db: Database, older_than: float) -> int:
    """Forget finished runs (and their parts) created before ``older_than``, and the sent marks of
    clusters that no longer exist. Pending runs are kept whatever their age. Returns runs deleted."""
    with db.atomic():
        deleted = db.execute(
            "DELETE FROM digest_runs WHERE status != 'pending' AND created_at < ?", (older_than,)
        ).rowcount
        db.execute("DELETE FROM digest_parts WHERE run_id NOT IN (SELECT id FROM digest_runs)")
        db.execute("DELETE FROM digest_pages WHERE created_at < ?", (older_than,))
        db.execute("DELETE FROM sent_clusters WHERE cluster_id NOT IN (SELECT id FROM clusters)")
    return int(deleted)
