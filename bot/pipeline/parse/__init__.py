"""Bytes to :class:`bot.models.Article` records: feed parsing, normalisation and the worker processes."""
