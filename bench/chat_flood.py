"""One chat floods the bot with /digest; how long does another chat wait for /help?

The real Application (bot.pipeline.telegram.app.build_application) against the fake Bot API server
(tests/fakebotapi.py) over real HTTP, with Telegram's real pacing (1 message/s per chat): chat A
sends /start, chat B sends /start, a story is stored, A sends N /digest at once, then B sends
/help. Prints B's wait and how many messages A got.

Run: .venv/bin/python bench/chat_flood.py [--digests 100] [--runs 3]
(run it from another checkout's root, with this checkout's tests/, to measure that bot/)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))


async def once(digests: int) -> tuple[float, int]:
    from bot.pipeline.telegram.delivery import PacedRateLimiter
    from tests.bot_harness import TOKEN, running_bot
    from tests.fakebotapi import FakeBotAPI

    with tempfile.TemporaryDirectory() as tmp, FakeBotAPI(token=TOKEN) as fake:
        async with running_bot(Path(tmp), fake, rate_limiter=PacedRateLimiter()) as bot:
            await bot.command(101, "/start")
            await bot.command(202, "/start")
            bot.world.story("Pyongyang tire un missile", tags=("north-korea",))
            for _ in range(digests):
                fake.push_command(101, "/digest")
            await fake.wait_for(lambda: fake.pending_updates == 0, what="flood fetched")
            started = time.monotonic()
            await bot.command(202, "/help", timeout=300)
            waited = time.monotonic() - started
            await asyncio.sleep(4)
            return waited, len(fake.sent_to(101)) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digests", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)
    for run in range(args.runs):
        waited, got = asyncio.run(once(args.digests))
        print(f"run {run + 1}: /help of another chat answered after {waited:.2f} s; "
              f"the flooding chat got {got} messages by then + 4 s")


if __name__ == "__main__":
    main()
