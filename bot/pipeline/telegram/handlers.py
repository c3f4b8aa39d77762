"""Thin async command handlers: check who may do what, call the store or delivery, answer.

Every command goes through :func:`command`, which answers in the chat's language and applies
the rules in one place: chats outside ``telegram.allow`` get a polite refusal; admin commands
need a bot admin (``telegram.admins``); in groups only group administrators change settings
(``getChatMember``); an over-long command gets a short answer. Database work runs on the
:class:`~bot.pipeline.store.db.DbExecutor` thread. Text lives in :mod:`bot.pipeline.telegram.texts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import functools
import hashlib
import inspect
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlite_utils import Database
from telegram import (
    CallbackQuery,
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
from bot.pipeline.digest import format_time, safe_url, truncate
from bot.pipeline.store import chats as chat_store
from bot.pipeline.store import feeds as feed_store
from bot.pipeline.store.health import disk_full
from bot.pipeline.telegram import delivery
from bot.pipeline.telegram.locks import KeyedLocks
from bot.pipeline.telegram.schedule import reschedule_chat
from bot.pipeline.telegram.state import Services, get_services
from bot.pipeline.telegram.texts import (
    LANGUAGES,
    admin_command_list,
    answer_language,
    command_list,
    duration_text,
    esc,
    join_list,
    pick_language,
    plain,
    reload_summary,
    t,
    zone_label,
)
from bot.pipeline.telegram.topics import Choice, labels, norm, resolve_words, summary

log = logging.getLogger(__name__)

MAX_COMMAND_CHARS = 512          # a longer command gets "too long" instead of being parsed
MAX_TIMES = 6                    # digest times per chat
SEARCH_LIMIT = 10
MESSAGE_BUDGET = 3800            # characters per answer we split ourselves (/feeds)
TAG_PREFIX = "tag:"
EVERYTHING_DATA = TAG_PREFIX + "*"   # the "Tout / Everything" button ("*" is never a tag id)
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
    """The chat row; a private chat follows its user's Telegram language unless it chose one
    with /lang."""
    row = chat_store.get_chat(db, chat_id)
    if row is not None and private and row["language"] != language and not row["language_chosen"]:
        chat_store.set_language(db, chat_id, language)
        row["language"] = language
    return row


Handler = Callable[[Ask, ContextTypes.DEFAULT_TYPE], Awaitable[None]]
# One settings change at a time per chat (two quick taps must not redraw out of order).
settings_lock = KeyedLocks()


def command(
    *, settings: bool = False, admin: bool = False, coalesce: str | None = None
) -> Callable[[Handler], Callable[..., Any]]:
    """Wrap a handler with the shared checks (allow list, admin, group admin, length).

    The handler does not run in PTB's update slot: the command is admitted to its chat's turns
    (:class:`~bot.pipeline.telegram.locks.ChatTurns`) and runs in its own task, so a chat whose commands
    wait (delivery lock, per-chat pacing) never holds the slots other chats need. ``coalesce``
    names commands of which one queued per chat is enough (``/digest``): a repeat is answered
    ``{coalesce}_busy`` once, further repeats are dropped.
    """

    def wrap(handler: Handler) -> Callable[..., Any]:
        @functools.wraps(handler)
        async def checked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await _checked(handler, update, context, settings=settings, admin=admin)

        return in_turn(coalesce)(checked)

    return wrap


UpdateHandler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def in_turn(coalesce: str | None = None) -> Callable[[UpdateHandler], UpdateHandler]:
    """Run an update handler in its chat's turn, in its own task (see ``command``): what it
    waits for (locks, the per-chat pacing of its answers) never holds PTB's shared slots."""

    def wrap(handler: UpdateHandler) -> UpdateHandler:
        @functools.wraps(handler)
        async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            chat = update.effective_chat
            if chat is None:
                return
            turns = get_services(context.bot_data).chat_turns
            admitted = turns.admit(chat.id, coalesce)
            if admitted == "run":
                async def in_its_turn() -> None:
                    async with turns.turn(chat.id, coalesce):
                        await handler(update, context)

                context.application.create_task(in_its_turn(), update=update, name=f"chat:{chat.id}")
            elif admitted == "coalesced":
                context.application.create_task(_say_busy(update, context, f"{coalesce}_busy"), update=update)
            else:
                log.info("chat %s: %s dropped (%d updates of this chat already waiting)",
                         chat.id, handler.__name__, turns.queued(chat.id))

        return run

    return wrap


