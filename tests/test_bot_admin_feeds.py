"""/addfeed and /removefeed end to end: real PTB ↔ fake Bot API, real feed server, real config
file and SQLite, the real FeedScheduler's hot reload applying the change."""

from __future__ import annotations

from pathlib import Path

from bot.config import load_config
from bot.pipeline.schedule.scheduler import JOB_PREFIX
from tests.bot_harness import ADMIN, Harness, running_bot
from tests.fakebotapi import FakeBotAPI, fake_bot_api
from tests.feedserver import FeedServer
from tests.helpers import rss

__all__ = ["fake_bot_api"]

POLLING = """
[polling]
parse_processes = 0
timeout = "3s"
jitter = "0s"
reload_check = "1h"
"""
PAGE = ('<!doctype html><html><head><link rel="alternate" type="application/atom+xml" href="/x.atom">'
        '<link rel="alternate" type="application/rss+xml" title="News" href="/feed.rss"></head></html>')
ATOM_404 = "gone"
NAME = 'Agence "Test" & Co'


def poll_jobs(h: Harness) -> set[str]:
    assert h.app.job_queue is not None
    jobs = h.app.job_queue.scheduler.get_jobs()
    return {j.id[len(JOB_PREFIX):] for j in jobs if j.id.startswith(JOB_PREFIX)}


def stored_titles(h: Harness) -> set[str]:
    return {r[0] for r in h.db(lambda db: db.execute("SELECT title FROM articles").fetchall())}


async def test_addfeed_and_removefeed(tmp_path: Path, fake_bot_api: FakeBotAPI,
                                      feed_server: FeedServer) -> None:
    feed_server.route("/site", PAGE, content_type="text/html; charset=utf-8")
    feed_server.route("/x.atom", ATOM_404, status=404, content_type="text/plain")
    feed_server.route("/feed.rss", rss([("k1", "Kyiv talks resume")], title=NAME))
    async with running_bot(tmp_path, fake_bot_api, extra=POLLING, poll_feeds=True) as h:
        (refused,) = await h.command(42, f"/addfeed {feed_server.url('/site')}")
        assert "réservée aux administrateurs" in refused.plain
        (usage,) = await h.command(ADMIN, "/addfeed")
        assert "/addfeed https://exemple.fr/rss" in usage.plain

        (added,) = await h.command(ADMIN, f"/addfeed {feed_server.url('/site')}", timeout=10)
        # The page's first advertised feed is a 404: the next one is taken.
        assert f"Flux ajouté : {NAME} (trouvé sur" in added.plain, added.plain
        assert "<b>Agence \"Test\" &amp; Co</b>" in added.text                     # escaped HTML
        assert feed_server.url("/feed.rss") in added.plain and "RSS 2.0, 1 articles" in added.plain
        assert "Configuration relue : 1 flux" in added.plain
        feed = load_config(h.config.path).feed(NAME)
        assert feed is not None and feed.url == feed_server.url("/feed.rss")
        assert poll_jobs(h) == {NAME}
        # the first poll is due within the jitter after the reload (up to 5 s), then parse + store
        await h.fake.wait_for(lambda: "Kyiv talks resume" in stored_titles(h), timeout=20,
                              what="new feed polled")

        (known,) = await h.command(ADMIN, f"/addfeed {feed_server.url('/feed.rss')}/", language_code="en")
        assert known.plain == f"This feed is already configured: “{NAME}”."
        (missing,) = await h.command(ADMIN, f"/addfeed {feed_server.url('/x.atom')} Named",
                                     language_code="en")
        assert missing.plain == f"❌ Feed not added: {feed_server.url('/x.atom')}: HTTP 404 Not Found"
        (nothing,) = await h.command(ADMIN, f"/addfeed {feed_server.url('/nothing')}")
        assert "HTTP 404" in nothing.plain

        (suggest,) = await h.command(ADMIN, "/removefeed Agence Test & Co")
        assert f"Vouliez-vous dire « {NAME} » ?" in suggest.plain
        (unknown,) = await h.command(ADMIN, "/removefeed Nope")
        assert unknown.plain == "Aucun flux ne s'appelle « Nope »."
        (removed,) = await h.command(ADMIN, f"/removefeed {NAME.lower()}")
        assert f"Flux retiré : {NAME}." in removed.plain
        assert "Configuration relue : 0 flux" in removed.plain
        assert load_config(h.config.path).feeds == () and poll_jobs(h) == set()


