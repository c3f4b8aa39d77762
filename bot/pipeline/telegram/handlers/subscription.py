"""Subscription and settings: ``/start``, ``/stop``, ``/lang``, ``/time``, ``/timezone``, ``/settings``,
``/help``."""

from __future__ import annotations

import difflib
import functools
import re
from datetime import datetime
from zoneinfo import ZoneInfo, available_timezones

from sqlite_utils import Database
from telegram import Update
from telegram.ext import ContextTypes

from bot.config.models import Config
from bot.pipeline.digest import truncate
from bot.pipeline.store import chats as chat_store
from bot.pipeline.telegram.handlers.command import Ask, command, is_bot_admin, need_chat, when_text
from bot.pipeline.telegram.handlers.following import load_choice, topics_text
from bot.pipeline.telegram.schedule import reschedule_chat
from bot.pipeline.telegram.texts import (
    LANGUAGES,
    admin_command_list,
    command_list,
    duration_text,
    join_list,
    t,
    zone_label,
)
from bot.pipeline.telegram.topics import Choice

MAX_TIMES = 6                    # digest times per chat


def _subscribe(db: Database, chat_id: int, kind: str, title: str, language: str, config: Config,
               now: float) -> tuple[bool, Choice, list[str], str]:
    """Create (default times, following everything, future tags included) or resume the chat;
    (new?, topics, times, timezone)."""
    with db.atomic():
        new = chat_store.get_chat(db, chat_id) is None
        row = chat_store.upsert_chat(
            db, chat_id, type=kind, title=title, language=language, times=list(config.digest.times),
            timezone=config.digest.timezone, now=now,
        )
        return new, load_choice(db, chat_id), chat_store.chat_times(db, chat_id), row["timezone"]


def _chat_title(update: Update) -> str:
    chat = update.effective_chat
    assert chat is not None
    if chat.title:
        return chat.title
    user = update.effective_user
    return (user.full_name if user else "") or (chat.username or str(chat.id))