async def _ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Ask:
    """The command resolved: the chat's row (a private chat follows its user's language)."""
    services = get_services(context.bot_data)
    chat = update.effective_chat
    assert chat is not None
    user_lang = _user_language(update)
    private = chat.type == Chat.PRIVATE
    code = pick_language(user_lang, None, services.config.telegram.language)
    user_picked = (user_lang or "").split("-")[0].lower() in ("fr", "en")
    row = await services.executor.call(_load_chat, chat.id, code, private and user_picked)
    language = answer_language(user_lang, row, services.config.telegram.language)
    return Ask(services, update, language, row)


async def _say_busy(update: Update, context: ContextTypes.DEFAULT_TYPE, key: str) -> None:
    ask = await _ask(update, context)
    if is_allowed(ask.config, update):
        await ask.say(key)


async def _checked(handler: Handler, update: Update, context: ContextTypes.DEFAULT_TYPE, *,
                   settings: bool, admin: bool) -> None:
    """The shared checks, then the handler (under the chat's settings lock for a change)."""
    ask = await _ask(update, context)
    text = update.effective_message.text if update.effective_message else ""
    if text and len(text) > MAX_COMMAND_CHARS:
        await ask.say("too_long", n=len(text), max=MAX_COMMAND_CHARS)
        return
    if not is_allowed(ask.config, update):
        await ask.say("not_allowed")
        return
    if admin and not is_bot_admin(ask.config, update):
        await ask.say("admin_only")
        return
    if settings and not await can_change_settings(update, context):
        await ask.say("group_admin_only")
        return
    if settings:
        async with settings_lock(ask.chat_id):        # one change at a time (taps run concurrently)
            await handler(ask, context)
    else:
        await handler(ask, context)


async def _need_chat(ask: Ask) -> dict[str, Any] | None:
    if ask.chat is None:
        await ask.say("not_subscribed_group" if ask.in_group else "not_subscribed")
    return ask.chat


# -- tags ----------------------------------------------------------------------------------------


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


def tags_keyboard(tags: tuple[TagConfig, ...], choice: Choice, language: str) -> InlineKeyboardMarkup:
    """"Tout / Everything" on top (✓ when nothing is chosen), then two tags per row, labels in
    ``language``: ✓ on followed tags only, 🔇 on muted ones."""
    def mark(tag_id: str) -> str:
        return "✓ " if tag_id in choice.follows else "🔇 " if tag_id in choice.mutes else ""

    everything = InlineKeyboardButton(("✓ " if choice.everything else "") + t(language, "everything_button"),
                                      callback_data=EVERYTHING_DATA)
    buttons = [
        InlineKeyboardButton(mark(tag.id) + tag.label(language), callback_data=callback_data(tag.id))
        for tag in sorted(tags, key=lambda tg: norm(tg.label(language)))
    ]
    return InlineKeyboardMarkup([[everything], *(buttons[i:i + 2] for i in range(0, len(buttons), 2))])


def load_choice(db: Database, chat_id: int) -> Choice:
    return Choice(frozenset(chat_store.chat_tags(db, chat_id)), frozenset(chat_store.chat_mutes(db, chat_id)))


def save_choice(db: Database, chat_id: int, choice: Choice) -> None:
    chat_store.set_tag_choice(db, chat_id, follows=choice.follows, mutes=choice.mutes)


def _topics(config: Config, choice: Choice, language: str) -> str:
    return summary(config.tags, choice, language)


