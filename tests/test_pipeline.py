"""The poller end to end: real HTTP to a local feed server, a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.pipeline.poll import poll_once
from bot.pipeline.store import DbExecutor, open_database
from bot.pipeline.store.feeds import feed_state
from tests.feedserver import FeedServer
from tests.helpers import load, rss, write_config

HTML_PAGE = "<!doctype html><html><head><title>Not a feed</title></head><body><p>Hi</p></body></html>"


def poll(config_path: Path, **kwargs):
    config = load(config_path)
    executor = DbExecutor(config.storage.path)
    try:
        return {o.feed: o for o in asyncio.run(poll_once(config, executor, **kwargs))}
    finally:
        executor.close()


def db_of(config_path: Path):
    return open_database(load(config_path).storage.path)


def test_first_poll_stores_second_poll_is_304(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.route("/a.xml", rss([("a1", "Kyiv talks resume"), ("a2", "Seoul protests")]),
                      etag='"v1"', last_modified="Fri, 20 Nov 2026 08:00:00 GMT")
    cfg = write_config(tmp_path, {"A": feed_server.url("/a.xml")})
    first = poll(cfg)["A"]
    assert (first.status, first.new, first.http_status) == ("ok", 2, 200)
    second = poll(cfg)["A"]
    assert (second.status, second.http_status, second.new) == ("not-modified", 304, 0)
    headers = feed_server.last_headers("/a.xml")
    assert headers.get("If-None-Match") == '"v1"'
    assert feed_state(db_of(cfg), "A")["last_status"] == 304


def test_changed_feed_adds_new_and_updates_changed(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.route("/a.xml", rss([("a1", "First headline")]))
    cfg = write_config(tmp_path, {"A": feed_server.url("/a.xml")})
    poll(cfg)
    feed_server.route("/a.xml", rss([("a2", "Second headline"), ("a1", "First headline, corrected")]))
    outcome = poll(cfg)["A"]
    assert (outcome.new, outcome.updated, outcome.unchanged) == (1, 1, 0)
    titles = {r[0] for r in db_of(cfg).execute("SELECT title FROM articles")}
    assert titles == {"Second headline", "First headline, corrected"}


def test_failing_feed_backs_off_then_recovers(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.route("/bad.xml", "oops", status=500, content_type="text/plain")
    cfg = write_config(tmp_path, {"bad": feed_server.url("/bad.xml")})
    waits = []
    for _ in range(3):
        outcome = poll(cfg)["bad"]
        assert outcome.status == "error" and "500" in outcome.error
        state = feed_state(db_of(cfg), "bad")
        waits.append(state["next_due_at"] - state["last_attempt_at"])
    assert state["error_count"] == 3 and "500" in state["last_error"]
    assert waits[0] < waits[1] < waits[2]
    feed_server.route("/bad.xml", rss([("b1", "Back online")]))
    assert poll(cfg)["bad"].status == "ok"
    state = feed_state(db_of(cfg), "bad")
    assert state["error_count"] == 0 and state["last_error"] is None and state["dead"] == 0


def test_one_broken_feed_does_not_affect_others(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.route("/good.xml", rss([("g1", "Good news")]))
    feed_server.route("/page.html", HTML_PAGE, content_type="text/html; charset=utf-8")
    feed_server.route("/missing.xml", "gone", status=404, content_type="text/plain")
    feed_server.hang("/hang.xml")
    cfg = write_config(tmp_path, {
        "good": feed_server.url("/good.xml"), "page": feed_server.url("/page.html"),
        "missing": feed_server.url("/missing.xml"), "hang": feed_server.url("/hang.xml"),
        "nowhere": "http://does-not-exist.invalid/rss",
    })
    outcomes = poll(cfg)
    assert outcomes["good"].status == "ok" and outcomes["good"].new == 1
    assert "not a feed" in outcomes["page"].error
    assert "404" in outcomes["missing"].error
    assert outcomes["hang"].status == "error"
    assert outcomes["nowhere"].status == "error"
    db = db_of(cfg)
    for name in ("page", "missing", "hang", "nowhere"):
        assert feed_state(db, name)["error_count"] == 1
    assert feed_state(db, "good")["error_count"] == 0


def test_retry_after_on_429_sets_next_due(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.route("/busy.xml", "slow down", status=429, content_type="text/plain",
                      headers={"Retry-After": "7200"})
    cfg = write_config(tmp_path, {"busy": feed_server.url("/busy.xml")})
    poll(cfg)
    state = feed_state(db_of(cfg), "busy")
    assert state["next_due_at"] - state["last_attempt_at"] >= 7200


def test_permanent_redirect_is_remembered(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.route("/new.xml", rss([("n1", "Moved feed")]))
    feed_server.redirect("/old.xml", feed_server.url("/new.xml"), status=301)
    cfg = write_config(tmp_path, {"moved": feed_server.url("/old.xml")})
    assert poll(cfg)["moved"].new == 1
    assert feed_state(db_of(cfg), "moved")["permanent_url"] == feed_server.url("/new.xml")
    poll(cfg)
    assert feed_server.hits("/old.xml") == 1 and feed_server.hits("/new.xml") == 2


def test_feed_tags_added_to_every_article(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.route("/k.xml", rss([("k1", "Weather in Seoul")]))
    cfg = write_config(tmp_path, {}, extra=(
        f'[[feeds]]\nname = "korea"\nurl = "{feed_server.url("/k.xml")}"\ntags = ["north-korea"]\n'
        '[tags.north-korea]\nkeywords = ["Pyongyang"]\n'
    ))
    poll(cfg)
    tags = db_of(cfg).execute("SELECT tag, matched FROM article_tags").fetchall()
    assert tags == [("north-korea", "feed:korea")]


def test_poll_only_named_feed(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.route("/a.xml", rss([("a1", "A")]))
    feed_server.route("/b.xml", rss([("b1", "B")]))
    cfg = write_config(tmp_path, {"A": feed_server.url("/a.xml"), "B": feed_server.url("/b.xml")})
    assert set(poll(cfg, feed_names=["B"])) == {"B"}
    assert feed_server.hits("/a.xml") == 0
