"""One chat flooding the bot must not stall the others (real PTB, fake Bot API, real pacing)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.pipeline.telegram.delivery import PacedRateLimiter
from tests.bot_harness import running_bot
from tests.fakebotapi import FakeBotAPI, fake_bot_api

__all__ = ["fake_bot_api"]
FLOODER, OTHER = 101, 202


async def test_a_hundred_digests_from_one_chat_do_not_delay_another_chats_help(
        tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    # Telegram's real pacing (1 message/s per chat): what made every waiting /digest hold a slot.
    async with running_bot(tmp_path, fake_bot_api, rate_limiter=PacedRateLimiter()) as bot:
        await bot.command(FLOODER, "/start")
        await bot.command(OTHER, "/start")
        bot.world.story("Pyongyang tire un missile", tags=("north-korea",))
        for _ in range(100):
            fake_bot_api.push_command(FLOODER, "/digest")
        await fake_bot_api.wait_for(lambda: fake_bot_api.pending_updates == 0, what="flood fetched")
        started = time.monotonic()
        help_answer = await bot.command(OTHER, "/help", timeout=10)
        waited = time.monotonic() - started
        assert waited < 2.0, f"/help waited {waited:.1f} s behind another chat's digests"
        assert "/digest" in help_answer[0].text
        # The flooder got its digest once and was told once that it is on its way; the rest was
        # coalesced into the digest queued (at most one queued behind the one being sent, which
        # then finds nothing new).
        await asyncio.sleep(4.5)
        flood = fake_bot_api.sent_to(FLOODER)[1:]
        assert 2 <= len(flood) <= 3, [m.text[:60] for m in flood]
        assert sum("Pyongyang" in m.text for m in flood) == 1
        assert sum("déjà en route" in m.text for m in flood) == 1
        assert sum("Rien de nouveau" in m.text for m in flood) == len(flood) - 2
        # Once it is sent, /digest works again (nothing new now).
        again = await bot.command(FLOODER, "/digest", timeout=5)
        assert "Rien de nouveau" in again[0].text


async def test_a_flood_of_unknown_commands_and_text_does_not_delay_another_chat(
        tmp_path: Path, fake_bot_api: FakeBotAPI) -> None:
    async with running_bot(tmp_path, fake_bot_api, rate_limiter=PacedRateLimiter()) as bot:
        for i in range(60):
            fake_bot_api.push_command(FLOODER, "/nosuchcommand") if i % 2 else \
                fake_bot_api.push_message(FLOODER, "hello?")
        await fake_bot_api.wait_for(lambda: fake_bot_api.pending_updates == 0, what="flood fetched")
        started = time.monotonic()
        await bot.command(OTHER, "/help", timeout=10)
        assert time.monotonic() - started < 2.0
        assert bot.app.bot_data["services"].chat_turns.queued(FLOODER) <= 8     # the rest dropped


async def test_chat_turns_are_bounded_ordered_and_coalesced() -> None:
    from bot.pipeline.telegram.locks import ChatTurns

    turns = ChatTurns(limit=3)
    assert [turns.admit(1) for _ in range(4)] == ["run", "run", "run", "drop"]
    assert turns.admit(2, "digest") == "run"
    assert [turns.admit(2, "digest") for _ in range(3)] == ["coalesced", "drop", "drop"]
    order: list[int] = []

    async def job(chat: int, n: int, kind: str | None = None) -> None:
        async with turns.turn(chat, kind):
            await asyncio.sleep(0.01 * (3 - n))            # the first started is the slowest
            order.append(n)

    await asyncio.gather(*(job(1, n) for n in range(3)), job(2, 9, "digest"))
    assert order[:1] == [9] and [n for n in order if n != 9] == [0, 1, 2]
    assert turns.queued(1) == 0 and turns.admit(2, "digest") == "run"       # done: admitted again