# -- subscribe / pause ---------------------------------------------------------------------------


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
        topics=_topics(ask.config, choice, ask.language), commands=command_list(ask.language),
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
    choice = await ask.db(load_choice, ask.chat_id)
    await ask.reply(t(ask.language, "tags_intro"), tags_keyboard(ask.config.tags, choice, ask.language))


def _tap(db: Database, chat_id: int, tag_id: str | None) -> Choice:
    """A tap in /tags (None = "Everything"): the chat's new topics, saved."""
    with db.atomic():
        old = load_choice(db, chat_id)
        new = Choice(frozenset(), old.mutes) if tag_id is None else old.toggle(tag_id)
        save_choice(db, chat_id, new)
    return new


def _tap_note(config: Config, tag_id: str | None, choice: Choice, language: str) -> str:
    if tag_id is None or choice.everything:
        return plain(language, "tap_everything")
    label = next(tag.label(language) for tag in config.tags if tag.id == tag_id)
    return plain(language, "tag_on" if tag_id in choice.follows else "tag_off", label=label)


async def tag_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on the /tags keyboard: follow/unfollow a tag or follow everything; redraw."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    services = get_services(context.bot_data)
    config = services.config
    chat_id = query.message.chat.id
    row, language = await _tapped_chat(query, services)
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
        everything = query.data == EVERYTHING_DATA
        tag_id = None if everything else tag_from_callback(config.tags, query.data or "")
        if tag_id is None and not everything:
            note = plain(language, "tag_gone")
            choice = await services.executor.call(load_choice, chat_id)
        else:
            choice = await services.executor.call(_tap, chat_id, tag_id)
            note = _tap_note(config, tag_id, choice, language)
        await query.answer(note)
        try:
            await query.edit_message_reply_markup(tags_keyboard(config.tags, choice, language))
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
    _row, language = await _tapped_chat(query, get_services(context.bot_data))
    await query.answer(plain(language, "button_gone"))


async def _tapped_chat(query: CallbackQuery, services: Services) -> tuple[dict[str, Any] | None, str]:
    """The stored row of the chat whose button was tapped (None when unknown) and the language to
    answer the tapper in (see :func:`answer_language`)."""
    row = None
    if query.message is not None:
        row = await services.executor.call(chat_store.get_chat, query.message.chat.id)
    language = answer_language(query.from_user.language_code if query.from_user else None, row,
                               services.config.telegram.language)
    return row, language


# How each of /follow, /unfollow, /mute, /unmute changes the topics, and which ids it refuses
# as "nothing to do" (already followed, not followed...), with the answer for them.
_TAG_ACTIONS: dict[str, tuple[Callable[[Choice, set[str]], Choice], Callable[[Choice, str], bool], str]] = {
    "follow": (Choice.follow, lambda c, i: i in c.follows, "already_followed"),
    "unfollow": (Choice.unfollow, lambda c, i: i not in c.follows, "not_followed"),
    "mute": (Choice.mute, lambda c, i: i in c.mutes, "already_muted"),
    "unmute": (Choice.unmute, lambda c, i: i not in c.mutes, "not_muted"),
}


_DONE = {"follow": "followed", "unfollow": "unfollowed", "mute": "muted", "unmute": "unmuted"}


def _apply(db: Database, chat_id: int, name: str, ids: list[str]) -> tuple[Choice, Choice]:
    """(old, new) topics of the chat after ``name`` on ``ids``, saved in one transaction."""
    change = _TAG_ACTIONS[name][0]
    with db.atomic():
        old = load_choice(db, chat_id)
        new = change(old, set(ids))
        if new != old:
            save_choice(db, chat_id, new)
    return old, new


async def _unknown_tag(ask: Ask, name: str, word: str, close: list[str]) -> None:
    if close:
        await ask.say("unknown_tag_suggest", word=word,
                      suggestions=join_list(close, ask.language, alternatives=True),
                      command=name, first=close[0])
    else:
        await ask.say("unknown_tag", word=word)


