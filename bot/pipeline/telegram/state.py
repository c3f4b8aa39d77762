"""What the Telegram handlers and jobs share, kept in ``application.bot_data["services"]``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.config.models import Config
from bot.pipeline.store.db import DbExecutor
from bot.pipeline.telegram.health import TelegramHealth
from bot.pipeline.telegram.locks import ChatTurns

SERVICES_KEY = "services"
ReloadCallback = Callable[[], Awaitable[str] | str]


@dataclass
class Services:
    """The running bot's config (replaced on reload), database executor and hooks."""

    config: Config
    executor: DbExecutor
    clock: Callable[[], float] = time.time
    # Set by app.post_init when the lead's FeedScheduler is available (``reload_now``).
    reload: ReloadCallback | None = None
    feed_scheduler: Any = None
    # Bounds how many scheduled digests plan and send at once (they all fire on the minute).
    digest_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(50))
    # (chat, user) → (is a group administrator, valid until): saves a getChatMember per command.
    admin_cache: dict[tuple[int, int], tuple[bool, float]] = field(default_factory=dict)
    # Each chat's commands, one at a time, waiting outside PTB's shared update slots.
    chat_turns: ChatTurns = field(default_factory=ChatTurns)
    # Whether the Bot API answers (fed by every request; logs its changes).
    telegram_health: TelegramHealth = field(default_factory=TelegramHealth)


def get_services(bot_data: dict[str, Any]) -> Services:
    services = bot_data.get(SERVICES_KEY)
    if not isinstance(services, Services):
        raise RuntimeError("the Telegram application was not built by "
                           "bot.pipeline.telegram.app.build_application")
    return services
