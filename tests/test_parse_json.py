"""JSON Feed 1.0 / 1.1, fetched over real HTTP from the local feed server and parsed like RSS.

The fixture is tests/data/feeds/jsonfeed11-basic.json; hostile documents are built here. Every
case goes through the real Fetcher and ``parse_feed`` (the entry point the pipeline uses), and one
through ``poll_once`` into a real SQLite file.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from bot.errors import ParseError
from bot.models import ParsedFeed
from bot.pipeline.parse.feed import MAX_ENTRIES, MAX_LINK_CHARS, parse_feed
from bot.pipeline.parse.normalize import Cleaner
from bot.pipeline.poll import poll_once
from bot.pipeline.store import DbExecutor, open_database
from tests.feedserver import FeedServer
from tests.helpers import load, write_config
from tests.test_parse import NOW, serve_and_parse, utc

JSON_TYPE = "application/feed+json"
V11 = "https://jsonfeed.org/version/1.1"
NEWSLETTER = Cleaner(["^Abonnez-vous à notre newsletter.*$"])


def doc(items: object, **feed: object) -> bytes:
    return json.dumps({"version": V11, "title": "JF", "home_page_url": "https://jf.example/",
                       **feed, "items": items}).encode()


async def serve_json(server: FeedServer, body: bytes, content_type: str = JSON_TYPE,
                     cleaner: Cleaner | None = None) -> ParsedFeed:
    return await serve_and_parse(server, "feed.json", body=body, content_type=content_type, cleaner=cleaner)


async def test_json_feed_11_is_read_like_rss(feed_server: FeedServer) -> None:
    parsed = await serve_and_parse(feed_server, "jsonfeed11-basic.json", content_type=JSON_TYPE,
                                   cleaner=NEWSLETTER)
    assert (parsed.version, parsed.title, parsed.link, parsed.language) == (
        "json11", "Le Correspondant — International", "https://correspondant.example/", "fr")
    assert parsed.bozo and parsed.bozo_message == "1 items are not JSON objects"
    kyiv, seoul, brief, link_post = parsed.articles             # duplicate id and empty item skipped
    assert kyiv.title == "Kyiv : les négociations reprennent"
    assert kyiv.link == "https://correspondant.example/2026/11/20/kyiv?utm_source=jsonfeed"   # relative
    assert kyiv.canonical_url == "https://correspondant.example/2026/11/20/kyiv"
    assert kyiv.summary == "Les délégations se retrouvent à Genève."    # HTML → text, boilerplate out
    assert kyiv.published_at == utc(2026, 11, 20, 8, 30) and kyiv.author == "Anne Dupont"
    assert kyiv.source == "Le Correspondant — International" and kyiv.language == "fr"
    assert (seoul.guid, seoul.language, seoul.author) == ("42", "en", "J. Kim")
    assert seoul.summary == "Tens of thousands marched on Saturday."
    assert seoul.published_at == utc(2026, 11, 20, 7, 0)                    # date_modified when no published
    assert brief.title == "Brève sans titre." and brief.published_at == NOW   # no date: now
    assert link_post.link == "https://elsewhere.example/report"
    assert link_post.published_at == utc(2026, 11, 19, 18, 0) + 0.0         # fraction dropped like RSS


def _rss_twin() -> bytes:
    """The JSON fixture's first items written as RSS 2.0."""
    items = json.loads((Path(__file__).parent / "data/feeds/jsonfeed11-basic.json").read_text())["items"]
    parts = []
    for item in (items[0], items[3]):
        date = datetime.fromisoformat(item["date_published"]).replace(microsecond=0)
        link = item.get("url") or item["external_url"]
        parts.append(
            f"<item><guid>{escape(item['id'])}</guid><link>{escape(link)}</link>"
            f"<title>{escape(item['title'])}</title><pubDate>{format_datetime(date.astimezone(UTC))}</pubDate>"
            + (f"<description>{escape(item['content_html'])}</description>" if "content_html" in item else "")
            + (f"<dc:creator>{item['authors'][0]['name']}</dc:creator>" if "authors" in item else "")
            + "</item>")
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
            "<title>Le Correspondant — International</title><link>https://correspondant.example/</link>"
            "<language>fr-FR</language>" + "".join(parts) + "</channel></rss>").encode()


async def test_json_feed_and_its_rss_twin_give_the_same_articles(feed_server: FeedServer) -> None:
    from_json = await serve_and_parse(feed_server, "jsonfeed11-basic.json", content_type=JSON_TYPE,
                                      cleaner=NEWSLETTER)
    from_rss = await serve_and_parse(feed_server, "twin.xml", body=_rss_twin(), cleaner=NEWSLETTER)
    assert from_rss.articles == [from_json.articles[0], from_json.articles[3]]


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "text/plain", ""])
async def test_json_feed_under_another_content_type(feed_server: FeedServer, content_type: str) -> None:
    parsed = await serve_json(feed_server, doc([{"id": "1", "title": "Hello", "url": "/a"}]), content_type)
    assert [a.link for a in parsed.articles] == ["https://jf.example/a"]


async def test_json_feed_10(feed_server: FeedServer) -> None:
    body = json.dumps({"version": "https://jsonfeed.org/version/1", "title": "Old", "items": [
        {"id": 7, "url": "https://old.example/7", "title": "Seven", "author": {"name": "Ann"},
         "date_published": "2026-11-20T08:00:00-05:00"}]}).encode()
    parsed = await serve_json(feed_server, body)
    (seven,) = parsed.articles
    assert parsed.version == "json1" and (seven.guid, seven.author) == ("7", "Ann")
    assert seven.published_at == utc(2026, 11, 20, 13, 0)


