"""Tags and following: the ``/tags`` keyboard and its taps, ``/follow``, ``/unfollow``, ``/mute``,
``/unmute``."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from sqlite_utils import Database
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.config.models import Config, TagConfig
from bot.pipeline.store import chats as chat_store
from bot.pipeline.telegram.handlers.command import (
    Ask,
    can_change_settings,
    command,
    is_allowed,
    need_chat,
    settings_lock,
    tapped_chat,
)
from bot.pipeline.telegram.state import get_services
from bot.pipeline.telegram.texts import join_list, plain, t
from bot.pipeline.telegram.topics import Choice, labels, norm, resolve_words, summary

log = logging.getLogger(__name__)

TAG_PREFIX = "tag:"
EVERYTHING_DATA = TAG_PREFIX + "*"   # the "Tout / Everything" button ("*" is never a tag id)


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


def topics_text(config: Config, choice: Choice, language: str) -> str:
    return summary(config.tags, choice, language)


@command(settings=True)
async def tags_command(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await need_chat(ask) is None:
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
    row, language = await tapped_chat(query, services)
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
    if await need_chat(ask) is None:
        return
    if not words:
        choice = await ask.db(load_choice, ask.chat_id)
        await ask.say(f"{name}_usage", topics=topics_text(ask.config, choice, ask.language))
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
    await ask.reply(f"{text}\n{topics_text(ask.config, new, ask.language)}")


def _tag_command(name: str) -> Callable[..., Any]:
    """The handler of /follow, /unfollow, /mute or /unmute (see ``_TAG_ACTIONS``)."""
    async def handler(ask: Ask, context: ContextTypes.DEFAULT_TYPE) -> None:
        await _change_tags(ask, list(context.args or []), name)

    handler.__name__ = handler.__qualname__ = name
    return command(settings=True)(handler)


follow, unfollow, mute, unmute = (_tag_command(name) for name in ("follow", "unfollow", "mute", "unmute"))
