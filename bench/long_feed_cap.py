"""parse_feed on a very long feed: 49,000 short RSS entries, with and without guids.

Without guids the document has just under 300,000 tags, with them 392,000: before issue 14 the
first was parsed whole by feedparser and capped to the newest 1,000 entries, the second refused
("document too complex"). Now both are cut to their newest 1,000 entries before feedparser.

Run: .venv/bin/python bench/long_feed_cap.py [--entries 49000] [--repeat 3]
(run it from another checkout's root to measure that checkout's bot/: the root is put first
on sys.path)
"""

from __future__ import annotations

import argparse
import sys
import time
from email.utils import formatdate
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))


def document(entries: int, guids: bool) -> bytes:
    items = "".join(
        f"<item><title>Bulletin {i}</title>{f'<guid>m{i}</guid>' if guids else ''}"
        f"<pubDate>{formatdate(1_700_000_000 + i * 60, usegmt=True)}</pubDate></item>"
        for i in range(entries))
    return ('<?xml version="1.0"?><rss version="2.0"><channel><title>Long</title>'
            f"<link>https://news.example/</link>{items}</channel></rss>").encode()


def main() -> None:
    from bot.errors import ParseError
    from bot.pipeline.parse.feed import parse_feed
    from bot.pipeline.parse.normalize import Cleaner

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=49_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"bot/ from {sys.modules['bot.pipeline.parse.feed'].__file__}")
    for guids in (False, True):
        body = document(args.entries, guids)
        times = []
        for _ in range(args.repeat):
            started = time.monotonic()
            try:
                parsed = parse_feed(body, url="http://x/", headers={}, cleaner=Cleaner(()), now=time.time())
                outcome = f"{len(parsed.articles)} articles ({parsed.bozo_message})"
            except ParseError as exc:
                outcome = f"refused: {exc}"
            times.append(time.monotonic() - started)
        print(f"{'with' if guids else 'without'} guids, {body.count(b'<'):,} tags, {len(body) / 1e6:.1f} MB: "
              f"{outcome}; best of {args.repeat} {min(times):.2f} s")


if __name__ == "__main__":
    main()
