"""The data path, one sub-package per stage, in the order docs/ARCHITECTURE.md draws it.

Deliberately empty: importing ``bot.pipeline.poll.store`` must not load httpx or feedparser."""
