"""Thin async command handlers: check who may do what, call the store or delivery, answer.

Every command goes through :func:`command`, which answers in the chat's language and applies
the rules in one place: chats outside ``telegram.allow`` get a polite refusal; admin commands
need a bot admin (``telegram.admins``); in groups only group administrators change settings
(``getChatMember``); an over-long command gets a short answer. Database work runs on the
:class:`~bot.store.db.DbExecutor` thread. Text lives in :mod:`bot.telegram.texts`.
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import hashlib
import inspect
import logging
import time
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlite_utils import Database
from telegram import (
    Chat,
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.config.models import Config, TagConfig
from bot.digest import format_time, safe_url, truncate
from bot.store import chats as chat_store
from bot.store import feeds as feed_store
from bot.store.health import disk_full
from bot.telegram import delivery
from bot.telegram.locks import KeyedLocks
from bot.telegram.schedule import reschedule_chat
from bot.telegram.state import Services, get_services
from bot.telegram.texts import (
    admin_command_list,
    command_list,
    duration_text,
    esc,
    join_list,
    pick_language,
    plain,
    t,
)

log = logging.getLogger(__name__)

MAX_COMMAND_CHARS = 512          # a longer command gets "too long" instead of being parsed
MAX_TIMES = 6                    # digest times per chat
SEARCH_LIMIT = 10
MESSAGE_BUDGET = 3800            # characters per answer we split ourselves (/feeds)
TAG_PREFIX = "tag:"
ADMIN_CACHE_SECONDS = 60.0       # a group member's admin status is re-checked after this
GROUP_ANONYMOUS_BOT = 1087968824  # sender of anonymous group admins' messages
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
REPLY_MAX_WAIT = 10.0                # longest flood-control wait a command answer sits out
REPLY_RETRY_DELAYS = (0.5, 1.0)      # seconds before a command answer is sent again after a 5xx/timeout
GROUP_TYPES = (Chat.GROUP, Chat.SUPERGROUP)


# -- who is asking -------------------------------------------------------------------------------


@dataclass
class Ask:
    """One incoming command, resolved: services, language and the chat's row (None: not subscribed)."""

    services: Services
    update: Update
    language: str
    chat: dict[str, Any] | None

    @property
    def config(self) -> Config:
        return self.services.config

    @property
    def chat_id(self) -> int:
        assert self.update.effective_chat is not None
        return self.update.effective_chat.id

    @property
    def in_group(self) -> bool:
        chat = self.update.effective_chat
        return chat is not None and chat.type in GROUP_TYPES

    async def db(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self.services.executor.call(fn, *args)

    async def reply(self, text: str, markup: InlineKeyboardMarkup | None = None) -> Message | None:
        """Answer in the chat. A 5xx, a timeout or a dropped connection is tried again twice
        (0.5 s, then 1 s later): someone is waiting for this answer. A timed-out request may
        have reached Telegram, so the person may, rarely, see the answer twice."""
        message = self.update.effective_message
        if message is None:
            return None
        for delay in (*REPLY_RETRY_DELAYS, None):
            try:
                return await message.reply_text(text, parse_mode=ParseMode.HTML,
                                                link_preview_options=NO_PREVIEW, reply_markup=markup)
            except BadRequest:
                raise                      # our message is wrong: sending it again cannot help
            except RetryAfter as exc:      # flood control: wait as told, if not for too long
                wait = delivery.retry_after_seconds(exc)
                if delay is None or wait > REPLY_MAX_WAIT:
                    raise
                log.info("answer to chat %s: Telegram asks to wait %.0f s", self.chat_id, wait)
                await asyncio.sleep(wait)
            except (TimedOut, NetworkError) as exc:
                if delay is None:
                    raise
                log.info("answer to chat %s failed (%s); trying again in %.1f s", self.chat_id, exc, delay)
                await asyncio.sleep(delay)
        return None

    async def say(self, key: str, **values: object) -> Message | None:
        return await self.reply(t(self.language, key, **values))


def is_bot_admin(config: Config, update: Update) -> bool:
    user = update.effective_user
    chat = update.effective_chat
    admins = set(config.telegram.admins)
    return (user is not None and user.id in admins) or (
        chat is not None and chat.type == Chat.PRIVATE and chat.id in admins
    )


def is_allowed(config: Config, update: Update) -> bool:
    allow = config.telegram.allow
    if allow is None:
        return True
    chat = update.effective_chat
    return (chat is not None and chat.id in allow) or is_bot_admin(config, update)


async def can_change_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Private chats: yes. Groups: group administrators (and anonymous admins) only."""
    chat = update.effective_chat
    if chat is None:
        return False
    if chat.type not in GROUP_TYPES:
        return True
    message = update.effective_message
    if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True                                   # an anonymous administrator
    user = update.effective_user
    if user is None or user.id == GROUP_ANONYMOUS_BOT:
        return user is not None
    services = get_services(context.bot_data)
    cache = services.admin_cache
    now = time.monotonic()
    cached = cache.get((chat.id, user.id))
    if cached is not None and cached[1] > now:
        return cached[0]
    member = await context.bot.get_chat_member(chat.id, user.id)
    is_admin = member.status in (ChatMember.OWNER, ChatMember.ADMINISTRATOR)
    if len(cache) > 10_000:
        cache.clear()
    cache[(chat.id, user.id)] = (is_admin, now + ADMIN_CACHE_SECONDS)
    return is_admin


def _user_language(update: Update) -> str | None:
    user = update.effective_user
    return user.language_code if user is not None else None


def _load_chat(db: Database, chat_id: int, language: str, private: bool) -> dict[str, Any] | None:
    """The chat row; a private chat follows its user's Telegram language."""
    row = chat_store.get_chat(db, chat_id)
    if row is not None and private and row["language"] != language:
        chat_store.set_language(db, chat_id, language)
        row["language"] = language
    return row


Handler = Callable[[Ask, ContextTypes.DEFAULT_TYPE], Awaitable[None]]
# One settings change at a time per chat (two quick taps must not redraw out of order).
settings_lock = KeyedLocks()


def command(*, settings: bool = False, admin: bool = False) -> Callable[[Handler], Callable[..., Any]]:
    """Wrap a handler with the shared checks (allow list, admin, group admin, length)."""

    def wrap(handler: Handler) -> Callable[..., Any]:
        @functools.wraps(handler)
        async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            services = get_services(context.bot_data)
            chat = update.effective_chat
            if chat is None:
                return
            user_lang = _user_language(update)
            private = chat.type == Chat.PRIVATE
            code = pick_language(user_lang, None, services.config.telegram.language)
            user_picked = (user_lang or "").split("-")[0].lower() in ("fr", "en")
            row = await services.executor.call(_load_chat, chat.id, code, private and user_picked)
            language = pick_language(user_lang, row["language"] if row else None,
                                     services.config.telegram.language)
            ask = Ask(services, update, language, row)
            text = update.effective_message.text if update.effective_message else ""
            if text and len(text) > MAX_COMMAND_CHARS:
                await ask.say("too_long", n=len(text), max=MAX_COMMAND_CHARS)
                return
            if not is_allowed(services.config, update):
                await ask.say("not_allowed")
                return
            if admin and not is_bot_admin(services.config, update):
                await ask.say("admin_only")
                return
            if settings and not await can_change_settings(update, context):
                await ask.say("group_admin_only")
                return
            if settings:
                async with settings_lock(chat.id):      # updates run concurrently: one change at a time
                    await handler(ask, context)
            else:
                await handler(ask, context)

        return run

    return wrap


async def _need_chat(ask: Ask) -> dict[str, Any] | None:
    if ask.chat is None:
        await ask.say("not_subscribed_group" if ask.in_group else "not_subscribed")
    return ask.chat


# -- tags ----------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    """Case-, accent- and separator-insensitive form used to match tag names."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "-".join("".join(c if c.isalnum() else " " for c in plain).split())


def _tag_names(tags: tuple[TagConfig, ...]) -> dict[str, str]:
    """Normalised id and labels → tag id."""
    names: dict[str, str] = {}
    for tag in tags:
        names[_norm(tag.id)] = tag.id
        for label in tag.labels.values():
            names.setdefault(_norm(label), tag.id)
    return names


def resolve_tag(tags: tuple[TagConfig, ...], word: str) -> tuple[str | None, str | None]:
    """(tag id, None) for a known id or label; (None, closest tag id or None) otherwise."""
    names = _tag_names(tags)
    key = _norm(word)
    if key in names:
        return names[key], None
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
    return None, (names[close[0]] if close else None)


def callback_data(tag_id: str) -> str:
    """``tag:<id>``, or a short hash for ids too long for Telegram's 64-byte callback data."""
    data = TAG_PREFIX + tag_id
    if len(data.encode()) <= 64:
        return data
    return TAG_PREFIX + "#" + hashlib.sha1(tag_id.encode()).hexdigest()[:16]


def tag_from_callback(tags: tuple[TagConfig, ...], data: str) -> str | None:
    for tag in tags:
        if callback_data(tag.id) == data:
            return tag.id
    return None


def tags_keyboard(tags: tuple[TagConfig, ...], followed: set[str], language: str) -> InlineKeyboardMarkup:
    """Two tags per row, labels in ``language``, ✓ on the followed ones."""
    buttons = [
        InlineKeyboardButton(("✓ " if tag.id in followed else "") + tag.label(language),
                             callback_data=callback_data(tag.id))
        for tag in sorted(tags, key=lambda tg: _norm(tg.label(language)))
    ]
    return InlineKeyboardMarkup([buttons[i:i + 2] for i in range(0, len(buttons), 2)])


def _labels(config: Config, ids: list[str] | set[str], language: str) -> str:
    by_id = {tag.id: tag for tag in config.tags}
    names = sorted((by_id[i].label(language) if i in by_id else i for i in ids), key=_norm)
    return join_list(names, language)


def _tags_summary(config: Config, followed: set[str], language: str) -> str:
    if not followed or followed >= {tag.id for tag in config.tags}:
        return t(language, "all_tags")
    return _labels(config, followed, language)


# -- subscribe / pause ---------------------------------------------------------------------------


def _subscribe(db: Database, chat_id: int, kind: str, title: str, language: str, config: Config,
               now: float) -> tuple[bool, set[str], list[str], str]:
    """Create (default times, no tag chosen = every story, future tags included) or resume the
    chat; (new?, tags, times, timezone)."""
    with db.atomic():
        new = chat_store.get_chat(db, chat_id) is None
        row = chat_store.upsert_chat(
            db, chat_id, type=kind, title=title, language=language, times=list(config.digest.times),
            timezone=config.digest.timezone, now=now,
        )
        return new, chat_store.chat_tags(db, chat_id), chat_store.chat_times(db, chat_id), row["timezone"]


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
    new, tags, times, timezone = await ask.db(
        _subscribe, chat.id, chat.type, _chat_title(ask.update), ask.language, ask.config,
        ask.services.clock(),
    )
    await reschedule_chat(context.application, chat.id)
    await ask.say(
        "welcome" if new else "welcome_back",
        times=join_list(times, ask.language), timezone=timezone,
        tags=_tags_summary(ask.config, tags, ask.language), commands=command_list(ask.language),
        window=duration_text(ask.config.digest.first_window, ask.language),
    )


@command(settings=True)
async def stop(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    row = await _need_chat(ask)
    if row is None:
        return
    if row["state"] == "paused":
        await ask.say("already_stopped")
        return
    await ask.db(chat_store.set_state, ask.chat_id, "paused", "")
    await reschedule_chat(context.application, ask.chat_id)
    await ask.say("stopped")


@command(settings=True)
async def tags_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await _need_chat(ask) is None:
        return
    if not ask.config.tags:
        await ask.say("no_tags_configured")
        return
    followed = await ask.db(chat_store.chat_tags, ask.chat_id)
    shown = followed or {tag.id for tag in ask.config.tags}     # nothing chosen = every tag
    await ask.reply(t(ask.language, "tags_intro"), tags_keyboard(ask.config.tags, shown, ask.language))


def _toggle_tag(db: Database, chat_id: int, tag_id: str, all_ids: set[str]) -> bool:
    """Toggle one tag; True = now followed. "No tag chosen" means every tag, so the first tap
    unfollows from the full set, and following every tag again goes back to "no tag chosen"
    (untagged stories and tags added later included)."""
    with db.atomic():
        followed = chat_store.chat_tags(db, chat_id) or set(all_ids)
        now_followed = tag_id not in followed
        followed = followed | {tag_id} if now_followed else followed - {tag_id}
        chat_store.set_chat_tags(db, chat_id, set() if followed >= all_ids else followed)
    return now_followed


async def tag_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on a tag of the /tags keyboard: toggle it and redraw the keyboard."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    services = get_services(context.bot_data)
    config = services.config
    chat_id = query.message.chat.id
    row = await services.executor.call(chat_store.get_chat, chat_id)
    language = pick_language(query.from_user.language_code if query.from_user else None,
                             row["language"] if row else None, config.telegram.language)
    if not is_allowed(config, update):
        await query.answer(plain(language, "not_allowed"), show_alert=True)
        return
    if not await can_change_settings(update, context):
        await query.answer(plain(language, "group_admin_only"), show_alert=True)
        return
    if row is None:
        await query.answer(plain(language, "not_subscribed"), show_alert=True)
        return
    async with settings_lock(chat_id):
        tag_id = tag_from_callback(config.tags, query.data or "")
        if tag_id is None:
            note = plain(language, "tag_gone")
        else:
            all_ids = {tag.id for tag in config.tags}
            now_followed = await services.executor.call(_toggle_tag, chat_id, tag_id, all_ids)
            label = next(tag.label(language) for tag in config.tags if tag.id == tag_id)
            note = plain(language, "tag_on" if now_followed else "tag_off", label=label)
        followed = await services.executor.call(chat_store.chat_tags, chat_id)
        followed = followed or {tag.id for tag in config.tags}
        await query.answer(note)
        try:
            await query.edit_message_reply_markup(tags_keyboard(config.tags, followed, language))
        except BadRequest as exc:
            # The tap is done and answered; a keyboard that cannot be redrawn (the message was
            # deleted, or is too old to edit) is no error worth the error handler's apology.
            if "not modified" not in str(exc).lower():
                log.info("could not redraw the tags keyboard in chat %s: %s", chat_id, exc)


async def unknown_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap whose data no button of ours carries (forged, or from an older version): answer it,
    or the user's client shows a spinner until Telegram's timeout."""
    query = update.callback_query
    if query is None:
        return
    services = get_services(context.bot_data)
    language = pick_language(query.from_user.language_code if query.from_user else None, None,
                             services.config.telegram.language)
    await query.answer(plain(language, "button_gone"))


def _resolve_words(tags: tuple[TagConfig, ...], words: list[str]) -> list[str] | tuple[str, str | None]:
    """Tag ids named by ``words`` (one multi-word label, or one tag per word), or
    (the unknown word or phrase, the closest tag id) when something does not match."""
    phrase = " ".join(words)
    phrase_id, phrase_close = resolve_tag(tags, phrase)
    if phrase_id is not None:
        return [phrase_id]
    ids: list[str] = []
    for word in words:
        tag_id, suggestion = resolve_tag(tags, word)
        if tag_id is None:
            if len(words) > 1 and phrase_close is not None:
                return phrase, phrase_close
            return word, suggestion
        ids.append(tag_id)
    return ids


async def _change_tags(ask: Ask, words: list[str], follow: bool) -> None:
    row = await _need_chat(ask)
    if row is None:
        return
    name = "follow" if follow else "unfollow"
    all_ids = {tag.id for tag in ask.config.tags}
    followed: set[str] = await ask.db(chat_store.chat_tags, ask.chat_id)
    if not words:
        listed = all_ids if follow else followed or all_ids
        await ask.say(f"{name}_usage", tags=", ".join(sorted(listed)) or "—")
        return
    ids = _resolve_words(ask.config.tags, words)
    if isinstance(ids, tuple):
        word, suggestion = ids
        if suggestion:
            await ask.say("unknown_tag_suggest", word=word, command=name, suggestion=suggestion)
        else:
            await ask.say("unknown_tag", word=word, tags=", ".join(sorted(all_ids)) or "—")
        return
    current = set(followed) or set(all_ids)          # nothing followed = everything
    if follow:
        already = [i for i in ids if i in current]
        if already and len(already) == len(ids):
            await ask.say("already_followed", labels=_labels(ask.config, already, ask.language))
            return
        new = set(followed) | set(ids)
        if new >= all_ids:
            new = set()                                   # every tag again = everything
    else:
        missing = [i for i in ids if i not in current]
        if missing and len(missing) == len(ids):
            await ask.say("not_followed", labels=_labels(ask.config, missing, ask.language))
            return
        new = current - set(ids)
    await ask.db(chat_store.set_chat_tags, ask.chat_id, new)
    await ask.say("followed" if follow else "unfollowed", labels=_labels(ask.config, ids, ask.language))
    if not new:
        await ask.say("now_everything")


@command(settings=True)
async def follow(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _change_tags(ask, list(context.args or []), follow=True)


@command(settings=True)
async def unfollow(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _change_tags(ask, list(context.args or []), follow=False)


# -- digest, schedule ----------------------------------------------------------------------------


@command()
async def digest(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await _need_chat(ask) is None:
        return
    outcome = await delivery.deliver_digest(
        context.bot, ask.services.executor, ask.config, ask.chat_id, reason="command",
    )
    log.info("/digest for chat %s: %s, %d part(s)", ask.chat_id, outcome.status, outcome.parts_sent)
    if outcome.status == "failed":
        await ask.say("digest_failed")
    elif outcome.status == "skipped":
        await ask.say("not_subscribed_group" if ask.in_group else "not_subscribed")
    if outcome.chat_id != ask.chat_id:
        await reschedule_chat(context.application, ask.chat_id, outcome.chat_id)


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
    row = await _need_chat(ask)
    if row is None:
        return
    args = list(context.args or [])
    if not args:
        times = await ask.db(chat_store.chat_times, ask.chat_id)
        await ask.say("time_usage", max=MAX_TIMES, times=join_list(times, ask.language) or "—",
                      timezone=row["timezone"])
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
    await ask.say("time_ok", times=join_list(times, ask.language), timezone=row["timezone"])


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


def resolve_timezone(value: str) -> tuple[str | None, str | None]:
    """(canonical zone, None) or (None, suggestion or None). Never raises."""
    key = value.strip().lower()
    if not key or len(key) > 64:
        return None, None
    zones = _zones()
    if key in zones:
        return zones[key], None
    close = difflib.get_close_matches(key, list(zones), n=1, cutoff=0.75)
    return None, (zones[close[0]] if close else None)


@command(settings=True)
async def timezone_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    row = await _need_chat(ask)
    if row is None:
        return
    value = " ".join(context.args or []).strip()
    if not value:
        await ask.say("timezone_usage", timezone=row["timezone"])
        return
    zone, suggestion = resolve_timezone(value)
    if zone is None:
        shown = truncate(value, 40)
        if suggestion:
            await ask.say("timezone_suggest", value=shown, suggestion=suggestion)
        else:
            await ask.say("timezone_invalid", value=shown)
        return
    await ask.db(chat_store.set_timezone, ask.chat_id, zone)
    await reschedule_chat(context.application, ask.chat_id)
    times = await ask.db(chat_store.chat_times, ask.chat_id)
    local = datetime.fromtimestamp(ask.services.clock(), ZoneInfo(zone)).strftime("%H:%M")
    await ask.say("timezone_ok", timezone=zone, local=local, times=join_list(times, ask.language) or "—")


# -- search, settings, help ----------------------------------------------------------------------


def search_line(row: dict[str, Any], *, tz: str, now: float, language: str) -> str:
    title = esc(truncate(" ".join(str(row.get("title") or "—").split()), 150))
    url = safe_url(str(row.get("link") or ""))
    head = f'<a href="{esc(url, attribute=True)}">{title}</a>' if url else title
    source = esc(truncate(str(row.get("source") or ""), 40))
    count = int(row.get("source_count") or 1)
    sources = f"{source} +{count - 1}" if count > 1 and source else source
    when = format_time(float(row.get("published_at") or now), tz=tz, now=now, language=language)
    return f"• {head} — {sources + ', ' if sources else ''}{when}"


@command()
async def search(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    words = " ".join(context.args or []).strip()
    if not words:
        await ask.say("search_usage")
        return
    rows = await ask.db(chat_store.search_stories, words, SEARCH_LIMIT)
    if not rows:
        await ask.say("search_none", words=truncate(words, 60))
        return
    tz = ask.chat["timezone"] if ask.chat else ask.config.digest.timezone
    now = ask.services.clock()
    lines = [t(ask.language, "search_header", words=truncate(words, 60), n=len(rows))]
    lines += [search_line(row, tz=tz, now=now, language=ask.language) for row in rows]
    await ask.reply("\n".join(lines))


def _when(ts: float | None, tz: str, language: str, now: float) -> str:
    if not ts:
        return t(language, "never")
    return format_time(float(ts), tz=tz, now=now, language=language)


@command()
async def settings_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    row = await _need_chat(ask)
    if row is None:
        return
    tags = await ask.db(chat_store.chat_tags, ask.chat_id)
    times = await ask.db(chat_store.chat_times, ask.chat_id)
    tz = row["timezone"]
    await ask.say(
        "settings", state=t(ask.language, f"state_{row['state']}"),
        tags=_tags_summary(ask.config, tags, ask.language),
        times=join_list(times, ask.language) or "—", timezone=tz,
        last=_when(row["last_digest_at"], tz, ask.language, ask.services.clock()),
    )


@command()
async def help_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = t(ask.language, "help", commands=command_list(ask.language))
    if is_bot_admin(ask.config, ask.update):
        text += t(ask.language, "admin_help", commands=admin_command_list(ask.language))
    await ask.reply(text)


# -- admin ---------------------------------------------------------------------------------------


@command(admin=True)
async def stats_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    now = ask.services.clock()
    figures = await ask.db(chat_store.stats, now)
    tz = ask.chat["timezone"] if ask.chat else ask.config.digest.timezone
    last_poll = figures.get("last_poll_at")
    scheduler = ask.services.feed_scheduler
    if scheduler is not None and getattr(scheduler, "last_poll_at", None):
        last_poll = max(float(last_poll or 0), float(scheduler.last_poll_at))
    text = t(
        ask.language, "stats", **{k: figures.get(k, 0) for k in (
            "feeds_ok", "feeds_failing", "feeds_dead", "articles_24h", "clusters_24h",
            "chats_active", "chats_paused", "chats_blocked")},
        last_poll=_when(last_poll, tz, ask.language, now),
        last_digest=_when(figures.get("last_digest_at"), tz, ask.language, now),
        pending=figures.get("pending_digests", 0),
    )
    problem = storage_problem(scheduler, ask.config.storage.path)
    if problem:
        text += "\n" + t(ask.language, "stats_storage", error=problem)
    await ask.reply(text)


def storage_problem(scheduler: object, db_path: str | Path) -> str:
    """The poller's storage failure ("disk full: …"), else a full disk seen on the file system."""
    status = getattr(scheduler, "health", None)
    if status is not None and status.last_error_kind:
        return str(status.last_error)
    return disk_full(db_path) or ""


def pack_lines(lines: list[str], budget: int = MESSAGE_BUDGET) -> list[str]:
    """Join lines into messages of at most ``budget`` characters (a longer line is cut)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = line[:budget]
        if current and len(current) + 1 + len(line) > budget:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


@command(admin=True)
async def feeds_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    rows = await ask.db(feed_store.all_feed_states)
    bad = [r for r in rows if r.get("dead") or (r.get("error_count") or 0) > 0]
    if not bad:
        await ask.say("feeds_none")
        return
    bad.sort(key=lambda r: (not r.get("dead"), -(r.get("error_count") or 0), r["name"]))
    tz = ask.chat["timezone"] if ask.chat else ask.config.digest.timezone
    now = ask.services.clock()
    lines = [t(ask.language, "feeds_header", n=len(bad))]
    for r in bad:
        lines.append(t(
            ask.language, "feed_line", mark="💀" if r.get("dead") else "⚠️", name=truncate(r["name"], 80),
            errors=r.get("error_count") or 0, since=_when(r.get("first_error_at"), tz, ask.language, now),
            error=truncate(" ".join(str(r.get("last_error") or "?").split()), 300),
        ))
    for chunk in pack_lines(lines):
        await ask.reply(chunk)


@command(admin=True)
async def reload_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    callback = ask.services.reload or context.bot_data.get("reload")
    if callback is None:
        await ask.say("reload_unavailable")
        return
    try:
        result = callback()
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:  # noqa: BLE001 - reported to the admin, logged
        log.exception("reload failed")
        await ask.say("reload_failed", error=truncate(str(exc), 500))
        return
    await ask.say("reload_ok", summary=truncate(str(result or "ok"), 3000))


# -- fallbacks -----------------------------------------------------------------------------------


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command no handler took: answer politely, unless it was meant for another bot."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None or not message.text:
        return
    head = message.text.split(maxsplit=1)[0] if message.text.strip() else ""
    name, _, target = head.partition("@")
    if target and target.lower() != (context.bot.username or "").lower():
        return                                           # addressed to another bot
    if chat.type != Chat.PRIVATE and not target:
        return                                           # in groups, only answer when named
    services = get_services(context.bot_data)
    row = await services.executor.call(chat_store.get_chat, chat.id)
    language = pick_language(_user_language(update), row["language"] if row else None,
                             services.config.telegram.language)
    ask = Ask(services, update, language, row)
    if len(message.text) > MAX_COMMAND_CHARS:
        await ask.say("too_long", n=len(message.text), max=MAX_COMMAND_CHARS)
    else:
        await ask.say("unknown_command", command=truncate(name, 40))


async def plain_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text that is not a command, in a private chat: point to /help."""
    services = get_services(context.bot_data)
    chat = update.effective_chat
    if chat is None:
        return
    row = await services.executor.call(chat_store.get_chat, chat.id)
    language = pick_language(_user_language(update), row["language"] if row else None,
                             services.config.telegram.language)
    await Ask(services, update, language, row).say("text_only")


async def my_chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot was blocked, kicked or left a chat: stop sending there (state 'blocked')."""
    change = update.my_chat_member
    if change is None:
        return
    status = change.new_chat_member.status
    if status in (ChatMember.BANNED, ChatMember.LEFT):
        services = get_services(context.bot_data)
        chat_id = change.chat.id
        row = await services.executor.call(chat_store.get_chat, chat_id)
        if row is not None and row["state"] != "blocked":
            await services.executor.call(chat_store.set_state, chat_id, "blocked", f"bot {status}")
            await reschedule_chat(context.application, chat_id)
            log.info("chat %s removed or blocked the bot (%s): marked blocked", chat_id, status)


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error; tell the user something went wrong when there is a chat to tell."""
    if not isinstance(update, Update) or update.effective_chat is None:
        log.error("error outside any chat: %s", context.error, exc_info=context.error)
        return
    if isinstance(context.error, Forbidden):
        # The chat blocked or removed the bot while we were answering: stop sending there.
        chat_id = update.effective_chat.id
        log.info("chat %s refuses messages (%s): marked blocked", chat_id, context.error)
        services = get_services(context.bot_data)
        if await services.executor.call(chat_store.get_chat, chat_id) is not None:
            # Scrubbed like every error text we store: a proxy's or Telegram's description may
            # quote the request URL, which holds the token.
            await services.executor.call(chat_store.set_state, chat_id, "blocked",
                                         delivery.scrub(str(context.error)))
            await reschedule_chat(context.application, chat_id)
        return
    if isinstance(context.error, NetworkError | TimedOut | RetryAfter) and not isinstance(
        context.error, BadRequest
    ):
        # Telegram or the network failed us (a reply is tried three times first): nothing of
        # ours to debug, so no traceback; the person is still told, if Telegram lets us.
        log.warning("error while handling an update in chat %s: Telegram or the network failed: %s",
                    update.effective_chat.id, context.error)
    else:
        log.error("error while handling an update: %s", context.error, exc_info=context.error)
    try:
        services = get_services(context.bot_data)
        language = pick_language(_user_language(update), None, services.config.telegram.language)
        if update.callback_query is not None:
            await update.callback_query.answer(plain(language, "error"))
        elif update.effective_message is not None:
            await update.effective_message.reply_text(t(language, "error"), parse_mode=ParseMode.HTML)
    except (TelegramError, RuntimeError) as exc:
        log.warning("could not tell chat %s about the error: %s", update.effective_chat.id, exc)


COMMAND_HANDLERS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("start", start), ("stop", stop), ("tags", tags_command), ("follow", follow), ("unfollow", unfollow),
    ("digest", digest), ("time", time_command), ("timezone", timezone_command), ("search", search),
    ("settings", settings_command), ("help", help_command), ("stats", stats_command),
    ("feeds", feeds_command), ("reload", reload_command),
)


def register(application: Application) -> None:
    """Add every handler (new messages only: an edited "/start" does nothing) and the error handler."""
    from bot.telegram import admin_feeds  # it imports this module's command() and Ask

    only_new = filters.UpdateType.MESSAGE
    for name, callback in (*COMMAND_HANDLERS, *admin_feeds.COMMAND_HANDLERS):
        application.add_handler(CommandHandler(name, callback, filters=only_new))
    application.add_handler(CallbackQueryHandler(tag_callback, pattern=f"^{TAG_PREFIX}"))
    application.add_handler(CallbackQueryHandler(unknown_callback))
    application.add_handler(ChatMemberHandler(my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(only_new & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(only_new & filters.TEXT & filters.ChatType.PRIVATE, plain_text))
    application.add_error_handler(error_handler)
