"""Typed records passed between pipeline stages (no dicts across module boundaries)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FetchResult:
    """What one HTTP poll of a feed produced.

    ``not_modified`` is True for a 304: ``body`` is then empty and nothing needs parsing.
    ``permanent_url`` is set when a 301/308 moved the feed for good.
    """

    url: str
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    final_url: str = ""
    permanent_url: str | None = None
    elapsed: float = 0.0


@dataclass(frozen=True)
class RelatedLink:
    """One item of a Google News related-coverage list: another outlet's take on the story."""

    title: str
    url: str
    source: str


@dataclass
class Article:
    """One normalised feed entry, ready to store. Times are UTC epoch seconds."""

    guid: str
    link: str
    canonical_url: str
    title: str
    source: str
    published_at: float
    fetched_at: float
    summary: str = ""
    summary_raw: str = ""
    language: str = ""
    source_url: str = ""
    author: str = ""
    is_google_news: bool = False
    related: list[RelatedLink] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)   # tag id -> matched text


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed document: its feed-level facts and its normalised articles."""

    version: str
    title: str
    link: str
    language: str
    bozo: bool
    bozo_message: str
    ttl_seconds: float | None
    articles: list[Article]


@dataclass(frozen=True)
class FeedPollOutcome:
    """The result of polling one feed once, for the per-feed table and the logs."""

    feed: str
    status: str                  # "ok", "not-modified", "error", "skipped"
    http_status: int | None = None
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str = ""
    bozo: str = ""
    elapsed: float = 0.0
    article_ids: tuple[int, ...] = ()
    storage: str = ""            # the database failed (bot.pipeline.store.health kind: "disk-full", ...)
