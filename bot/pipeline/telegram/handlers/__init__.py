"""The Telegram command handlers, one module per concern, and the one :func:`register` that wires them.

- :mod:`.command`: who is asking (:class:`~.command.Ask`) and the :func:`~.command.command` wrapper
  every command goes through (allow list, admins, group admins, length, per-chat turns);
- :mod:`.subscription`: ``/start``, ``/stop``, ``/lang``, ``/time``, ``/timezone``, ``/settings``, ``/help``;
- :mod:`.following`: ``/tags`` and its keyboard, ``/follow``, ``/unfollow``, ``/mute``, ``/unmute``;
- :mod:`.reading`: ``/digest``, the "More" button, ``/search``;
- :mod:`.admin`: ``/stats``, ``/feeds``, ``/reload``; :mod:`.admin_feeds`: ``/addfeed``, ``/removefeed``;
- :mod:`.fallbacks`: unknown commands, plain text, unknown taps, the bot removed, the error handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.pipeline.telegram import delivery
from bot.pipeline.telegram.handlers.admin import feeds_command, reload_command, stats_command
from bot.pipeline.telegram.handlers.admin_feeds import addfeed_command, removefeed_command
from bot.pipeline.telegram.handlers.fallbacks import (
    error_handler,
    my_chat_member,
    plain_text,
    unknown_callback,
    unknown_command,
)
from bot.pipeline.telegram.handlers.following import (
    TAG_PREFIX,
    follow,
    mute,
    tag_callback,
    tags_command,
    unfollow,
    unmute,
)
from bot.pipeline.telegram.handlers.reading import digest, more_callback, search
from bot.pipeline.telegram.handlers.subscription import (
    help_command,
    lang_command,
    settings_command,
    start,
    stop,
    time_command,
    timezone_command,
)

COMMAND_HANDLERS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("start", start), ("stop", stop), ("tags", tags_command), ("follow", follow), ("unfollow", unfollow),
    ("mute", mute), ("unmute", unmute), ("lang", lang_command), ("digest", digest),
    ("time", time_command), ("timezone", timezone_command), ("search", search),
    ("settings", settings_command), ("help", help_command), ("stats", stats_command),
    ("feeds", feeds_command), ("reload", reload_command),
    ("addfeed", addfeed_command), ("removefeed", removefeed_command),
)


def register(application: Application) -> None:
    """Add every handler (new messages only: an edited "/start" does nothing) and the error handler."""
    only_new = filters.UpdateType.MESSAGE
    for name, callback in COMMAND_HANDLERS:
        application.add_handler(CommandHandler(name, callback, filters=only_new))
    application.add_handler(CallbackQueryHandler(tag_callback, pattern=f"^{TAG_PREFIX}"))
    application.add_handler(CallbackQueryHandler(more_callback, pattern=f"^{delivery.MORE_PREFIX}"))
    application.add_handler(CallbackQueryHandler(unknown_callback))
    application.add_handler(ChatMemberHandler(my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(only_new & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(only_new & filters.TEXT & filters.ChatType.PRIVATE, plain_text))
    application.add_error_handler(error_handler)
