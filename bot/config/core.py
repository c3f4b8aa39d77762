"""Readers for the [storage], [polling], [[feeds]] and [cleaning] sections."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import quote_plus, urlsplit

from bot.config.models import (
    CleaningConfig,
    FeedConfig,
    GoogleNewsQuery,
    PollingConfig,
    StorageConfig,
)
from bot.config.schema import Table
from bot.pipeline.fetch.addresses import display_url

GOOGLE_NEWS_TOPICS = (
    "WORLD", "NATION", "BUSINESS", "TECHNOLOGY", "ENTERTAINMENT", "SPORTS", "SCIENCE", "HEALTH",
)
_TAG_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def read_storage(table: Table, base_dir: Path) -> StorageConfig:
    default = StorageConfig()
    path = Path(table.str("path", str(default.path)))
    if not path.is_absolute():
        path = base_dir / path
    retention = table.int("retention_days", default.retention_days, low=1, high=3650)
    table.finish()
    return StorageConfig(path=path, retention_days=retention)


def read_polling(table: Table) -> PollingConfig:
    d = PollingConfig()
    polling = PollingConfig(
        interval=table.duration("interval", d.interval, low=10, high=7 * 86400),
        jitter=table.duration("jitter", d.jitter, low=0, high=86400),
        timeout=table.duration("timeout", d.timeout, low=1, high=600),
        connect_timeout=table.duration("connect_timeout", d.connect_timeout, low=0.5, high=120),
        max_bytes=table.int("max_bytes", d.max_bytes, low=1024, high=200 * 1024 * 1024),
        concurrency=table.int("concurrency", d.concurrency, low=1, high=500),
        per_host_concurrency=table.int("per_host_concurrency", d.per_host_concurrency, low=1, high=100),
        user_agent=table.str("user_agent", d.user_agent),
        max_backoff=table.duration("max_backoff", d.max_backoff, low=60, high=7 * 86400),
        dead_after=table.duration("dead_after", d.dead_after, low=60, high=365 * 86400),
        reload_check=table.duration("reload_check", d.reload_check, low=0.1, high=3600),
        parse_processes=table.int("parse_processes", d.parse_processes, low=0, high=32),
    )
    table.finish()
    return polling


_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


def check_feed_url(url: str) -> str | None:
    """Why ``url`` cannot be polled, or None. Only absolute http(s) URLs are accepted:
    feedparser would otherwise happily read local files. Host and port are checked here, so
    ``newsbot check`` reports what the first poll would otherwise fail on."""
    if not url.strip():
        return "is empty"
    try:
        parts = urlsplit(url.strip())
        hostname = parts.hostname
        port = parts.port
    except ValueError as exc:           # "[::1/feed", "host:99999", "host:http"
        return f"is not a valid URL ({exc}): {display_url(url)!r}"
    if parts.scheme.lower() not in ("http", "https"):
        scheme = parts.scheme or "none (a local path?)"
        return f"must be an http:// or https:// URL, got scheme {scheme}: {display_url(url)!r}"
    if not hostname:
        return f"has no host name: {display_url(url)!r}"
    if port == 0:
        return f"port must be between 1 and 65535, got 0: {display_url(url)!r}"
    if (why := _host_problem(hostname)) is not None:
        return f"{why}: {display_url(url)!r}"
    return None


def _host_problem(host: str) -> str | None:
    """Why ``host`` (as urlsplit gives it: lower-case, no brackets) is no host name, or None."""
    if any(c.isspace() for c in host):
        return f"host name {host!r} contains a space"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return f"host name {host!r} is not a valid (international) domain name"
    labels = ascii_host.rstrip(".").split(".")
    if len(ascii_host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        return f"host name {host!r} has characters or labels a domain name cannot have"
    return None


def google_news_url(q: GoogleNewsQuery) -> str:
    """The RSS URL Google News serves for a search or a topic section."""
    lang = q.hl.split("-")[0]
    ceid = q.ceid or f"{q.gl}:{lang}"
    params = f"hl={quote_plus(q.hl)}&gl={quote_plus(q.gl)}&ceid={quote_plus(ceid, safe=':')}"
    if q.topic:
        return f"https://news.google.com/rss/headlines/section/topic/{q.topic}?{params}"
    return f"https://news.google.com/rss/search?q={quote_plus(q.query)}&{params}"


def _read_google_news(table: Table) -> GoogleNewsQuery:
    query = table.str("query", "")
    topic = table.str("topic", "")
    hl = table.str("hl", "en-US")
    gl = table.str("gl", "US")
    ceid = table.str("ceid", "")
    table.finish()
    if bool(query) == bool(topic):
        table.error("", "give exactly one of query = \"...\" or topic = \"WORLD\"")
    if topic and topic.upper() not in GOOGLE_NEWS_TOPICS:
        table.error("topic", f"must be one of {', '.join(GOOGLE_NEWS_TOPICS)}, got {topic!r}")
    return GoogleNewsQuery(query=query, topic=topic.upper(), hl=hl, gl=gl.upper(), ceid=ceid)


def read_feed(table: Table, polling: PollingConfig) -> FeedConfig | None:
    name = table.str("name")
    url = table.str("url", "")
    google = None
    if table.has("google_news"):
        google = _read_google_news(table.table("google_news"))
        if url:
            table.error("url", "give either url or google_news, not both")
        url = google_news_url(google)
    elif not url:
        table.error("url", "is required (or declare google_news = { query = \"...\" })")
    elif (why := check_feed_url(url)) is not None:
        table.error("url", why)
    interval = table.duration("interval", polling.interval, low=10, high=7 * 86400)
    enabled = table.bool("enabled", True)
    language = table.str("language", "")
    source = table.str("source", "")
    tags = table.str_list("tags")
    for tag in tags:
        if not _TAG_SLUG.match(tag):
            table.error("tags", f"{tag!r} is not a tag id (lower-case words joined by '-')")
    table.finish()
    if not name:
        return None
    return FeedConfig(
        name=name, url=url.strip(), interval=interval, enabled=enabled,
        language=language, tags=tuple(tags), google_news=google, source=source.strip(),
    )


def read_feeds(tables: list[Table], polling: PollingConfig) -> tuple[FeedConfig, ...]:
    feeds: list[FeedConfig] = []
    seen: dict[str, str] = {}
    for table in tables:
        feed = read_feed(table, polling)
        if feed is None:
            continue
        if feed.name in seen:
            table.error("name", f"duplicate feed name {feed.name!r} (first at {seen[feed.name]})")
            continue
        seen[feed.name] = table.path
        feeds.append(feed)
    return tuple(feeds)


def read_cleaning(table: Table) -> CleaningConfig:
    patterns = table.str_list("extra_boilerplate")
    for i, pattern in enumerate(patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            table.error(f"extra_boilerplate[{i}]", f"is not a valid regular expression: {exc}")
    table.finish()
    return CleaningConfig(extra_boilerplate=tuple(patterns))


def is_tag_slug(value: str) -> bool:
    return bool(_TAG_SLUG.match(value))
