"""JSON Feed beside RSS: parse_feed time on the same entries written both ways, and hostile sizes.

For N items (each a title, a link, an HTML summary of ~600 characters, a date and an author), the
same content is written as JSON Feed 1.1 and as RSS 2.0 and parsed with bot.pipeline.parse.feed.parse_feed
(the pipeline's entry point: JSON goes to bot/pipeline/parse/jsonfeed.py, XML to feedparser; cleaning and caps
are shared). Then two 5 MB hostile JSON bodies: the most items that fit (cut to the newest 1,000)
and one nesting level per two bytes. Median of --repeat runs, in this process.

Run: .venv/bin/python bench/jsonfeed_parse.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.errors import ParseError  # noqa: E402
from bot.pipeline.parse.feed import parse_feed  # noqa: E402
from bot.pipeline.parse.normalize import Cleaner  # noqa: E402

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SUMMARY = "<p>" + "Les délégations se retrouvent à <b>Genève</b> pour un nouveau cycle. " * 9 + "</p>"


def items(n: int) -> list[dict[str, object]]:
    return [{"id": f"https://news.example/{i}", "url": f"https://news.example/{i}",
             "title": f"Headline number {i} about the talks", "content_html": SUMMARY,
             "date_published": (START - timedelta(minutes=i)).isoformat(),
             "authors": [{"name": "Anne Dupont"}]} for i in range(n)]


def as_json(entries: list[dict[str, object]]) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Bench",
                       "home_page_url": "https://news.example/", "items": entries}).encode()


def as_rss(entries: list[dict[str, object]]) -> bytes:
    parts = [
        f"<item><guid>{e['id']}</guid><link>{e['url']}</link><title>{escape(str(e['title']))}</title>"
        f"<pubDate>{format_datetime(datetime.fromisoformat(str(e['date_published'])))}</pubDate>"
        f"<description>{escape(SUMMARY)}</description><author>Anne Dupont</author></item>"
        for e in entries]
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench</title>'
            "<link>https://news.example/</link>" + "".join(parts) + "</channel></rss>").encode()


def timed(body: bytes, repeat: int) -> tuple[float, str]:
    runs, outcome = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            parsed = parse_feed(body, url="https://news.example/feed", headers={}, cleaner=Cleaner(),
                                now=START.timestamp() + 3600)
            outcome = f"{len(parsed.articles)} articles"
        except ParseError as exc:
            outcome = str(exc)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'document':<44} {'bytes':>10} {'median s':>9}  result")
    for n in (100, 1000):
        entries = items(n)
        for label, body in ((f"JSON Feed, {n} items", as_json(entries)),
                            (f"RSS 2.0, {n} items", as_rss(entries))):
            seconds, outcome = timed(body, args.repeat)
            print(f"{label:<44} {len(body):>10,} {seconds:>9.3f}  {outcome}")
    per_item = len(as_json(items(1))) - len(as_json([]))
    big = as_json(items(5 * 1024 * 1024 // per_item))
    deep = (b'{"version": "https://jsonfeed.org/version/1.1", "items": '
            + b"[" * 2_500_000 + b"]" * 2_500_000 + b"}")
    for label, body in (("JSON Feed, 5 MB of items", big), ("JSON, 5 MB of nesting", deep)):
        seconds, outcome = timed(body, args.repeat)
        print(f"{label:<44} {len(body):>10,} {seconds:>9.3f}  {outcome}")


if __name__ == "__main__":
    main()