async def test_rss_sent_as_json_is_still_rss(feed_server: FeedServer) -> None:
    body = b'<rss version="2.0"><channel><title>T</title><item><title>x</title></item></channel></rss>'
    parsed = await serve_json(feed_server, body, "application/json")
    assert parsed.version == "rss20" and [a.title for a in parsed.articles] == ["x"]


# -- hostile ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "message"), [
    (b'{"items": []}', "not a feed: got application/feed+json with no jsonfeed.org version"),
    (b'{"version": 1.1, "items": []}', "not a feed: got application/feed+json with no jsonfeed.org version"),
    (b'{"version": "https://example.org/version/1", "items": []}',
     "not a feed: got application/feed+json with no jsonfeed.org version"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "not a feed: invalid JSON (Expecting"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": ' + b"9" * 5000 + b"}]}",
     "not a feed: invalid JSON (Exceeds the limit"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
     "not a feed: JSON nested too deeply"),
])
async def test_json_that_is_not_a_json_feed(feed_server: FeedServer, body: bytes, message: str) -> None:
    with pytest.raises(ParseError) as info:
        await serve_json(feed_server, body)
    assert str(info.value).startswith(message)


WRONG_TYPES: list[object] = [
    None, 3, "string", ["list"], True,
    {"id": True, "title": ["a"], "url": {"x": 1}, "summary": 5},                     # nothing usable
    {"id": {"a": 1}, "title": "Kept", "url": 17, "date_published": 12345,
     "authors": "Ann", "author": ["Bob"], "content_html": ["<p>x</p>"], "language": 3},
    {"id": 1e400, "title": "Infinite id", "date_published": "not a date"},
    {"title": "Deep", "tags": [[[[[[[[[[["deep"]]]]]]]]]]], "summary": {"a": {"b": {"c": {}}}}},
    {"title": "Far future", "date_published": "9999-12-31T23:59:59-23:59"},
    {"title": "Long link", "url": "https://jf.example/" + "a" * MAX_LINK_CHARS},
]


async def test_fields_of_the_wrong_type_are_ignored(feed_server: FeedServer) -> None:
    parsed = await serve_json(feed_server, doc(WRONG_TYPES, title=["no"], language={"x": 1},
                                               home_page_url=5))
    assert parsed.title == "" and parsed.language == "" and parsed.link == ""
    assert parsed.bozo_message == "5 items are not JSON objects"
    kept, infinite, deep, future, long_link = parsed.articles
    assert (kept.title, kept.link, kept.author, kept.summary, kept.published_at) == ("Kept", "", "", "", NOW)
    assert infinite.guid == "inf" and infinite.published_at == NOW
    assert deep.summary == "" and future.published_at == NOW and long_link.link == ""


async def test_feed_level_faults(feed_server: FeedServer) -> None:
    no_items = await serve_json(feed_server, json.dumps({"version": V11}).encode())
    assert no_items.articles == [] and no_items.bozo_message == "no items list"
    not_a_list = await serve_json(feed_server, doc({"id": "1"}))
    assert not_a_list.articles == [] and not_a_list.bozo_message == "no items list"
    broken_utf8 = doc([{"id": "1", "title": "Caf\u00e9"}]).replace(
        b"Caf\\u00e9", b"Caf\xe9 \xc3\xa9t\xc3\xa9")
    (item,) = (await serve_json(feed_server, broken_utf8)).articles
    assert item.title == "Caf\ufffd été"
    with_bom = b"\xef\xbb\xbf" + doc([{"id": "1", "title": "BOM"}])
    assert [a.title for a in (await serve_json(feed_server, with_bom)).articles] == ["BOM"]


async def test_huge_json_feeds_are_capped_like_rss(feed_server: FeedServer) -> None:
    many = [{"id": str(i), "title": f"Item {i}", "url": f"/i/{i}",
             "date_published": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"}
            for i in range(MAX_ENTRIES * 3)]
    parsed = await serve_json(feed_server, doc(many))
    assert len(parsed.articles) == MAX_ENTRIES
    assert parsed.bozo_message == f"{MAX_ENTRIES * 3} entries, only the newest {MAX_ENTRIES} kept"
    assert min(a.published_at for a in parsed.articles) >= utc(2026, 11, 18, 0, 0)
    huge_title = doc([{"id": "1", "title": "x" * 3_000_000, "content_text": "y " * 1_000_000}])
    (item,) = parse_feed(huge_title, url="https://jf.example/f", headers={}, cleaner=Cleaner(),
                         now=NOW).articles
    assert len(item.title) <= 1000 and len(item.summary) <= 20_000


def test_a_json_feed_is_polled_and_stored(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.route_file("/f.json", Path(__file__).parent / "data/feeds/jsonfeed11-basic.json",
                           content_type=JSON_TYPE)
    cfg = write_config(tmp_path, {"JF": feed_server.url("/f.json")})
    config = load(cfg)
    executor = DbExecutor(config.storage.path)
    try:
        (outcome,) = asyncio.run(poll_once(config, executor))
    finally:
        executor.close()
    assert (outcome.status, outcome.new, outcome.error) == ("ok", 4, "")
    db = open_database(config.storage.path)
    rows = db.execute("SELECT guid, source, cluster_id IS NOT NULL FROM articles ORDER BY id").fetchall()
    assert [r[0] for r in rows] == [
        "https://correspondant.example/2026/11/20/kyiv", "42", "no-title", "link-post"]
    assert all(r[1] == "Le Correspondant — International" and r[2] for r in rows)
    assert "application/feed+json" in feed_server.last_headers("/f.json")["Accept"]
