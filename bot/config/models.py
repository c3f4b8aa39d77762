"""The configuration as frozen dataclasses, built once per load and passed in explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_USER_AGENT = "newsbot/0.1 (+https://github.com/newsbot/newsbot; feed reader)"
DEFAULT_PARSE_PROCESSES = min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class StorageConfig:
    path: Path = Path("data/newsbot.db")
    retention_days: int = 30


@dataclass(frozen=True)
class PollingConfig:
    interval: float = 900.0          # seconds between polls of one feed
    jitter: float = 30.0             # random extra delay, seconds
    timeout: float = 20.0            # total time for one fetch, seconds
    connect_timeout: float = 10.0
    max_bytes: int = 5 * 1024 * 1024
    concurrency: int = 200
    per_host_concurrency: int = 4
    user_agent: str = DEFAULT_USER_AGENT
    max_backoff: float = 86400.0     # cap of the exponential backoff of a failing feed
    dead_after: float = 3 * 86400.0  # failing this long marks a feed dead
    reload_check: float = 5.0        # how often the running bot looks at the config's mtime
    parse_processes: int = DEFAULT_PARSE_PROCESSES   # 0: parse in a thread of the main process


@dataclass(frozen=True)
class GoogleNewsQuery:
    query: str = ""
    topic: str = ""
    hl: str = "en-US"
    gl: str = "US"
    ceid: str = ""


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str
    interval: float
    enabled: bool = True
    language: str = ""
    tags: tuple[str, ...] = ()
    google_news: GoogleNewsQuery | None = None
    source: str = ""     # publisher name shown for this feed's articles (default: the feed's title)


@dataclass(frozen=True)
class CleaningConfig:
    extra_boilerplate: tuple[str, ...] = ()   # regexes, matched against whole lines / title prefixes


@dataclass(frozen=True)
class TagConfig:
    id: str
    labels: dict[str, str]
    keywords: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    min_mentions: int = 1
    priority: bool = False

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels.get("en") or next(
            iter(self.labels.values()), self.id
        )


@dataclass(frozen=True)
class ChannelConfig:
    chat: str | int
    tags: tuple[str, ...] = ()
    times: tuple[str, ...] = ()


@dataclass(frozen=True)
class TelegramConfig:
    token_env: str = "TELEGRAM_BOT_TOKEN"
    api_base_url: str = "https://api.telegram.org/bot"
    admins: tuple[int, ...] = ()
    allow: tuple[int, ...] | None = None    # None = everyone
    language: str = "fr"
    channels: tuple[ChannelConfig, ...] = ()
    token_file: str = ""        # read the token from this file instead (Docker secrets, systemd credentials)


@dataclass(frozen=True)
class MetricsConfig:
    listen: str = ""            # "host:port" of /healthz and /metrics; "" = off
    host: str = ""
    port: int = 0


@dataclass(frozen=True)
class DigestConfig:
    times: tuple[str, ...] = ("08:00", "19:00")
    timezone: str = "Europe/Paris"
    max_stories: int = 12
    empty: str = "skip"                   # or "say"
    first_window: float = 86400.0         # what a chat's first digest covers
    priority_min_sources: int = 3


@dataclass(frozen=True)
class Config:
    path: Path
    storage: StorageConfig = field(default_factory=StorageConfig)
    polling: PollingConfig = field(default_factory=PollingConfig)
    feeds: tuple[FeedConfig, ...] = ()
    cleaning: CleaningConfig = field(default_factory=CleaningConfig)
    tags: tuple[TagConfig, ...] = ()
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)

    def feed(self, name: str) -> FeedConfig | None:
        return next((f for f in self.feeds if f.name == name), None)

    @property
    def db_path(self) -> Path:
        return self.storage.path
