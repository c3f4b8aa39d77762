"""Per-key asyncio locks that disappear when nobody holds them, and per-chat command turns."""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from typing import Literal

Admission = Literal["run", "coalesced", "drop"]
CHAT_QUEUE_LIMIT = 8        # commands of one chat queued or running; more are dropped


class KeyedLocks:
    """``locks(key)`` returns the one lock for ``key``; unused locks are garbage-collected."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[Hashable, asyncio.Lock] = weakref.WeakValueDictionary()

    def __call__(self, key: Hashable) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock


class ChatTurns:
    """One chat's commands run one at a time, in arrival order, each in its own task.

    Why: python-telegram-bot runs at most ``concurrent_updates`` handlers at once, for all chats
    together. A handler that waits (for its chat's delivery lock, for the 1 message/s per-chat
    pacing) holds one of those shared slots while it waits, so one chat sending 100 ``/digest``
    held every slot and another chat's ``/help`` waited 70 s. Handlers now only :meth:`admit` a
    command and start a task that waits for its :meth:`turn`: a waiting task costs no slot.

    Bounded: at most ``limit`` commands per chat queued or running (more are dropped), and a
    command of a coalescing ``kind`` (``/digest``) already queued, not yet started, is not queued
    again: that one will cover it. Once it has started, a new one is queued (it may find something
    newer). The first repeat of a burst is told so (``"coalesced"``), later ones are dropped.
    """

    def __init__(self, limit: int = CHAT_QUEUE_LIMIT) -> None:
        self.limit = limit
        self._locks = KeyedLocks()
        self._held: dict[Hashable, asyncio.Lock] = {}     # strong refs while commands wait
        self._queued: Counter[Hashable] = Counter()
        self._kinds: set[tuple[Hashable, str]] = set()     # (chat, kind) queued, not started
        self._told: set[tuple[Hashable, str]] = set()      # … repeat answered, until the chat is idle

    def admit(self, chat: Hashable, kind: str | None = None) -> Admission:
        if kind is not None and (chat, kind) in self._kinds:
            if (chat, kind) in self._told:
                return "drop"
            self._told.add((chat, kind))
            return "coalesced"
        if self._queued[chat] >= self.limit:
            return "drop"
        self._queued[chat] += 1
        self._held[chat] = self._locks(chat)
        if kind is not None:
            self._kinds.add((chat, kind))
        return "run"

    def queued(self, chat: Hashable) -> int:
        return self._queued[chat]

    @asynccontextmanager
    async def turn(self, chat: Hashable, kind: str | None = None) -> AsyncIterator[None]:
        """Wait for this chat's earlier commands, then run; call once per ``"run"`` admission."""
        started = False
        try:
            async with self._held[chat]:
                started = True
                if kind is not None:
                    self._kinds.discard((chat, kind))       # from now on a repeat is queued
                yield
        finally:
            self._queued[chat] -= 1
            if kind is not None and not started:
                self._kinds.discard((chat, kind))
            if self._queued[chat] <= 0:                     # idle: the next burst is told again
                del self._queued[chat]
                self._held.pop(chat, None)
                self._told = {told for told in self._told if told[0] != chat}
