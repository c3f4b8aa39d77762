"""Subscribers, their schedules and the delivery journal (owned by the Telegram domain)."""

from __future__ import annotations

from sqlite_utils import Migrations

from bot.store.schema import register

migrations = register(Migrations("newsbot.telegram"))
