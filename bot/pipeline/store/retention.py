"""Retention: one batch job that forgets what is older than ``[storage] retention_days``."""

from __future__ import annotations

from sqlite_utils import Database

from bot.pipeline.store.articles import prune_articles
from bot.pipeline.store.clusters import repair_clusters
from bot.pipeline.store.deliveries import prune_journal


def apply_retention(db: Database, older_than: float) -> int:
    """Prune old articles (tags, FTS rows and dedup index rows go by cascade), repair the
    clusters that lost their representative, and forget finished digest runs of the same age.
    Returns the number of articles deleted."""
    deleted = prune_articles(db, older_than)
    repair_clusters(db)
    prune_journal(db, older_than)
    return deleted
