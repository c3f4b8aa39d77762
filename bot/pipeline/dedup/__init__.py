"""Deduplication and story clustering: one story, one entry.

Articles are stored undecided (no cluster); :func:`decide_pending` (run by
:class:`bot.pipeline.dedup.worker.DedupWorker`) decides them in arrival order with
:func:`process_articles`. The pipeline calls :func:`reindex_articles` with the ids ``save_articles``
reports as updated. See :mod:`bot.pipeline.dedup.engine` for the layers and
:mod:`bot.pipeline.dedup.story` for the story decision.
"""

from bot.pipeline.dedup.engine import decide_pending, process_articles, reindex_articles

__all__ = ["decide_pending", "process_articles", "reindex_articles"]