async def test_addfeed_with_a_name_and_a_broken_config(tmp_path: Path, fake_bot_api: FakeBotAPI,
                                                       feed_server: FeedServer) -> None:
    feed_server.route("/feed.json", b'{"version": "https://jsonfeed.org/version/1", "title": "JF", '
                      b'"items": [{"id": "1", "title": "Hello", "url": "https://jf.example/1"}]}',
                      content_type="application/feed+json")
    async with running_bot(tmp_path, fake_bot_api, extra=POLLING, poll_feeds=True) as h:
        (added,) = await h.command(ADMIN, f"/addfeed {feed_server.url('/feed.json')} My   JSON feed",
                                   language_code="en", timeout=10)
        assert "Feed added: My JSON feed\n" in added.plain and "JSON Feed 1.0, 1 entries" in added.plain
        feed = load_config(h.config.path).feed("My JSON feed")
        assert feed is not None and feed.source == "JF"

        broken = h.config.path.read_text(encoding="utf-8") + "\n[digest.oops]\n"
        h.config.path.write_text(broken, encoding="utf-8")
        feed_server.route("/other.rss", rss([("o", "Other")]))
        (refused,) = await h.command(ADMIN, f"/addfeed {feed_server.url('/other.rss')}", language_code="en")
        assert refused.plain.startswith("❌ The configuration was not changed: the config must pass "
                                        "`newsbot check` before feeds are changed:")
        assert "digest.oops" in refused.plain
        (not_removed,) = await h.command(ADMIN, "/removefeed My JSON feed", language_code="en")
        assert not_removed.plain.startswith("❌ The configuration was not changed")
        assert h.config.path.read_text(encoding="utf-8") == broken                 # untouched
        assert sorted(p.name for p in tmp_path.glob(".config.toml.*")) == []       # no temp file left
        assert poll_jobs(h) == {"My JSON feed"}                                   # still running


async def test_hostile_addfeed_arguments(tmp_path: Path, fake_bot_api: FakeBotAPI,
                                         feed_server: FeedServer) -> None:
    feed_server.drip("/slow", b"<rss>" * 100, bytes_per_second=5)
    polling = POLLING.replace('timeout = "3s"', 'timeout = "1s"\nconnect_timeout = "1s"')
    async with running_bot(tmp_path, fake_bot_api, extra=polling, poll_feeds=True) as h:
        before = h.config.path.read_bytes()
        slow = feed_server.url("/slow")
        cases = {
            "/addfeed <b>x</b>": "❌ Feed not added: the URL must be an http:// or https:// URL, got scheme "
                                 "none (a local path?): '<b>x</b>'",
            "/addfeed javascript:alert(1)": "❌ Feed not added: the URL must be an http:// or https:// URL, "
                                            "got scheme javascript: 'javascript:alert(1)'",
            "/addfeed http://127.0.0.1:1/rss": "❌ Feed not added: http://127.0.0.1:1/rss: connection "
                                               "refused",
            f"/addfeed {slow}": f"❌ Feed not added: {slow}: timed out after 1s",
            "/removefeed " + "x" * 400: "No feed is called “" + "x" * 400 + "”.",
        }
        for text, expected in cases.items():
            (answer,) = await h.command(ADMIN, text, language_code="en", timeout=10)
            assert answer.plain.startswith(expected), answer.plain
            assert "Traceback" not in answer.plain
        assert h.config.path.read_bytes() == before