async def _change_tags(ask: Ask, words: list[str], name: str) -> None:
    if await _need_chat(ask) is None:
        return
    if not words:
        choice = await ask.db(load_choice, ask.chat_id)
        await ask.say(f"{name}_usage", topics=_topics(ask.config, choice, ask.language))
        return
    ids = resolve_words(ask.config.tags, words)
    if isinstance(ids, tuple):
        await _unknown_tag(ask, name, *ids)
        return
    old, new = await ask.db(_apply, ask.chat_id, name, ids)
    nothing_to_do = _TAG_ACTIONS[name][1]
    if all(nothing_to_do(old, i) for i in ids):
        hint = "not_followed_everything" if name == "unfollow" and old.everything else _TAG_ACTIONS[name][2]
        await ask.say(hint, labels=labels(ask.config.tags, ids, ask.language), first=ids[0])
        return
    key = "followed_only" if name == "follow" and old.everything else _DONE[name]
    text = t(ask.language, key, labels=labels(ask.config.tags, ids, ask.language))
    if new.everything and not old.everything:
        text += "\n" + t(ask.language, "now_everything")
    await ask.reply(f"{text}\n{_topics(ask.config, new, ask.language)}")


def _tag_command(name: str) -> Callable[..., Any]:
    """The handler of /follow, /unfollow, /mute or /unmute (see ``_TAG_ACTIONS``)."""
    async def handler(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
        await _change_tags(ask, list(context.args or []), name)

    handler.__name__ = handler.__qualname__ = name
    return command(settings=True)(handler)


follow, unfollow, mute, unmute = (_tag_command(name) for name in ("follow", "unfollow", "mute", "unmute"))


@command(settings=True)
async def lang_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await _need_chat(ask) is None:
        return
    value = " ".join(context.args or []).strip().lower()
    if value not in LANGUAGES:
        await ask.say("lang_usage")
        return
    await ask.db(functools.partial(chat_store.set_language, chosen=True), ask.chat_id, value)
    ask.language = value
    await ask.say("lang_ok")


# -- digest, schedule ----------------------------------------------------------------------------


@command(coalesce="digest")
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


async def more_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap on a digest's "More" button: the next stories of that digest (anyone may read)."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    services = get_services(context.bot_data)
    chat_id = query.message.chat.id
    _row, language = await _tapped_chat(query, services)
    if not is_allowed(services.config, update):
        await query.answer(plain(language, "not_allowed"), show_alert=True)
        return
    try:
        page_id = int((query.data or "")[len(delivery.MORE_PREFIX):])
    except ValueError:
        page_id = 0
    await query.answer()                  # the stories follow as messages; stop the spinner now
    outcome = await delivery.deliver_more(context.bot, services.executor, services.config, chat_id, page_id)
    log.info("more (page %s) for chat %s: %s, %d part(s)", page_id, chat_id, outcome.status,
             outcome.parts_sent)
    if outcome.status in ("gone", "empty", "skipped"):
        key = "more_gone" if outcome.status == "gone" else "more_none"
        await query.message.reply_text(t(language, key), parse_mode=ParseMode.HTML)
    elif outcome.status == "failed":
        await query.message.reply_text(t(language, "digest_failed"), parse_mode=ParseMode.HTML)
    with contextlib.suppress(BadRequest):       # one tap per button: it has done its work
        await query.edit_message_reply_markup(None)


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
    choice = await ask.db(load_choice, ask.chat_id)
    times = await ask.db(chat_store.chat_times, ask.chat_id)
    tz = row["timezone"]
    await ask.say(
        "settings", state=t(ask.language, f"state_{row['state']}"),
        topics=_topics(ask.config, choice, ask.language),
        times=join_list(times, ask.language) or "—", timezone=zone_label(tz),
        last=_when(row["last_digest_at"], tz, ask.language, ask.services.clock()),
    )


@command()
async def help_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = t(ask.language, "help", commands=command_list(ask.language),
             max=ask.config.digest.max_stories)
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


def reload_callback(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> Callable[[], Any] | None:
    """The poller's config reload (``Services.reload``, else ``bot_data["reload"]``), or None when
    this process runs no poller."""
    return ask.services.reload or context.bot_data.get("reload")


async def call_reload(callback: Callable[[], Any]) -> Any:
    """Run a reload callback, plain or async; its summary of what now runs."""
    result = callback()
    if inspect.isawaitable(result):
        result = await result
    return result


@command(admin=True)
async def reload_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    callback = reload_callback(ask, context)
    if callback is None:
        await ask.say("reload_unavailable")
        return
    try:
        result = await call_reload(callback)
    except Exception as exc:  # noqa: BLE001 - reported to the admin, logged
        log.exception("reload failed")
        await ask.say("reload_failed", error=truncate(str(exc), 500))
        return
    await ask.reply(reload_summary(str(result or ""), ask.language))


# -- fallbacks -----------------------------------------------------------------------------------


@in_turn()
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
    language = answer_language(_user_language(update), row, services.config.telegram.language)
    ask = Ask(services, update, language, row)
    if len(message.text) > MAX_COMMAND_CHARS:
        await ask.say("too_long", n=len(message.text), max=MAX_COMMAND_CHARS)
    else:
        await ask.say("unknown_command", command=truncate(name, 40))


@in_turn()
async def plain_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text that is not a command, in a private chat: point to /help."""
    services = get_services(context.bot_data)
    chat = update.effective_chat
    if chat is None:
        return
    row = await services.executor.call(chat_store.get_chat, chat.id)
    language = answer_language(_user_language(update), row, services.config.telegram.language)
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
        if isinstance(context.error, NetworkError) and not isinstance(context.error, BadRequest):
            # getUpdates failing: Telegram unreachable, logged once per change by
            # bot.pipeline.telegram.health.
            log.debug("Telegram request failed outside any chat: %s", context.error)
            return
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
        try:
            row = await services.executor.call(chat_store.get_chat, update.effective_chat.id)
        except Exception:  # noqa: BLE001 - the database may be what failed: answer anyway
            row = None
        language = answer_language(_user_language(update), row, services.config.telegram.language)
        if update.callback_query is not None:
            await update.callback_query.answer(plain(language, "error"))
        elif update.effective_message is not None:
            await update.effective_message.reply_text(t(language, "error"), parse_mode=ParseMode.HTML)
    except (TelegramError, RuntimeError) as exc:
        log.warning("could not tell chat %s about the error: %s", update.effective_chat.id, exc)


COMMAND_HANDLERS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("start", start), ("stop", stop), ("tags", tags_command), ("follow", follow), ("unfollow", unfollow),
    ("mute", mute), ("unmute", unmute), ("lang", lang_command), ("digest", digest),
    ("time", time_command), ("timezone", timezone_command), ("search", search),
    ("settings", settings_command), ("help", help_command), ("stats", stats_command),
    ("feeds", feeds_command), ("reload", reload_command),
)


def register(application: Application) -> None:
    """Add every handler (new messages only: an edited "/start" does nothing) and the error handler."""
    from bot.pipeline.telegram import admin_feeds  # it imports this module's command() and Ask

    only_new = filters.UpdateType.MESSAGE
    for name, callback in (*COMMAND_HANDLERS, *admin_feeds.COMMAND_HANDLERS):
        application.add_handler(CommandHandler(name, callback, filters=only_new))
    application.add_handler(CallbackQueryHandler(tag_callback, pattern=f"^{TAG_PREFIX}"))
    application.add_handler(CallbackQueryHandler(more_callback, pattern=f"^{delivery.MORE_PREFIX}"))
    application.add_handler(CallbackQueryHandler(unknown_callback))
    application.add_handler(ChatMemberHandler(my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(only_new & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(only_new & filters.TEXT & filters.ChatType.PRIVATE, plain_text))
    application.add_error_handler(error_handler)
