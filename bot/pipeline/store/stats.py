"""Totals for ``/metrics``: feeds by state, stored articles and clusters, the dedup backlog, the
last poll and the last digest. Read on a read-only connection of the metrics server."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from bot.pipeline.store.articles import count_undecided

FEED_STATES = ("ok", "failing", "dead", "disabled", "never_polled")


def feed_state_counts(db: Database) -> dict[str, int]:
    """How many feeds are in each of FEED_STATES (every state present, zero or not)."""
    rows = db.execute(
        "SELECT CASE WHEN enabled = 0 THEN 'disabled' WHEN dead = 1 THEN 'dead' "
        "WHEN error_count > 0 THEN 'failing' WHEN last_attempt_at IS NULL THEN 'never_polled' "
        "ELSE 'ok' END AS state, COUNT(*) FROM feeds GROUP BY state"
    ).fetchall()
    counts = dict.fromkeys(FEED_STATES, 0)
    counts.update({state: int(n) for state, n in rows})
    return counts


def store_figures(db: Database) -> dict[str, Any]:
    def one(sql: str) -> Any:
        return db.execute(sql).fetchone()[0]

    return {
        "feeds": feed_state_counts(db),
        "articles": int(one("SELECT COUNT(*) FROM articles")),
        "clusters": int(one("SELECT COUNT(*) FROM clusters WHERE size > 0")),
        "dedup_backlog": count_undecided(db),
        "last_poll_at": one("SELECT MAX(last_attempt_at) FROM feeds"),
        "last_digest_at": one("SELECT MAX(finished_at) FROM digest_runs WHERE kind = 'digest' "
                              "AND status = 'done'"),
        "pending_digests": int(one("SELECT COUNT(*) FROM digest_runs WHERE status = 'pending'")),
    }
