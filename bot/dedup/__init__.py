"""Deduplication and story clustering: one story, one entry.

The pipeline calls :func:`process_articles` inside the transaction that stored a feed's new
articles, and may call :func:`reindex_articles` with the ids ``save_articles`` reports as updated.
See :mod:`bot.dedup.engine` for the layers and :mod:`bot.dedup.clusters` for the clustering score.
"""

from bot.dedup.engine import process_articles, reindex_articles

__all__ = ["process_articles", "reindex_articles"]
