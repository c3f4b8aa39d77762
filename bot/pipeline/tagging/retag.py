"""Store-side tagging: re-tag stored articles, explain an article's tags, count tags.

Used by ``newsbot retag --since 30d``, by the hot reload when the tags in the config change
(last 7 days), and by ``newsbot explain`` / ``newsbot tags``. Functions take the sqlite-utils
Database as first argument so they can run on the DbExecutor thread.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database

from bot.pipeline.store.articles import article_tags, articles_changed, save_tags
from bot.pipeline.tagging import Tagger, add_feed_tags
from bot.pipeline.tagging.report import Explanation

BATCH = 500
DAY = 86400.0


def retag_articles(
    db: Database,
    tagger: Tagger,
    since: float,
    now: float,
    feed_tags: dict[str, tuple[str, ...]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Re-tag articles fetched or published between ``since`` and ``now`` (epoch seconds).

    Each article gets ``tagger.tag(title, summary)`` plus its feed's own tags (``feed_tags``:
    feed name → tag ids, matched text ``feed:<name>``). Rows are rewritten only when the tags
    or matched texts changed, in one transaction per batch. Returns how many articles changed.
    ``progress(done, total)`` is called after each batch (the CLI's bar).
    """
    if since > now:
        raise ValueError(f"since ({since}) is after now ({now}): pass an epoch time, not a duration")
    feed_tags = feed_tags or {}
    window = "(a.fetched_at >= ? AND a.fetched_at <= ?) OR (a.published_at >= ? AND a.published_at <= ?)"
    total = 0
    if progress is not None:
        count_sql = f"SELECT COUNT(*) FROM articles a WHERE {window}"
        total = db.execute(count_sql, (since, now, since, now)).fetchone()[0]
    changed = done = 0
    last_id = 0
    while True:
        rows = db.execute(
            f"""
            SELECT a.id, a.title, a.summary, f.name FROM articles a JOIN feeds f ON f.id = a.feed_id
            WHERE a.id > ? AND ({window})
            ORDER BY a.id LIMIT ?
            """,
            (last_id, since, now, since, now, BATCH),
        ).fetchall()
        if not rows:
            return changed
        with db.atomic():
            for article_id, title, summary, feed_name in rows:
                tags = add_feed_tags(tagger.tag(title, summary), feed_name, feed_tags.get(feed_name, ()))
                if tags != article_tags(db, article_id):
                    save_tags(db, article_id, tags)
                    articles_changed(db)
                    changed += 1
        last_id = rows[-1][0]
        done += len(rows)
        if progress is not None:
            progress(done, max(total, done))


def explain_article(
    db: Database,
    article_id: int,
    tagger: Tagger | None = None,
    feed_tags: dict[str, tuple[str, ...]] | None = None,
) -> Explanation | None:
    """The stored tags of one article with their matched text; None if there is no such article.

    With a ``tagger``, also what the current config gives and every keyword occurrence, so a
    surprising tag can be traced to the word that caused it.
    """
    row = db.execute(
        "SELECT a.title, a.summary, f.name FROM articles a JOIN feeds f ON f.id = a.feed_id "
        "WHERE a.id = ?",
        (article_id,),
    ).fetchone()
    if row is None:
        return None
    title, summary, feed_name = row
    current = None
    matches: list[tuple[str, str]] = []
    if tagger is not None:
        own = (feed_tags or {}).get(feed_name, ())
        current = add_feed_tags(tagger.tag(title, summary), feed_name, own)
        matches = [(m.tag, m.text) for m in tagger.matches(title, summary)]
    return Explanation(
        article_id=article_id, title=title, feed=feed_name, stored=article_tags(db, article_id),
        current=current, matches=matches,
    )


def tag_counts(db: Database, now: float) -> dict[str, tuple[int, int]]:
    """Tag → (articles stored in the last 24 h, in the last 7 days), for ``newsbot tags``.

    By the time an article was fetched, like ``export --since`` and ``clusters --since``: a feed
    polled for the first time stores days-old items, and its counts must show them (counted by
    ``published_at`` they showed 0 right after 631 articles were stored). Counts every stored
    tag, configured or not (a tag removed from the config still shows).
    """
    rows = db.execute(
        """
        SELECT t.tag,
               SUM(CASE WHEN a.fetched_at >= ? THEN 1 ELSE 0 END),
               COUNT(*)
        FROM article_tags t JOIN articles a ON a.id = t.article_id
        WHERE a.fetched_at >= ?
        GROUP BY t.tag
        """,
        (now - DAY, now - 7 * DAY),
    ).fetchall()
    return {tag: (int(day), int(week)) for tag, day, week in rows}
