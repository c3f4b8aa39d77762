"""Story clusters and dedup indexes (owned by the dedup domain)."""

from __future__ import annotations

from sqlite_utils import Migrations

from bot.store.schema import register

migrations = register(Migrations("newsbot.dedup"))
