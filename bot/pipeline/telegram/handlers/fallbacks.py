"""What no command handler took: unknown commands, plain text, unknown button taps, the bot
removed from a chat, and the one error handler."""

from __future__ import annotations

import logging

from telegram import Chat, ChatMember, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ContextTypes

from bot.pipeline.digest import truncate
from bot.pipeline.store import chats as chat_store
from bot.pipeline.telegram import delivery
from bot.pipeline.telegram.handlers.command import MAX_COMMAND_CHARS, Ask, in_turn, tapped_chat, user_language
from bot.pipeline.telegram.schedule import reschedule_chat
from bot.pipeline.telegram.state import get_services
from bot.pipeline.telegram.texts import answer_language, plain, t

log = logging.getLogger(__name__)


async def unknown_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap whose data no button of ours carries (forged, or from an older version): answer it,
    or the user's client shows a spinner until Telegram's timeout."""
    query = update.callback_query
    if query is None:
        return
    _row, language = await tapped_chat(query, get_services(context.bot_data))
    await query.answer(plain(language, "button_gone"))


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
    language = answer_language(user_language(update), row, services.config.telegram.language)
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
    language = answer_language(user_language(update), row, services.config.telegram.language)
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
        language = answer_language(user_language(update), row, services.config.telegram.language)
        if update.callback_query is not None:
            await update.callback_query.answer(plain(language, "error"))
        elif update.effective_message is not None:
            await update.effective_message.reply_text(t(language, "error"), parse_mode=ParseMode.HTML)
    except (TelegramError, RuntimeError) as exc:
        log.warning("could not tell chat %s about the error: %s", update.effective_chat.id, exc)
