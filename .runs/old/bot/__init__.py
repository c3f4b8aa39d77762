"""newsbot: news feeds in, one entry per story, tagged, delivered as Telegram digests."""

__version__ = "0.1.0"