@command(settings=True)
async def start(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = ask.update.effective_chat
    assert chat is not None
    new, choice, times, timezone = await ask.db(
        _subscribe, chat.id, chat.type, _chat_title(ask.update), ask.language, ask.config,
        ask.services.clock(),
    )
    await reschedule_chat(context.application, chat.id)
    await ask.say(
        "welcome" if new else "welcome_back",
        times=join_list(times, ask.language), timezone=zone_label(timezone),
        topics=topics_text(ask.config, choice, ask.language), commands=command_list(ask.language),
        window=duration_text(ask.config.digest.first_window, ask.language),
    )


@command(settings=True)
async def stop(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    row = await need_chat(ask)
    if row is None:
        return
    if row["state"] == "paused":
        await ask.say("already_stopped")
        return
    await ask.db(chat_store.set_state, ask.chat_id, "paused", "")
    await reschedule_chat(context.application, ask.chat_id)
    await ask.say("stopped")


@command(settings=True)
async def lang_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await need_chat(ask) is None:
        return
    value = " ".join(context.args or []).strip().lower()
    if value not in LANGUAGES:
        await ask.say("lang_usage")
        return
    await ask.db(functools.partial(chat_store.set_language, chosen=True), ask.chat_id, value)
    ask.language = value
    await ask.say("lang_ok")


def parse_time(value: str) -> str | None:
    """"7:30", "07h30", "7.30", "7" → "07:30" / "07:00"; None if not a time of day."""
    text = value.strip().lower().replace("h", ":").replace(".", ":")
    if text.endswith(":"):
        text += "00"
    if text.isdigit() and len(text) <= 2:
        text += ":00"
    try:
        return chat_store.normalize_time(text)
    except ValueError:
        return None


@command(settings=True)
async def time_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    row = await need_chat(ask)
    if row is None:
        return
    args = list(context.args or [])
    if not args:
        times = await ask.db(chat_store.chat_times, ask.chat_id)
        await ask.say("time_usage", max=MAX_TIMES, times=join_list(times, ask.language) or "—",
                      timezone=zone_label(row["timezone"]))
        return
    parsed: list[str] = []
    for value in args:
        hhmm = parse_time(value)
        if hhmm is None:
            await ask.say("time_invalid", value=truncate(value, 40))
            return
        parsed.append(hhmm)
    times = sorted(set(parsed))
    if len(times) > MAX_TIMES:
        await ask.say("time_too_many", max=MAX_TIMES)
        return
    await ask.db(chat_store.set_chat_times, ask.chat_id, times)
    await reschedule_chat(context.application, ask.chat_id)
    await ask.say("time_ok", times=join_list(times, ask.language), timezone=zone_label(row["timezone"]))


@functools.lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    """Lower-cased names (and city names) → canonical time zone name."""
    zones: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if name in ("Factory", "localtime") or name.startswith(("posix", "right/", "Etc/GMT")):
            continue
        zones[name.lower()] = name
        city = name.rsplit("/", 1)[-1].lower()
        zones.setdefault(city, name)
        zones.setdefault(city.replace("_", " "), name)
    for name in ("UTC", "Etc/UTC"):
        zones[name.lower()] = "UTC"
    return zones


_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?:(?::|h)?(\d{2}))?$", re.ASCII)
MAX_OFFSET_HOURS = {"+": 14, "-": 12}     # the Etc/GMT zones that exist


def parse_offset(value: str) -> tuple[int, int] | None:
    """"UTC+2", "+02:00", "GMT-5", "+0530" → (signed hours, minutes); None if not an offset."""
    match = _OFFSET.match(value.strip().lower())
    if not match:
        return None
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if minutes >= 60:
        return None
    return (hours if sign == "+" else -hours), minutes


def offset_zone(hours: int, minutes: int) -> str | None:
    """A fixed offset as the IANA zone that is exactly it ("Etc/GMT-2" is UTC+2: POSIX signs are
    inverted); None for offsets no such zone has (half hours, beyond -12/+14)."""
    if minutes or not -MAX_OFFSET_HOURS["-"] <= hours <= MAX_OFFSET_HOURS["+"]:
        return None
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"


def resolve_timezone(value: str) -> tuple[str | None, str | None]:
    """(canonical zone, None) or (None, suggestion or None). Never raises.

    A fixed offset ("UTC+2", "+02:00") is its Etc/GMT zone; one without such a zone gives
    (None, None) here (the handler explains).
    """
    key = value.strip().lower()
    if not key or len(key) > 64:
        return None, None
    offset = parse_offset(key)
    if offset is not None:
        return offset_zone(*offset), None
    zones = _zones()
    if key in zones:
        return zones[key], None
    close = difflib.get_close_matches(key, list(zones), n=1, cutoff=0.75)
    return None, (zones[close[0]] if close else None)


@command(settings=True)
async def timezone_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    row = await need_chat(ask)
    if row is None:
        return
    value = " ".join(context.args or []).strip()
    if not value:
        await ask.say("timezone_usage", timezone=row["timezone"])
        return
    zone, suggestion = resolve_timezone(value)
    if zone is None:
        shown = truncate(value, 40)
        if parse_offset(value) is not None:
            await ask.say("timezone_offset_unsupported", value=shown)
        elif suggestion:
            await ask.say("timezone_suggest", value=shown, suggestion=suggestion)
        else:
            await ask.say("timezone_invalid", value=shown)
        return
    await ask.db(chat_store.set_timezone, ask.chat_id, zone)
    await reschedule_chat(context.application, ask.chat_id)
    times = await ask.db(chat_store.chat_times, ask.chat_id)
    local = datetime.fromtimestamp(ask.services.clock(), ZoneInfo(zone)).strftime("%H:%M")
    key = "timezone_fixed_ok" if zone.startswith("Etc/") else "timezone_ok"
    await ask.say(key, timezone=zone_label(zone), local=local, times=join_list(times, ask.language) or "—")


@command()
async def settings_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    row = await need_chat(ask)
    if row is None:
        return
    choice = await ask.db(load_choice, ask.chat_id)
    times = await ask.db(chat_store.chat_times, ask.chat_id)
    tz = row["timezone"]
    await ask.say(
        "settings", state=t(ask.language, f"state_{row['state']}"),
        topics=topics_text(ask.config, choice, ask.language),
        times=join_list(times, ask.language) or "—", timezone=zone_label(tz),
        last=when_text(row["last_digest_at"], tz, ask.language, ask.services.clock()),
    )


@command()
async def help_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = t(ask.language, "help", commands=command_list(ask.language),
             max=ask.config.digest.max_stories)
    if is_bot_admin(ask.config, ask.update):
        text += t(ask.language, "admin_help", commands=admin_command_list(ask.language))
    await ask.reply(text)
