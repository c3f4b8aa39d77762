"""Hostile feed bodies at full size: time and peak memory of parse_feed beside feedparser alone.

Each case is one document (at most the default max_bytes, 5 MB, unless stated), parsed in a fresh
child process so its peak resident memory (ru_maxrss) is its own:
  newsbot    bot.pipeline.parse.feed.parse_feed (with its defences: long internal entities dropped, author
             e-mail search bounded, newest 1,000 entries kept, more than MAX_TAGS tags refused)
  feedparser feedparser.parse alone on the same bytes, in a child that never imports bot (so
             without those defences), killed after --limit seconds
and the gzip bomb goes through the real Fetcher from a local HTTP server.

Run: .venv/bin/python bench/hostile_memory.py [--limit 60]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def _doc(items: str, prolog: str = "", channel: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n{prolog}<rss version="2.0"><channel><title>B</title>'
        f"<link>https://news.example/</link>{channel}{items}"
        "<item><title>Ordinary</title><guid>o1</guid><link>https://news.example/o1</link></item>"
        "</channel></rss>"
    ).encode()


def quadratic_entities(scale: int) -> bytes:
    """One entity of 100 KB × scale/10 referenced 5,000 × scale/10 times."""
    big = "x" * (10_000 * scale)
    refs = "&big;" * (500 * scale)
    return _doc(f"<item><title>A</title><guid>1</guid><description>{refs}</description></item>",
                prolog=f'<!DOCTYPE rss [\n<!ENTITY big "{big}">\n]>\n')


def billion_laughs() -> bytes:
    levels = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">\n' for i in range(1, 10))
    return _doc("<item><title>&l9;</title><guid>1</guid></item>",
                prolog=f'<!DOCTYPE rss [\n<!ENTITY l0 "lol">\n{levels}]>\n')


def long_authors(length: int, count: int) -> bytes:
    return _doc("".join(f"<item><title>t{i}</title><guid>g{i}</guid><author>{'A' * length}</author></item>"
                        for i in range(count)))


def many_entries(count: int) -> bytes:
    return _doc("".join(
        f"<item><title>Bulletin {i} from Kyiv and Seoul</title><guid>g{i}</guid>"
        f"<link>https://news.example/{i}?utm_source=x</link>"
        f"<description>&lt;p&gt;Summary {i}&lt;/p&gt;</description></item>" for i in range(count)))


def malformed_nesting(depth: int) -> bytes:
    """Unclosed tags that also break XML: feedparser's slower loose parser takes over."""
    tags = "<b>" * depth
    return _doc(f"<item><title>deep</title><guid>1</guid><description>{tags}</description>&bad;</item>")


def nested_html(depth: int) -> bytes:
    return _doc(f"<item><title>deep</title><guid>1</guid><description><![CDATA[{'<div>' * depth}core"
                f"{'</div>' * depth}]]></description></item>")


def huge_title(size: int) -> bytes:
    return _doc(f"<item><title>{'Headline ' * (size // 9)}</title><guid>1</guid></item>")


CASES: dict[str, Callable[[], bytes]] = {
    "billion laughs (10^9 lol)": billion_laughs,
    "quadratic entity, 115 KB → 500 MB": lambda: quadratic_entities(10),
    "quadratic entity, 23 KB → 20 MB": lambda: quadratic_entities(2),
    "1 author of 20,000 letters": lambda: long_authors(20_000, 1),
    "1 author of 100,000 letters": lambda: long_authors(100_000, 1),
    "8,000 authors of 600 letters (5 MB)": lambda: long_authors(600, 8_000),
    "20,000 entries (3.4 MB)": lambda: many_entries(20_000),
    "malformed, 1.6 M unclosed <b> (4.8 MB)": lambda: malformed_nesting(1_600_000),
    "malformed, 290,000 unclosed <b> (under MAX_TAGS)": lambda: malformed_nesting(290_000),
    "100,000 nested <div> in CDATA": lambda: nested_html(100_000),
    "10 MB title (max_bytes raised)": lambda: huge_title(10 * MB),
}

CHILD_NEWSBOT = """
import sys, time, resource
sys.path.insert(0, {root!r})
from bot.pipeline.parse.feed import parse_feed
from bot.pipeline.parse.normalize import Cleaner
body = open(sys.argv[1], "rb").read()
t = time.perf_counter()
parsed = parse_feed(body, url="https://news.example/feed", headers={{}}, cleaner=Cleaner(), now=1.8e9)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(parsed.articles))
"""
CHILD_FEEDPARSER = """
import io, sys, time, resource
import feedparser
body = open(sys.argv[1], "rb").read()
t = time.perf_counter()
data = feedparser.parse(io.BytesIO(body), resolve_relative_uris=False, sanitize_html=False)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(data.entries))
"""


def run_child(code: str, path: Path, limit: float) -> str:
    try:
        out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                             timeout=limit, check=True).stdout.split()
    except subprocess.TimeoutExpired:
        return f"> {limit:g} s (killed)"
    except subprocess.CalledProcessError as exc:
        return "refused: " + exc.stderr.strip().splitlines()[-1].split(": ", 1)[-1]
    seconds, rss_kb, entries = float(out[0]), int(out[1]), int(out[2])
    return f"{seconds:7.2f} s {rss_kb / 1024:7.0f} MB {entries:6d} entries"


def baseline_rss() -> str:
    code = CHILD_NEWSBOT.format(root=str(ROOT)).split("body =")[0] + \
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return f"{int(out.stdout) / 1024:.0f} MB"


def gzip_bomb_through_fetcher(inflated: int) -> str:
    sys.path.insert(0, str(ROOT))
    from bot.config.models import PollingConfig
    from bot.errors import FetchError
    from bot.pipeline.fetch.fetcher import Fetcher
    from tests.feedserver import FeedServer

    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * MB
    bomb = packer.compress(b"<rss>") + b"".join(packer.compress(block) for _ in range(inflated // MB))
    bomb += packer.flush()

    async def fetch(url: str) -> str:
        async with Fetcher(PollingConfig()) as fetcher:
            try:
                await fetcher.fetch(url)
            except FetchError as exc:
                return str(exc)
        return "fetched?!"

    # The server thread prints a "reset by peer" traceback when the fetcher hangs up: hidden.
    with contextlib.redirect_stderr(io.StringIO()), FeedServer() as server:
        server.route("/bomb", bomb, headers={"Content-Encoding": "gzip"})
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        error = asyncio.run(fetch(server.url("/bomb")))
        seconds = time.perf_counter() - started
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return (f"gzip bomb {len(bomb) / MB:.1f} MB → {inflated / MB / 1024:g} GB: {seconds:.2f} s, "
            f"peak RSS grew {grown:.0f} MB, error: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=60.0, help="seconds before a child is killed")
    args = parser.parse_args()
    print(f"python + bot.pipeline.parse.feed imported, no document: {baseline_rss()} resident")
    print(f"{'case':42} {'bytes':>10}  {'newsbot parse_feed':36}  feedparser alone")
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in CASES.items():
            body = build()
            path = Path(tmp) / "doc.xml"
            path.write_bytes(body)
            ours = run_child(CHILD_NEWSBOT.format(root=str(ROOT)), path, args.limit)
            theirs = run_child(CHILD_FEEDPARSER, path, args.limit)
            print(f"{name:42} {len(body):>10,}  {ours:36}  {theirs}", flush=True)
    print(gzip_bomb_through_fetcher(1024 * MB))


if __name__ == "__main__":
    main()
