"""One exception tree for newsbot.

    NewsbotError
    ├── ConfigError          the config file is missing, malformed or invalid (carries every problem)
    ├── FeedError(url)       something went wrong with one feed
    │   ├── FetchError       network, HTTP status, timeout, size cap, redirects
    │   └── ParseError       the body is not a feed
    ├── StorageError(kind)   the database could not be opened, migrated or written
    └── DeliveryError        Telegram refused or failed to take a message

Foreign exceptions (httpx, sqlite3, telegram) are translated once, where they are caught, with
``raise ... from exc``; everything above the edges deals only with these.
"""

from __future__ import annotations


class NewsbotError(Exception):
    """Root of every error newsbot raises on purpose."""


class ConfigError(NewsbotError):
    """The configuration cannot be used. ``problems`` lists every message found, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class FeedError(NewsbotError):
    """A problem with one feed; ``url`` says which."""

    def __init__(self, message: str, url: str = ""):
        self.url = url
        super().__init__(message)


class FetchError(FeedError):
    """The feed could not be downloaded (network, HTTP status, timeout, too large...).

    ``retry_after`` is set (seconds) when the server asked us to wait; ``status`` holds the HTTP
    status when there was one.
    """

    def __init__(
        self,
        message: str,
        url: str = "",
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, url)
        self.status = status
        self.retry_after = retry_after


class ParseError(FeedError):
    """The body was fetched but is not a usable feed."""


class StorageError(NewsbotError):
    """The database could not be opened, migrated or written. ``kind`` names the cause when
    known ("disk-full", "locked", "corrupt", "io-error"; see ``bot.pipeline.store.health``)."""

    def __init__(self, message: str, kind: str = ""):
        super().__init__(message)
        self.kind = kind


class DeliveryError(NewsbotError):
    """A message could not be delivered to Telegram."""
