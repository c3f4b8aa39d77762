"""Load and validate the TOML config into frozen dataclasses.

This package is the only reader of ``os.environ`` for settings: the config path comes from
``--config``, else ``NEWSBOT_CONFIG``, else ``./config.toml``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from pathlib import Path

from bot.config.core import read_cleaning, read_feeds, read_polling, read_storage
from bot.config.lines import key_lines, line_of
from bot.config.metrics import read_metrics
from bot.config.models import (
    ChannelConfig,
    CleaningConfig,
    Config,
    DigestConfig,
    FeedConfig,
    GoogleNewsQuery,
    MetricsConfig,
    PollingConfig,
    StorageConfig,
    TagConfig,
    TelegramConfig,
)
from bot.config.schema import Table, format_duration, parse_duration
from bot.config.tags import read_tags
from bot.config.telegram import read_digest, read_telegram, read_token
from bot.errors import ConfigError

ENV_CONFIG = "NEWSBOT_CONFIG"
DEFAULT_CONFIG = Path("config.toml")

__all__ = [
    "ChannelConfig", "CleaningConfig", "Config", "DigestConfig", "FeedConfig", "GoogleNewsQuery",
    "MetricsConfig", "PollingConfig", "StorageConfig", "TagConfig", "TelegramConfig", "config_path",
    "format_duration", "keep_start_settings", "load_config", "parse_config", "parse_duration",
    "read_env", "read_token",
]


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the config lives: ``explicit``, else $NEWSBOT_CONFIG, else ./config.toml."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get(ENV_CONFIG):
        return Path(env)
    return DEFAULT_CONFIG


def read_env(name: str) -> str | None:
    """A secret or setting from the environment (the token is never read from the file)."""
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config file; raises ConfigError listing every problem."""
    path = config_path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: config file not found (newsbot init {path} writes the documented example)"]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read the config file: {exc}"]) from None
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        where = f"{path}:{at.group(1)}" if at else f"{path}"
        raise ConfigError([f"{where}: TOML syntax error: {exc}"]) from None
    except RecursionError:                          # tomllib recurses once per nesting level
        raise ConfigError([f"{path}: TOML nested too deeply (arrays or tables inside one another "
                           "thousands of levels deep)"]) from None
    problems: list[str] = []
    top = Table(raw, "", problems)
    base_dir = path.resolve().parent
    storage = read_storage(top.table("storage"), base_dir)
    polling = read_polling(top.table("polling"))
    feeds = read_feeds(top.tables("feeds"), polling)
    cleaning = read_cleaning(top.table("cleaning"))
    tags = read_tags(top.table("tags"))
    telegram = read_telegram(top.table("telegram"))
    digest = read_digest(top.table("digest"))
    metrics = read_metrics(top.table("metrics"))
    top.finish()
    _cross_check(feeds, tags, telegram, problems)
    if problems:
        lines = key_lines(text)
        raise ConfigError([_located(path, p, lines) for p in problems])
    return Config(
        path=path, storage=storage, polling=polling, feeds=feeds, cleaning=cleaning,
        tags=tags, telegram=telegram, digest=digest, metrics=metrics,
    )


def _located(path: Path, problem: str, lines: dict[str, int]) -> str:
    """``config.toml:12: feeds[2].url: has no host name``: file, line, key path, message."""
    line = line_of(problem.partition(": ")[0], lines)
    return f"{path}:{line}: {problem}" if line else f"{path}: {problem}"


def _cross_check(
    feeds: tuple[FeedConfig, ...],
    tags: tuple[TagConfig, ...],
    telegram: TelegramConfig,
    problems: list[str],
) -> None:
    """References between sections: feed and channel tags must be configured tags."""
    known = {t.id for t in tags}
    if not known:
        return
    for i, feed in enumerate(feeds):
        for tag in feed.tags:
            if tag not in known:
                problems.append(f"feeds[{i}].tags: {tag!r} is not a configured tag ([tags.{tag}])")
    for i, channel in enumerate(telegram.channels):
        for tag in channel.tags:
            if tag not in known:
                problems.append(f"telegram.channels[{i}].tags: {tag!r} is not a configured tag")


def keep_start_settings(running: Config, new: Config) -> tuple[Config, list[str]]:
    """``new`` with the settings read only at start-up kept at their ``running`` values (the
    open database, the bot token's variable or file, the Bot API URL, the metrics server), and
    the keys that differed: a reload names them ("restart newsbot for it to apply") instead of
    ignoring them silently."""
    changed = [key for key, old, now in (
        ("storage.path", running.storage.path, new.storage.path),
        ("telegram.token_env", running.telegram.token_env, new.telegram.token_env),
        ("telegram.token_file", running.telegram.token_file, new.telegram.token_file),
        ("telegram.api_base_url", running.telegram.api_base_url, new.telegram.api_base_url),
        ("[metrics]", running.metrics, new.metrics),
    ) if old != now]
    if not changed:
        return new, []
    kept = dataclasses.replace(
        new, storage=dataclasses.replace(new.storage, path=running.storage.path), metrics=running.metrics,
        telegram=dataclasses.replace(new.telegram, token_env=running.telegram.token_env,
                                     token_file=running.telegram.token_file,
                                     api_base_url=running.telegram.api_base_url),
    )
    return kept, changed
