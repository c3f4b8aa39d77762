"""Readers for the [telegram] and [digest] sections."""

from __future__ import annotations

import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config.core import check_feed_url, is_tag_slug
from bot.config.models import ChannelConfig, DigestConfig, TelegramConfig
from bot.config.schema import Table
from bot.errors import NewsbotError

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
# A Bot API token is "<bot id>:<35-ish url-safe characters>"; looser than Telegram's own format
# on purpose, so a token cut or padded by a paste is still recognised (and never printed).
_TOKEN_LIKE = re.compile(r"\d{3,}\s*:\s*[A-Za-z0-9_-]{16,}")
LANGUAGES = ("fr", "en")


def check_time(value: str) -> str | None:
    """Why ``value`` is not a HH:MM time of day, or None."""
    if not _TIME.match(value.strip()):
        return f"{value!r} is not a time of day like \"07:30\""
    return None


def check_env_name(value: str) -> str | None:
    """Why ``value`` cannot be ``telegram.token_env``, or None. A value that looks like a token
    is refused without quoting it: the message goes to a terminal, a log or a CI page."""
    if _ENV_NAME.match(value):
        return None
    if _TOKEN_LIKE.search(value) or len(value) > 40:
        return ("looks like a bot token, not the name of an environment variable: put the token "
                "in a variable (export TELEGRAM_BOT_TOKEN=...) and write its name here "
                "(the value is not shown)")
    return f"must be the name of an environment variable (like \"TELEGRAM_BOT_TOKEN\"), got {value!r}"


def check_timezone(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"{name!r} is not a known time zone (like \"Europe/Paris\")"
    return None


def _read_times(table: Table, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    times = table.str_list(key, list(default))
    for value in times:
        if (why := check_time(value)) is not None:
            table.error(key, why)
    return tuple(t.strip().zfill(5) for t in times)


def read_channel(table: Table) -> ChannelConfig:
    chat = table.raw_value("chat")
    if not isinstance(chat, str | int) or isinstance(chat, bool) or chat == "":
        table.error("chat", "must be a channel name like \"@my_channel\" or a numeric chat id")
        chat = ""
    tags = table.str_list("tags")
    for tag in tags:
        if not is_tag_slug(tag):
            table.error("tags", f"{tag!r} is not a tag id")
    times = _read_times(table, "times", ())
    table.finish()
    return ChannelConfig(chat=chat, tags=tuple(tags), times=times)


def read_telegram(table: Table) -> TelegramConfig:
    d = TelegramConfig()
    token_env = table.str("token_env", d.token_env)
    if (why := check_env_name(token_env)) is not None:
        table.error("token_env", why)
        token_env = d.token_env
    token_file = table.str("token_file", d.token_file)
    if _TOKEN_LIKE.fullmatch(token_file.strip()):
        table.error("token_file", "looks like a bot token, not the path of a file holding one: put "
                    "the token in a file and write its path here (the value is not shown)")
        token_file = d.token_file
    if token_file and table.has("token_env"):
        table.error("token_file", "set token_env or token_file, not both")
    base = table.str("api_base_url", d.api_base_url)
    if not base.startswith(("http://", "https://")):
        table.error("api_base_url", "must start with http:// or https://")
    elif (why := check_feed_url(base)) is not None:
        table.error("api_base_url", why)
    admins = table.int_list("admins")
    allow_raw = table.raw_value("allow")
    allow: tuple[int, ...] | None = None
    if allow_raw is None or allow_raw == "everyone":
        allow = None
    elif isinstance(allow_raw, list) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in allow_raw
    ):
        allow = tuple(allow_raw)
    else:
        table.error("allow", "must be \"everyone\" or a list of chat ids")
    language = table.str("language", d.language, choices=LANGUAGES)
    channels = tuple(read_channel(t) for t in table.tables("channels"))
    table.finish()
    return TelegramConfig(
        token_env=token_env, api_base_url=base, admins=tuple(admins), allow=allow,
        language=language, channels=channels, token_file=token_file,
    )


def read_digest(table: Table) -> DigestConfig:
    d = DigestConfig()
    times = _read_times(table, "times", d.times)
    timezone = table.str("timezone", d.timezone)
    if (why := check_timezone(timezone)) is not None:
        table.error("timezone", why)
    digest = DigestConfig(
        times=times,
        timezone=timezone,
        max_stories=table.int("max_stories", d.max_stories, low=1, high=100),
        empty=table.str("empty", d.empty, choices=("skip", "say")),
        first_window=table.duration("first_window", d.first_window, low=60, high=30 * 86400),
        priority_min_sources=table.int("priority_min_sources", d.priority_min_sources, low=1, high=1000),
    )
    table.finish()
    return digest


def read_token(telegram: TelegramConfig, config_dir: Path) -> str:
    """The bot token: the contents of ``token_file`` when set (``$VARS`` expanded, such as
    systemd's ``$CREDENTIALS_DIRECTORY``; relative to the config's folder), else the variable
    named by ``token_env``. Raises a one-line NewsbotError when there is none."""
    if not telegram.token_file:
        value = os.environ.get(telegram.token_env, "").strip()
        if not value:
            raise NewsbotError(
                f"no Telegram bot token: set the environment variable {telegram.token_env} "
                "(the token from @BotFather; [telegram] token_env names the variable)"
            )
        return value
    expanded = os.path.expandvars(telegram.token_file)
    if "$" in expanded:
        raise NewsbotError(f"telegram.token_file {telegram.token_file!r}: a variable in it is not set")
    path = config_dir / Path(expanded).expanduser()
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise NewsbotError(f"telegram.token_file: cannot read the token from {path}: "
                           f"{getattr(exc, 'strerror', None) or exc}") from None
    if not value:
        raise NewsbotError(f"telegram.token_file: {path} is empty (put the token from @BotFather in it)")
    return value
