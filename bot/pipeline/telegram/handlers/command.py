"""Who is asking, and the one wrapper every command goes through.

:func:`command` answers in the chat's language and applies the rules in one place: chats outside
``telegram.allow`` get a polite refusal; admin commands need a bot admin (``telegram.admins``); in
groups only group administrators change settings (``getChatMember``); an over-long command gets a
short answer. Database work runs on the :class:`~bot.pipeline.store.db.DbExecutor` thread. Text
lives in :mod:`bot.pipeline.telegram.texts`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database
from telegram import (
    CallbackQuery,
    Chat,
    ChatMember,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import ContextTypes

from bot.config.models import Config
from bot.pipeline.digest import format_time
from bot.pipeline.store import chats as chat_store
from bot.pipeline.telegram import delivery
from bot.pipeline.telegram.locks import KeyedLocks
from bot.pipeline.telegram.state import Services, get_services
from bot.pipeline.telegram.texts import answer_language, pick_language, t

log = logging.getLogger(__name__)

MAX_COMMAND_CHARS = 512          # a longer command gets "too long" instead of being parsed
ADMIN_CACHE_SECONDS = 60.0       # a group member's admin status is re-checked after this
GROUP_ANONYMOUS_BOT = 1087968824  # sender of anonymous group admins' messages
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
REPLY_MAX_WAIT = 10.0                # longest flood-control wait a command answer sits out
REPLY_RETRY_DELAYS = (0.5, 1.0)      # seconds before a command answer is sent again after a 5xx/timeout
GROUP_TYPES = (Chat.GROUP, Chat.SUPERGROUP)


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


def user_language(update: Update) -> str | None:
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
    user_lang = user_language(update)
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


async def need_chat(ask: Ask) -> dict[str, Any] | None:
    if ask.chat is None:
        await ask.say("not_subscribed_group" if ask.in_group else "not_subscribed")
    return ask.chat


async def tapped_chat(query: CallbackQuery, services: Services) -> tuple[dict[str, Any] | None, str]:
    """The stored row of the chat whose button was tapped (None when unknown) and the language to
    answer the tapper in (see :func:`answer_language`)."""
    row = None
    if query.message is not None:
        row = await services.executor.call(chat_store.get_chat, query.message.chat.id)
    language = answer_language(query.from_user.language_code if query.from_user else None, row,
                               services.config.telegram.language)
    return row, language


def when_text(ts: float | None, tz: str, language: str, now: float) -> str:
    if not ts:
        return t(language, "never")
    return format_time(float(ts), tz=tz, now=now, language=language)
